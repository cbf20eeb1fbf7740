package tablestate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Applied is what a group's full file of a table left the table as: the
// file's bytes (SHA256) converted and judged one way (Fingerprint) in
// Batch. It holds only while no key of the table changed since: every
// Put or Delete of the table, by any group, removes every group's Applied
// for it in the same atomic write (a delta, a replay, another group's
// rows, a vanished key), and Reset removes them all.
type Applied struct {
	SHA256      string // the file's, hex
	Fingerprint [32]byte
	Batch       string
}

// appliedPrefix is where the Applied records of table are: 'w' table 0
// group → Applied. After the rows ('k'), before the checkpoints: a
// transaction's removal of them keeps its flushed files from spanning
// more than its rows and checkpoint (TestKeyOrderWritesL6Once).
func appliedPrefix(table string) []byte {
	k := append([]byte{'w'}, table...)
	return append(k, 0)
}

func encodeApplied(a Applied) []byte {
	v := append([]byte{}, a.Fingerprint[:]...)
	v = binary.AppendUvarint(v, uint64(len(a.SHA256)))
	v = append(v, a.SHA256...)
	return append(v, a.Batch...)
}

func decodeApplied(v []byte) (Applied, error) {
	var a Applied
	if len(v) < len(a.Fingerprint) {
		return a, errors.New("table state: a short applied record")
	}
	copy(a.Fingerprint[:], v)
	v = v[len(a.Fingerprint):]
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return a, errors.New("table state: a malformed applied record")
	}
	a.SHA256, a.Batch = string(v[k:k+int(n)]), string(v[k+int(n):])
	return a, nil
}

// touch records that the batch changes a key of table: the first change
// (and the first after SetApplied) removes every group's Applied for it.
func (b *Batch) touch(table string) error {
	if table == b.touched {
		return nil
	}
	if b.dirty == nil {
		b.dirty, b.applied = map[string]bool{}, map[string]Applied{}
	}
	if b.dirty[table] {
		b.touched = table
		return nil
	}
	b.dirty[table], b.touched = true, table
	prefix := appliedPrefix(table)
	for k := range b.applied {
		if len(k) > len(prefix) && k[:len(prefix)] == string(prefix) {
			delete(b.applied, k)
		}
	}
	if b.b == nil {
		return nil
	}
	if err := b.b.DeleteRange(prefix, prefixEnd(prefix), nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// SetApplied records what group's full file left table as (with the
// batch's changes of the table before it; a later change removes it).
func (b *Batch) SetApplied(table, group string, a Applied) error {
	if b.dirty == nil {
		b.dirty, b.applied = map[string]bool{}, map[string]Applied{}
	}
	k := append(appliedPrefix(table), group...)
	b.applied[string(k)] = a
	// The store's records of the table are gone for this batch (its
	// first change removed them) or still hold: a later change removes
	// them all again.
	if b.dirty[table] {
		if !slices.Contains(b.cleared, table) {
			b.cleared = append(b.cleared, table)
		}
	}
	b.dirty[table], b.touched = false, ""
	if b.b == nil {
		return nil
	}
	if err := b.b.Set(k, encodeApplied(a), nil); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// Applied returns what group's last full file left table as, if nothing
// changed it since (as the batch leaves it).
func (b *Batch) Applied(table, group string) (Applied, bool, error) {
	if b.Overflowed() {
		return Applied{}, false, nil // a dry batch that lost count of its changes
	}
	k := append(appliedPrefix(table), group...)
	if a, ok := b.applied[string(k)]; ok {
		return a, true, nil
	}
	if b.dirty[table] || slices.Contains(b.cleared, table) {
		return Applied{}, false, nil
	}
	return getDecoded(b.s.db, k, decodeApplied)
}
