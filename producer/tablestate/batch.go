package tablestate

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// Batch holds the changes of one Kafka transaction of one group (to any
// key: the keys are the agent's). Reads
// through it see its own changes (a key twice in a file); nothing reaches
// the store until Commit, which writes the changes and the checkpoint
// they lead to atomically.
type Batch struct {
	s     *Store
	group string
	b     *pebble.Batch
	// pending and run hold the batch's changes by row key (set, change):
	// run those in key order, pending the others (and a dry batch's).
	pending map[string]change
	run     run
	// limit bounds pending in a dry batch, which writes nothing else;
	// past it the batch finds no key (predicts every row as changed).
	limit    int
	overflow bool
	// cands are a dry batch's vanish candidates by mark (a Cursor's):
	// at most candLimit, then it forgets them (candsLost).
	cands     map[string]struct{}
	candsLost bool
	// dirty are the tables the batch changed since it last removed their
	// Applied records (touch) or set one; cleared those whose records in
	// the store it removed; applied the records it set; touched the
	// table of its last change (a map lookup per row saved).
	dirty   map[string]bool
	cleared []string
	applied map[string]Applied
	touched string
	// completed are the incomplete marks the batch completed (Complete).
	completed map[string]bool
	sealed    *sealed          // the run, once Seal ended the changes of keys
	it        *pebble.Iterator // reused by the lookups of the batch
	last      []byte           // the key it last sought
	key       []byte
	val       []byte
}

// change is a key's state as a batch leaves it.
type change struct {
	e       Entry
	deleted bool
}

// NewBatch starts the changes of group's next transaction.
func (s *Store) NewBatch(group string) *Batch {
	pending := s.spare
	if pending == nil {
		pending = map[string]change{}
	}
	b := &Batch{s: s, group: group, b: s.db.NewBatch(), pending: pending, run: s.spareRun}
	s.spare, s.spareRun = nil, run{}
	return b
}

// NewDryBatch starts a batch that is never committed (a dry run): its
// changes are held in memory only, at most limit of them.
func (s *Store) NewDryBatch(group string, limit int) *Batch {
	return &Batch{s: s, group: group, pending: map[string]change{}, limit: limit, cands: map[string]struct{}{}}
}

// Get returns the state of a key as the batch leaves it. With fromBatch,
// only the batch's own changes are consulted (the table was empty).
func (b *Batch) Get(table string, key []byte, fromBatch bool) (Entry, bool, error) {
	b.key = rowKey(b.key[:0], table, key)
	if e, found, own := b.own(b.key); own {
		return e, found, nil
	}
	if fromBatch {
		return Entry{}, false, nil
	}
	v, ok, err := b.lookup(b.key)
	if !ok || err != nil {
		return Entry{}, false, err
	}
	e, err := decodeEntry(v)
	return e, err == nil, err
}

// own returns the state the batch's own changes give row key rk (own:
// they decide it; a dry batch past its limit knows no key at all).
func (b *Batch) own(rk []byte) (e Entry, found, own bool) {
	if b.overflow {
		return Entry{}, false, true
	}
	c, ok := b.change(rk)
	return c.e, ok && !c.deleted, ok
}

// lookup reads k from the store (not the batch's changes).
func (b *Batch) lookup(k []byte) ([]byte, bool, error) {
	if b.it == nil {
		// One iterator for every lookup of the transaction: cheaper than
		// a point Get each, and its Bloom-filtered prefix seeks skip the
		// files that cannot hold the key.
		it, err := b.s.db.NewIter(nil)
		if err != nil {
			return nil, false, fmt.Errorf("table state: %w", err)
		}
		b.it = it
	}
	// Keys in ascending order (a file in key order: store keys sort as
	// the rows do) continue from the last one, which a plain seek does
	// without seeking afresh; a key before the last one is sought by its
	// prefix, which Bloom filters answer without reading blocks.
	var found bool
	if b.last != nil && bytes.Compare(k, b.last) > 0 {
		found = b.it.SeekGE(k)
	} else {
		found = b.it.SeekPrefixGE(k)
	}
	b.last = append(b.last[:0], k...)
	if !found || !bytes.Equal(b.it.Key(), k) {
		return nil, false, b.it.Error()
	}
	return b.it.Value(), true, nil
}

// keep holds a dry batch's change of b.key in memory, up to its limit;
// past it the batch forgets them all and finds no key any more.
func (b *Batch) keep(c change) {
	if b.overflow {
		return
	}
	if len(b.pending) >= b.limit {
		b.overflow, b.pending = true, nil
		return
	}
	b.pending[string(b.key)] = c
}

// spareLimit is the most changes a batch's map may have held to be reused.
const spareLimit = 1 << 17

