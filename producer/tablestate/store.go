// Package tablestate keeps an agent's table state on disk: for every key
// it has published (the key holds the organisation of an organisation's
// table), the hash of its last published image, its window value, the
// groups holding it. Keys are the
// agent's, whichever group wrote them last (two groups can hold the same
// organisation, and every group the same shared rows), and
// each group's checkpoint says how far the state reflects that group's
// commits. It is derived state (the table topics are its changelog): the
// owner trusts it only while every group's checkpoint equals the one
// committed with the events, and drops it otherwise.
//
// The store is pebble, an LSM key-value store made for tens of millions
// of keys with flat memory (a bounded block cache and memtable), crash
// safe (a write-ahead log; a batch's changes are in the store before its
// checkpoint is, which a crash can therefore only leave behind them, and
// the owner then rebuilds), and pure Go, so it builds for Windows without
// cgo.
package tablestate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// HashSize is the size of an image hash.
const HashSize = 16

// Entry is the state of one published key.
type Entry struct {
	// Hash identifies the last published image of the key.
	Hash [HashSize]byte
	// Window is the key's window-column value (Unix ms), 0 for none.
	Window int64
	// Groups are the groups holding the key, one bit each (GroupBit).
	Groups uint64
}

// Store is the table state of every group of one agent, used by one
// goroutine at a time (the publisher publishes one batch at a time).
type Store struct {
	db       *pebble.DB
	ingest   *ingester
	bits     map[string]uint64 // GroupBit's, as read or assigned
	readOnly bool
	spare    map[string]change // a closed batch's changes map, emptied
	spareRun run               // and its run
}

// Options size the store.
type Options struct {
	// CacheBytes bounds the block cache (default 64 MiB: a re-send looks
	// every key up, and a smaller cache reads most blocks from disk).
	CacheBytes int64
	// Logger receives pebble's errors, by format only: never a key.
	Logger *slog.Logger
	// ReadOnly opens an existing store without writing to it (a dry run);
	// a missing store is an error.
	ReadOnly bool
	// InMemory keeps the store in memory only (dir is ignored): a dry run
	// where no store exists yet.
	InMemory bool
	// format is the format a new store is created in (tests; 0: pebble's
	// default).
	format pebble.FormatMajorVersion
}

// Open opens (or creates) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if !o.ReadOnly && !o.InMemory {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("table state: %w", err)
		}
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	opts := &pebble.Options{
		Cache: cache,
		// Small memtables: a walk out of key order writes a mark per key
		// and looks keys up at random, which a large memtable slows and
		// which queued ones make use more memory (8 MiB: a re-send of a
		// shuffled 1M-row file 59k -> 84k rows/s, peak RSS 204 -> 160 MiB).
		MemTableSize: 8 << 20,
		// A first publish flushes a memtable every few transactions: L0
		// files wait for 8 of them (not 4) before they are compacted, so
		// fewer compactions rewrite what L6 holds (16: no faster, more
		// files for a walk to merge); writes stop at 32 (pebble's 12 is
		// too near 8 not to stall a first publish).
		L0CompactionThreshold: 8,
		L0StopWritesThreshold: 32,
		Logger:                quietLogger{o.Logger},
		ReadOnly:              o.ReadOnly,
		// A read-only open of a missing store must not create one.
		ErrorIfNotExists:   o.ReadOnly,
		FormatMajorVersion: o.format,
	}
	if o.InMemory {
		opts.FS, opts.ReadOnly, opts.ErrorIfNotExists = vfs.NewMem(), false, false
	} else {
		opts.FS = vfs.Default
	}
	for i := range opts.Levels {
		// Most lookups of a first publish miss: a Bloom filter answers
		// them without reading a block.
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		// Small files: a flush of keys after the ones L6 holds (a file
		// in key order) overlaps only L6's last files, not all of it.
		opts.TargetFileSizes[i] = 4 << 20
	}
	opts.EnsureDefaults() // as Open does: the ingester writes files with them
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open table state in %s: %w", dir, err)
	}
	s := &Store{db: db, bits: map[string]uint64{}, readOnly: opts.ReadOnly}
	if !opts.ReadOnly {
		if s.ingest, err = newIngester(db, opts, dir, o.Logger); err != nil {
			return nil, errors.Join(err, db.Close())
		}
	}
	return s, nil
}

