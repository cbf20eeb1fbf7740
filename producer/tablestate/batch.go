package tablestate

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Batch holds the changes of one Kafka transaction of one group. Reads
// through it see its own changes (a key twice in a file); nothing reaches
// the store until Commit, which writes the changes and the checkpoint
// they lead to atomically.
type Batch struct {
	s       *Store
	group   string
	b       *pebble.Batch
	pending map[string]change // this batch's changes by row key
	it      *pebble.Iterator  // reused by the lookups of the batch
	key     []byte
	val     []byte
}

// change is a key's state as a batch leaves it.
type change struct {
	e       Entry
	deleted bool
}

// NewBatch starts the changes of group's next transaction.
func (s *Store) NewBatch(group string) *Batch {
	return &Batch{s: s, group: group, b: s.db.NewBatch(), pending: map[string]change{}}
}

// Get returns the state of a key as the batch leaves it. With fromBatch,
// only the batch's own changes are consulted (the table was empty).
func (b *Batch) Get(table string, key []byte, fromBatch bool) (Entry, bool, error) {
	b.key = rowKey(b.key[:0], b.group, table, key)
	if c, ok := b.pending[string(b.key)]; ok {
		return c.e, !c.deleted, nil
	}
	if fromBatch {
		return Entry{}, false, nil
	}
	if b.it == nil {
		// One iterator for every lookup of the transaction: cheaper than
		// a point Get each, and its Bloom-filtered prefix seeks skip the
		// files that cannot hold the key.
		it, err := b.s.db.NewIter(nil)
		if err != nil {
			return Entry{}, false, fmt.Errorf("table state: %w", err)
		}
		b.it = it
	}
	if !b.it.SeekPrefixGE(b.key) || !bytes.Equal(b.it.Key(), b.key) {
		return Entry{}, false, b.it.Error()
	}
	e, err := decodeEntry(b.it.Value())
	return e, err == nil, err
}

func (b *Batch) close() {
	if b.it != nil {
		b.it.Close()
		b.it = nil
	}
	b.b.Close()
}

// Put records the key's new state.
func (b *Batch) Put(table string, key []byte, e Entry) error {
	b.key = rowKey(b.key[:0], b.group, table, key)
	b.val = encodeEntry(b.val[:0], e)
	if err := b.b.Set(b.key, b.val, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	b.pending[string(b.key)] = change{e: e}
	return nil
}

// Delete records that the key was deleted.
func (b *Batch) Delete(table string, key []byte) error {
	b.key = rowKey(b.key[:0], b.group, table, key)
	if err := b.b.Delete(b.key, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	b.pending[string(b.key)] = change{deleted: true}
	return nil
}

// Len is the number of changes in the batch.
func (b *Batch) Len() int { return int(b.b.Count()) }

// Commit writes the changes and checkpoint cp (the position the changes
// lead to, as the caller encodes it) atomically, and ends the batch. The
// write-ahead log is not synced on each commit: a killed process loses
// nothing (the operating system holds the log), and a power cut that
// loses the newest batches leaves a checkpoint behind the committed one,
// which the owner detects and rebuilds from.
func (b *Batch) Commit(cp []byte) error {
	defer b.close()
	if err := b.b.Set(checkpointKey(b.group), cp, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	if err := b.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("table state: commit %s: %w", b.group, err)
	}
	return nil
}

// Discard ends the batch without writing anything (the transaction was
// aborted).
func (b *Batch) Discard() { b.close() }
