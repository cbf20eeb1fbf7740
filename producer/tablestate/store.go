// Package tablestate keeps each reporting group's table state on disk:
// for every key sragent has published, the hash of its last published
// image, its organisation and its window value. It is derived state (the
// table topics are its changelog): a group's state is trusted only when
// its checkpoint equals the one committed with the events, and rebuilt
// from the topics otherwise.
//
// The store is pebble, an LSM key-value store made for tens of millions
// of keys with flat memory (a bounded block cache and memtable), crash
// safe (a write-ahead log; a batch and its checkpoint are one atomic
// write), and pure Go, so it builds for Windows without cgo.
package tablestate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// HashSize is the size of an image hash.
const HashSize = 16

// Entry is the state of one published key.
type Entry struct {
	// Hash identifies the last published image of the key.
	Hash [HashSize]byte
	// Window is the key's window-column value (Unix ms), 0 for none.
	Window int64
	// Org is the key's IDOrganisationVisibleTo ("" for shared tables).
	Org string
}

// Store is the table state of every group of one agent.
type Store struct {
	db *pebble.DB
}

// Options size the store.
type Options struct {
	// CacheBytes bounds the block cache (default 32 MiB).
	CacheBytes int64
	// Logger receives pebble's errors, by format only: never a key.
	Logger *slog.Logger
}

// Open opens (or creates) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 32 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("table state: %w", err)
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	opts := &pebble.Options{
		Cache:        cache,
		MemTableSize: 16 << 20,
		Logger:       quietLogger{o.Logger},
	}
	for i := range opts.Levels {
		// Most lookups of a first publish miss: a Bloom filter answers
		// them without reading a block.
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open table state in %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Key layout: 'k' group 0 table 0 key → entry; 'c' group → checkpoint.
// Group and table names never hold a zero byte.
func rowKey(dst []byte, group, table string, key []byte) []byte {
	dst = append(dst, 'k')
	dst = append(dst, group...)
	dst = append(dst, 0)
	dst = append(dst, table...)
	dst = append(dst, 0)
	return append(dst, key...)
}

func checkpointKey(group string) []byte { return append([]byte{'c'}, group...) }

func encodeEntry(dst []byte, e Entry) []byte {
	dst = append(dst, e.Hash[:]...)
	dst = binary.AppendVarint(dst, e.Window)
	return append(dst, e.Org...)
}

func decodeEntry(b []byte) (Entry, error) {
	var e Entry
	if len(b) < HashSize {
		return e, errors.New("table state: short entry")
	}
	copy(e.Hash[:], b)
	w, n := binary.Varint(b[HashSize:])
	if n <= 0 {
		return e, errors.New("table state: bad entry")
	}
	e.Window, e.Org = w, string(b[HashSize+n:])
	return e, nil
}

// Get returns the state of a key of group's table, if there is one.
func (s *Store) Get(group, table string, key []byte) (Entry, bool, error) {
	return get(s.db, rowKey(nil, group, table, key))
}

func get(db *pebble.DB, k []byte) (Entry, bool, error) {
	v, closer, err := db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("table state: %w", err)
	}
	defer closer.Close()
	e, err := decodeEntry(v)
	return e, err == nil, err
}

// Checkpoint returns the checkpoint the group's state reflects, or nil
// when the store has none for it.
func (s *Store) Checkpoint(group string) ([]byte, error) {
	v, closer, err := s.db.Get(checkpointKey(group))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("table state: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// Empty reports whether the store holds no key of group's table (its
// first publish: nothing to look up).
func (s *Store) Empty(group, table string) (bool, error) {
	prefix := rowKey(nil, group, table, nil)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return false, fmt.Errorf("table state: %w", err)
	}
	empty := !it.First()
	return empty, it.Close()
}

// Groups lists the groups the store holds a checkpoint for.
func (s *Store) Groups() ([]string, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'c'}, UpperBound: []byte{'d'}})
	if err != nil {
		return nil, fmt.Errorf("table state: %w", err)
	}
	var out []string
	for it.First(); it.Valid(); it.Next() {
		out = append(out, string(it.Key()[1:]))
	}
	return out, it.Close()
}

// Scan calls fn for every key of group's table, in key order.
func (s *Store) Scan(group, table string, fn func(key []byte, e Entry) error) error {
	prefix := rowKey(nil, group, table, nil)
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

// Drop removes all of a group's state and its checkpoint (before a
// rebuild).
func (s *Store) Drop(group string) error {
	prefix := append([]byte{'k'}, append([]byte(group), 0)...)
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(prefix, prefixEnd(prefix), nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	if err := b.Delete(checkpointKey(group), nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("table state: drop %s: %w", group, err)
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