// Flush starts writing the store's memtable to its files (in the
// background: Close waits for it).
func (s *Store) Flush() error {
	if _, err := s.db.AsyncFlush(); err != nil {
		return fmt.Errorf("table state: flush: %w", err)
	}
	return nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Key layout: 'k' table 0 key → entry; 'x' group → checkpoint; 'g' group
// → its bit in Entry.Groups; 'i' table 0 group → present while the group's
// holdings of the table are incomplete; 'l' group 0 list 0 id → a list
// label (labels.go); 'v' table 0 bit gen kind key → a
// vanish candidate (kind 'c') of the full file gen of the group with that
// bit, or one taken back ('w'), while the file is walked (Cursor); 'w'
// table 0 group → what the group's last full file left the table as
// (Applied, applied.go).
// Names never hold a zero byte.
func rowKey(dst []byte, table string, key []byte) []byte {
	dst = append(dst, 'k')
	dst = append(dst, table...)
	dst = append(dst, 0)
	return append(dst, key...)
}

// Checkpoints sort after the rows and marks: a transaction writes its
// checkpoint with its rows, so each flushed file spans from its first row
// to the checkpoint, and one whose rows come after L6's (a full file in
// key order) then overlaps only L6's last file, not every file between
// (1,000,000 keys in key order: 51 MB written to L6 instead of 101 MB,
// 42 MB with L0CompactionThreshold 8).
func checkpointKey(group string) []byte { return append([]byte{'x'}, group...) }

func encodeEntry(dst []byte, e Entry) []byte {
	dst = append(dst, e.Hash[:]...)
	dst = binary.AppendVarint(dst, e.Window)
	return binary.AppendUvarint(dst, e.Groups)
}

func decodeEntry(b []byte) (Entry, error) {
	var e Entry
	if len(b) < HashSize {
		return e, errors.New("table state: short entry")
	}
	copy(e.Hash[:], b)
	b = b[HashSize:]
	var n, m int
	e.Window, n = binary.Varint(b)
	if n > 0 {
		e.Groups, m = binary.Uvarint(b[n:])
	}
	if n <= 0 || m <= 0 || n+m != len(b) {
		return e, errors.New("table state: bad entry")
	}
	return e, nil
}

// MaxGroups is how many groups one store can tell apart.
const MaxGroups = 64

// GroupBit returns group's bit in Entry.Groups, assigning the next free
// one the first time (written at once: entries only use a bit the store
// already records).
func (s *Store) GroupBit(group string) (uint64, error) {
	if bit, ok := s.bits[group]; ok {
		return bit, nil
	}
	v, closer, err := s.db.Get(groupKey(group))
	switch {
	case err == nil:
		bit := uint64(1) << (v[0] % MaxGroups)
		closer.Close()
		s.bits[group] = bit
		return bit, nil
	case !errors.Is(err, pebble.ErrNotFound):
		return 0, fmt.Errorf("table state: %w", err)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'g'}, UpperBound: []byte{'h'}})
	if err != nil {
		return 0, fmt.Errorf("table state: %w", err)
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("table state: %w", err)
	}
	if n >= MaxGroups {
		return 0, fmt.Errorf("table state: more than %d reporting groups", MaxGroups)
	}
	for _, bit := range s.bits {
		n = max(n, bits.TrailingZeros64(bit)+1) // a read-only store's own
	}
	if n >= MaxGroups {
		return 0, fmt.Errorf("table state: more than %d reporting groups", MaxGroups)
	}
	if !s.readOnly {
		if err := s.db.Set(groupKey(group), []byte{byte(n)}, pebble.Sync); err != nil {
			return 0, fmt.Errorf("table state: %w", err)
		}
	}
	s.bits[group] = uint64(1) << n
	return s.bits[group], nil
}