func (b *Batch) close() {
	b.unseal() // before the run is reused
	if b.it != nil {
		b.it.Close()
		b.it = nil
	}
	if b.b != nil {
		b.b.Close()
		// The next batch reuses the map: a transaction's worth of keys
		// is the size it grows to again (not one a large reconciliation
		// grew: maps do not shrink).
		if len(b.pending) <= spareLimit {
			clear(b.pending)
			b.s.spare = b.pending
		}
		if b.run.len() <= spareLimit {
			b.run.reset()
			b.s.spareRun = b.run
		}
		b.pending, b.run = nil, run{}
	}
}

// errSealed is the error of a change to a key after Seal.
var errSealed = errors.New("table state: a key changed after its batch was sealed")

// Put records the key's new state.
func (b *Batch) Put(table string, key []byte, e Entry) error {
	if b.sealed != nil {
		return errSealed // before touch changes the batch
	}
	if err := b.touch(table); err != nil {
		return err
	}
	b.key = rowKey(b.key[:0], table, key)
	if b.b == nil {
		b.keep(change{e: e})
		return nil
	}
	if b.set(b.key, change{e: e}) {
		return nil // in the run: written when the batch commits
	}
	b.val = encodeEntry(b.val[:0], e)
	if err := b.b.Set(b.key, b.val, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// Delete records that the key was deleted.
func (b *Batch) Delete(table string, key []byte) error {
	if b.sealed != nil {
		return errSealed // before touch changes the batch
	}
	if err := b.touch(table); err != nil {
		return err
	}
	b.key = rowKey(b.key[:0], table, key)
	if b.b == nil {
		b.keep(change{deleted: true})
		return nil
	}
	if b.set(b.key, change{deleted: true}) {
		return nil
	}
	if err := b.b.Delete(b.key, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// Commit writes the changes and then checkpoint cp (the position the
// changes lead to, as the caller encodes it; nil for none), and ends the
// batch: a run of changes in key order may be in the store before the
// rest, never the checkpoint before any of them (writeRun). The
// write-ahead log is not synced on each commit: a killed process loses
// nothing (the operating system holds the log), and a power cut that
// loses the newest batches leaves a checkpoint behind the committed one,
// which the owner detects and rebuilds from.
func (b *Batch) Commit(cp []byte) error {
	defer b.close()
	if b.b == nil {
		return fmt.Errorf("table state: a dry batch of %s is never committed", b.group)
	}
	// The run first: its keys are none of the others', and a checkpoint
	// must not be written unless they are.
	if err := b.writeRun(); err != nil {
		return err
	}
	if cp != nil {
		if err := b.b.Set(checkpointKey(b.group), cp, nil); err != nil {
			return fmt.Errorf("table state: %w", err)
		}
	}
	if err := b.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("table state: commit %s: %w", b.group, err)
	}
	return nil
}

// Discard ends the batch without writing anything (the transaction was
// aborted).
func (b *Batch) Discard() { b.close() }

// Overflowed reports whether a dry batch has forgotten its changes or its
// vanish candidates (past its limits): its lookups and scans no longer see them.
func (b *Batch) Overflowed() bool { return b.overflow || b.candsLost }

// Scan calls fn for every key of table starting with one of prefixes
// (sorted, none a prefix of another), as the batch leaves it: the store's
// keys with the batch's changes over them, then the keys only the batch
// holds; i is the index of the key's prefix, and key is valid during the
// call only. fn may change the batch (its changes are not seen again by
// this scan).
func (b *Batch) Scan(table string, prefixes [][]byte, fn func(i int, key []byte, e Entry) error) error {
	base := rowKey(nil, table, nil)
	only := map[string]int{} // the batch's keys under a prefix, not in the store
	b.each(func(k string, c change) {
		if c.deleted || len(k) < len(base) || k[:len(base)] != string(base) {
			return
		}
		if i, _ := scopeOf(prefixes, []byte(k[len(base):])); i >= 0 {
			only[k] = i
		}
	})
	for i, p := range prefixes {
		lower := rowKey(nil, table, p)
		it, err := b.s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
		if err != nil {
			return fmt.Errorf("table state: %w", err)
		}
		for it.First(); it.Valid(); it.Next() {
			rk := it.Key()
			e, err := Entry{}, error(nil)
			if c, ok := b.change(rk); ok {
				delete(only, string(rk))
				if c.deleted {
					continue
				}
				e = c.e
			} else if e, err = decodeEntry(it.Value()); err != nil {
				it.Close()
				return err
			}
			if err := fn(i, rk[len(base):], e); err != nil {
				it.Close()
				return err
			}
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("table state: %w", err)
		}
	}
	keys := make([]string, 0, len(only))
	for k := range only {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c, _ := b.change([]byte(k))
		if err := fn(only[k], []byte(k[len(base):]), c.e); err != nil {
			return err
		}
	}
	return nil
}

// Holds reports whether the batch's own changes put a key of table.
func (b *Batch) Holds(table string) bool {
	prefix := string(rowKey(nil, table, nil))
	holds := false
	b.each(func(k string, c change) { holds = holds || (!c.deleted && strings.HasPrefix(k, prefix)) })
	return holds
}
