package tablestate

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Batch holds the changes of one Kafka transaction of one group. Reads
// through it see its own changes (a key twice in a file); nothing reaches
// the store until Commit, which writes the changes and the checkpoint
// they lead to atomically.
type Batch struct {
	group string
	b     *pebble.Batch
	key   []byte
	val   []byte
}

// NewBatch starts the changes of group's next transaction.
func (s *Store) NewBatch(group string) *Batch {
	return &Batch{group: group, b: s.db.NewIndexedBatch()}
}

// Get returns the state of a key as the batch leaves it.
func (b *Batch) Get(table string, key []byte) (Entry, bool, error) {
	return get(b.b, b.group, table, key)
}

// Put records the key's new state.
func (b *Batch) Put(table string, key []byte, e Entry) error {
	b.key = rowKey(b.key[:0], b.group, table, key)
	b.val = encodeEntry(b.val[:0], e)
	if err := b.b.Set(b.key, b.val, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// Delete records that the key was deleted.
func (b *Batch) Delete(table string, key []byte) error {
	b.key = rowKey(b.key[:0], b.group, table, key)
	if err := b.b.Delete(b.key, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
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
	defer b.b.Close()
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
func (b *Batch) Discard() { b.b.Close() }
