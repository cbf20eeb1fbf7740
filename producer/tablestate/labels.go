package tablestate

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// List labels: each group's latest lists (SRMapping, SRConfiguredListOption),
// id → display text, kept with the group's checkpoint so that a batch
// without list files labels its rows with the lists it last had.
//
// Key layout: 'l' group 0 list 0 id (8 bytes, big-endian) → text.

func labelPrefix(group, list string) []byte {
	k := append([]byte{'l'}, group...)
	k = append(k, 0)
	k = append(k, list...)
	return append(k, 0)
}

// Labels calls fn with every label of group's list, in id order.
func (s *Store) Labels(group, list string, fn func(id int64, text []byte)) error {
	prefix := labelPrefix(group, list)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		if k := it.Key(); len(k) == len(prefix)+8 {
			fn(int64(binary.BigEndian.Uint64(k[len(prefix):])), it.Value())
		}
	}
	return it.Close()
}

// SetLabels replaces the labels of the batch's group's list with labels,
// written when the batch commits. A dry batch writes nothing.
func (b *Batch) SetLabels(list string, labels map[int64][]byte) error {
	if b.b == nil {
		return nil
	}
	prefix := labelPrefix(b.group, list)
	if err := b.b.DeleteRange(prefix, prefixEnd(prefix), nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	k := make([]byte, len(prefix)+8)
	copy(k, prefix)
	for id, text := range labels {
		binary.BigEndian.PutUint64(k[len(prefix):], uint64(id))
		if err := b.b.Set(k, text, nil); err != nil {
			return fmt.Errorf("table state: %w", err)
		}
	}
	return nil
}
