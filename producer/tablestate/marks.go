package tablestate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// A walk's marks: its vanish candidates and the candidates it took back,
// written apart from the transactions' batches (Cursor).

// vanishKey is a walk's mark of key: 'v' table 0 bit gen kind key.
func (c *Cursor) vanishKey(key []byte, kind byte) []byte {
	c.mk = append(vanishPrefix(c.mk[:0], c.table, c.bit, c.gen), kind)
	return append(c.mk, key...)
}

// The kinds of a walk's marks: a candidate, and a candidate taken back
// (a key behind the walk: the file holds it), written without reading
// whether it was one.
const (
	markCandidate = 'c'
	markWithdrawn = 'w'
)

func vanishPrefix(dst []byte, table string, bit, gen uint64) []byte {
	dst = vanishGroupPrefix(dst, table, bit)
	return binary.BigEndian.AppendUint64(dst, gen)
}

func vanishGroupPrefix(dst []byte, table string, bit uint64) []byte {
	dst = append(dst, 'v')
	dst = append(dst, table...)
	return append(dst, 0, byte(bits.TrailingZeros64(bit)))
}

// mark records (add) or withdraws the vanish candidate key.
func (c *Cursor) mark(b *Batch, key []byte, add bool) error {
	mk := c.vanishKey(key, markCandidate)
	if b.b == nil { // a dry batch: in memory
		switch {
		case !add:
			delete(b.cands, string(mk))
		case b.candsLost:
		case len(b.cands) >= candLimit:
			b.candsLost, b.cands = true, nil
		default:
			b.cands[string(mk)] = struct{}{}
		}
		return nil
	}
	if c.side == nil {
		c.side = c.s.db.NewBatch()
	}
	if !add {
		mk = c.vanishKey(key, markWithdrawn)
	}
	err := c.side.Set(mk, nil, nil)
	if err == nil && c.side.Count() >= sideLimit {
		err = c.flush()
	}
	if err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// flush writes the candidates the cursor holds.
func (c *Cursor) flush() error {
	if c.side == nil {
		return nil
	}
	err := c.side.Commit(pebble.NoSync)
	c.side.Close()
	c.side = nil
	if err != nil {
		return fmt.Errorf("table state: candidates: %w", err)
	}
	return nil
}

// candLimit bounds the vanish candidates a dry batch keeps in memory.
const candLimit = 1_000_000

// Vanished calls fn, in key order, for each vanish candidate of the walk
// (which has ended) with its scope prefix's index and its entry as b
// leaves it, if that is still in the scope (a key no longer there, or
// that left the scope, is skipped). fn may change the batch.
func (c *Cursor) Vanished(b *Batch, fn func(i int, key []byte, e Entry) error) error {
	prefix := append(vanishPrefix(nil, c.table, c.bit, c.gen), markCandidate)
	each := func(k []byte) error {
		e, ok, err := b.Get(c.table, k, false)
		if err != nil || !ok {
			return err
		}
		if i, _ := c.scopeOf(k); i >= 0 && c.inScope(e) { // a stale candidate is not
			return fn(i, k, e)
		}
		return nil
	}
	if b.b == nil {
		var keys []string
		for mk := range b.cands {
			if strings.HasPrefix(mk, string(prefix)) {
				keys = append(keys, mk[len(prefix):])
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := each([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	}
	// The candidates, and alongside them (in the same key order) the
	// ones taken back.
	wprefix := append(vanishPrefix(nil, c.table, c.bit, c.gen), markWithdrawn)
	it, err := c.s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	defer it.Close()
	wit, err := c.s.db.NewIter(&pebble.IterOptions{LowerBound: wprefix, UpperBound: prefixEnd(wprefix)})
	if err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	defer wit.Close()
	wit.First()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()[len(prefix):]
		for wit.Valid() && bytes.Compare(wit.Key()[len(wprefix):], k) < 0 {
			wit.Next()
		}
		if wit.Valid() && bytes.Equal(wit.Key()[len(wprefix):], k) {
			continue
		}
		if err := each(k); err != nil {
			return err
		}
	}
	if err := errors.Join(it.Error(), wit.Error()); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// Clear forgets every vanish candidate of the group's files of the table
// (the walk's, and any a crash left behind).
func (c *Cursor) Clear(b *Batch) error {
	group := vanishGroupPrefix(nil, c.table, c.bit)
	if b.b == nil {
		for mk := range b.cands {
			if strings.HasPrefix(mk, string(group)) {
				delete(b.cands, mk)
			}
		}
		return nil
	}
	if err := c.s.db.DeleteRange(group, prefixEnd(group), pebble.NoSync); err != nil {
		return fmt.Errorf("table state: candidates: %w", err)
	}
	return nil
}
