package tablestate

import (
	"bytes"
	"sort"
)

// run holds a batch's changes to the keys that came after every key it
// holds (a file in key order: all of them), in that order: appended and
// found by binary search, without a map entry and a key string for each.
// A batch's other changes (keys out of order) are in its map.
type run struct {
	keys    []byte // the keys, one after another
	ends    []int  // where each key ends in keys
	changes []change
}

func (r *run) len() int { return len(r.ends) }

func (r *run) key(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.keys[start:r.ends[i]]
}

// find returns the index of k, or where it would go (len: after every
// key, where the run can take it).
func (r *run) find(k []byte) (int, bool) {
	n := r.len()
	if n == 0 {
		return 0, false
	}
	switch c := bytes.Compare(k, r.key(n-1)); {
	case c > 0:
		return n, false
	case c == 0:
		return n - 1, true
	}
	i := sort.Search(n-1, func(i int) bool { return bytes.Compare(r.key(i), k) >= 0 })
	return i, bytes.Equal(r.key(i), k)
}

func (r *run) add(k []byte, c change) {
	r.keys = append(r.keys, k...)
	r.ends = append(r.ends, len(r.keys))
	r.changes = append(r.changes, c)
}

// writeTo writes the run's changes, in order, with set and del.
func (r *run) writeTo(set func(k, v []byte) error, del func(k []byte) error) error {
	var val []byte
	for i := range r.len() {
		c := r.changes[i]
		var err error
		if c.deleted {
			err = del(r.key(i))
		} else {
			val = encodeEntry(val[:0], c.e)
			err = set(r.key(i), val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *run) reset() {
	r.keys, r.ends, r.changes = r.keys[:0], r.ends[:0], r.changes[:0]
}

// set records c as row key rk's change, in the run when it is one of its
// keys or comes after them all (inRun: Commit writes it).
func (b *Batch) set(rk []byte, c change) (inRun bool) {
	i, ok := b.run.find(rk)
	switch {
	case ok:
		b.run.changes[i] = c
	case i == b.run.len():
		b.run.add(rk, c)
	default:
		b.pending[string(rk)] = c
		return false
	}
	return true
}

// change returns row key rk's change, if the batch has one.
func (b *Batch) change(rk []byte) (change, bool) {
	i, ok := b.run.find(rk)
	if ok {
		return b.run.changes[i], true
	}
	if i == b.run.len() && i > 0 {
		return change{}, false // after the run: no key of the map is
	}
	c, ok := b.pending[string(rk)]
	return c, ok
}

// each calls fn with every change of the batch, in no order.
func (b *Batch) each(fn func(rk string, c change)) {
	for i := range b.run.len() {
		fn(string(b.run.key(i)), b.run.changes[i])
	}
	for k, c := range b.pending {
		fn(k, c)
	}
}