func groupKey(group string) []byte { return append([]byte{'g'}, group...) }

// Get returns the state of a key of table, if there is one.
func (s *Store) Get(table string, key []byte) (Entry, bool, error) {
	return get(s.db, rowKey(nil, table, key))
}

func get(db *pebble.DB, k []byte) (Entry, bool, error) { return getDecoded(db, k, decodeEntry) }

// getDecoded reads k and decodes its value, if there is one.
func getDecoded[T any](db *pebble.DB, k []byte, decode func([]byte) (T, error)) (T, bool, error) {
	var zero T
	v, closer, err := db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("table state: %w", err)
	}
	defer closer.Close()
	e, err := decode(v)
	return e, err == nil, err
}

// Checkpoint returns the checkpoint the group's state reflects, or nil
// when the store has none for it. A store of format v5 kept checkpoints
// under 'c': one still there is returned first (it never matches a
// committed checkpoint, so the store is rebuilt, and Reset removes it),
// even over a v6 one (a store written by v6, then v5, then v6 again).
func (s *Store) Checkpoint(group string) ([]byte, error) {
	for _, k := range [][]byte{append([]byte{'c'}, group...), checkpointKey(group)} {
		v, closer, err := s.db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("table state: %w", err)
		}
		defer closer.Close()
		return bytes.Clone(v), nil
	}
	return nil, nil
}

// Empty reports whether the store holds no key of table (its first
// publish: nothing to look up).
func (s *Store) Empty(table string) (bool, error) {
	prefix := rowKey(nil, table, nil)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return false, fmt.Errorf("table state: %w", err)
	}
	empty := !it.First()
	return empty, it.Close()
}

// Groups lists the groups the store holds a checkpoint for (v5's
// included: Checkpoint).
func (s *Store) Groups() ([]string, error) {
	var out []string
	for _, prefix := range []byte{'x', 'c'} {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
		if err != nil {
			return nil, fmt.Errorf("table state: %w", err)
		}
		for it.First(); it.Valid(); it.Next() {
			if g := string(it.Key()[1:]); !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
		if err := it.Close(); err != nil {
			return nil, fmt.Errorf("table state: %w", err)
		}
	}
	return out, nil
}

// Scan calls fn for every key of table, in key order.
func (s *Store) Scan(table string, fn func(key []byte, e Entry) error) error {
	prefix := rowKey(nil, table, nil)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		e, err := decodeEntry(it.Value())
		if err == nil {
			err = fn(it.Key()[len(prefix):], e)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// Reset removes every key, mark and checkpoint (Rebuilt then records
// what the state reflects). It keeps the groups' lists: a rebuild replaces
// them from the topics, and when the topics cannot give the state the
// lists as last committed label better than none (which would publish
// every row holding a list id again with a null label).
func (s *Store) Reset() error {
	b := s.db.NewBatch()
	defer b.Close()
	clear(s.bits)
	for _, r := range [][2]byte{{'c', 'l'}, {'m', 'y'}} { // 'g'..., 'i'..., 'k'..., 'v'..., 'w'... and 'x'... (and v5's 'c'...)
		if err := b.DeleteRange(r[:1], r[1:], nil); err != nil {
			return fmt.Errorf("table state: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("table state: reset: %w", err)
	}
	return nil
}

// prefixEnd is the first key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// quietLogger passes pebble's errors on by their format string only: an
// argument could be a key, and keys are patient identifiers.
type quietLogger struct{ log *slog.Logger }

func (quietLogger) Infof(string, ...any) {}

func (l quietLogger) Errorf(format string, _ ...any) {
	l.log.Error("table state store: " + format)
}

func (l quietLogger) Fatalf(format string, _ ...any) {
	l.log.Error("table state store failed: " + format)
	panic("table state store failed: " + format)
}
