package tablestate

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// A group's holdings of a table are incomplete after a rebuild, until it
// publishes a full file of the table: 'i' table 0 group is present
// meanwhile (store.go's key layout).

// incompleteKey is the mark of group's incomplete holdings of table.
func incompleteKey(table, group string) []byte {
	k := append([]byte{'i'}, table...)
	return append(append(k, 0), group...)
}

// Rebuilt records that the store was rebuilt (from the table topics, or
// emptied) with the checkpoints given (group → checkpoint): the keys it
// holds are the published ones, but not which groups sent a suppressed
// row again, so the holdings of every group of every table it published
// (group → tables) are incomplete until it publishes a full file of the
// table (Batch.Complete).
func (s *Store) Rebuilt(checkpoints map[string][]byte, published map[string][]string) error {
	b := s.db.NewBatch()
	defer b.Close()
	// What full files left the tables as no longer says what they hold.
	if err := b.DeleteRange([]byte{'w'}, []byte{'w' + 1}, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	for g, cp := range checkpoints {
		if err := b.Set(checkpointKey(g), cp, nil); err != nil {
			return fmt.Errorf("table state: %w", err)
		}
	}
	for g, tables := range published {
		for _, t := range tables {
			if err := b.Set(incompleteKey(t, g), nil, nil); err != nil {
				return fmt.Errorf("table state: %w", err)
			}
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("table state: rebuilt: %w", err)
	}
	return nil
}

// Incomplete lists the groups whose holdings of table are incomplete.
func (s *Store) Incomplete(table string) ([]string, error) {
	prefix := incompleteKey(table, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("table state: %w", err)
	}
	var out []string
	for it.First(); it.Valid(); it.Next() {
		out = append(out, string(it.Key()[len(prefix):]))
	}
	return out, it.Close()
}

// Complete records that group's holdings of table are known again: it
// published a full file of the table since the store was rebuilt.
// The judgement of what vanishes from the table changes with it: every
// group's Applied record of the table is removed.
func (b *Batch) Complete(table, group string) error {
	k := incompleteKey(table, group)
	_, marked, err := b.lookup(k)
	if err != nil || !marked || b.completed[string(k)] {
		return err
	}
	if err := b.touch(table); err != nil {
		return err
	}
	// Once a batch (a dry one never removes the mark).
	if b.completed == nil {
		b.completed = map[string]bool{}
	}
	b.completed[string(k)] = true
	if b.b == nil {
		return nil
	}
	if err := b.b.Delete(k, nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}
