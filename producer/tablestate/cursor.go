package tablestate

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// Cursor walks a table's keys in order alongside a reconciled full file,
// to find the keys the file no longer holds. Each of the file's keys moves
// it forward; the keys it passes over that are in the file's scope are the
// file's vanish candidates, written down (as 'v' marks, few in a re-send)
// rather than marking every key the file holds. A file in key order (store
// keys sort as the rows do) is thus one sequential pass over the store; a
// key behind the cursor (a file out of order) is looked up alone and
// withdrawn from the candidates. A resumed file is walked again from its
// first row, so the candidates of a file interrupted by a crash come out
// the same: they are written apart from the transactions' batches (in
// batches of their own, so that a file that lost most of a big table
// holds no transaction's worth of them in memory), and a stale one is
// checked against the key's entry before it counts.
type Cursor struct {
	s        *Store
	table    string
	bit, gen uint64
	prefixes [][]byte // the scope's key prefixes, sorted, none a prefix of another
	inScope  func(Entry) bool
	base     []byte // the table's row-key prefix
	last     []byte // the row key of the file's last key in order; nil before the first
	it       *pebble.Iterator
	itBatch  *Batch        // the batch it reads for (a new one sees the last commit)
	extra    [][]byte      // the batch's own keys after last, sorted (not all in the store)
	ei       int           // the next of extra
	side     *pebble.Batch // marks not yet written
	rk, mk   []byte
	tk       []byte // seek target scratch
}

// sideLimit is how many candidate changes the cursor holds before it
// writes them.
const sideLimit = 16 << 10

// NewCursor starts the walk of table for the full file gen of the group
// with bit: keys under prefixes (sorted; one nil prefix for the whole
// table) whose entry inScope accepts are the file's scope.
func (s *Store) NewCursor(table string, bit, gen uint64, prefixes [][]byte, inScope func(Entry) bool) *Cursor {
	return &Cursor{s: s, table: table, bit: bit, gen: gen, prefixes: prefixes, inScope: inScope,
		base: rowKey(nil, table, nil)}
}

// Close releases the cursor's iterator and its unwritten candidates (a
// walk that did not end: the file is walked again).
func (c *Cursor) Close() {
	if c == nil {
		return
	}
	c.closeIter()
	if c.side != nil {
		c.side.Close()
		c.side = nil
	}
}

func (c *Cursor) closeIter() {
	if c.it != nil {
		c.it.Close()
		c.it, c.itBatch = nil, nil
	}
}

// Key moves the cursor to key, a key the file holds, recording the keys
// passed over as candidates in b, and returns key's entry as b leaves it.
func (c *Cursor) Key(b *Batch, key []byte) (Entry, bool, error) {
	c.rk = rowKey(c.rk[:0], c.table, key)
	if c.last != nil && bytes.Compare(c.rk, c.last) <= 0 {
		// Behind the cursor: it was passed over, if the store held it.
		if err := c.mark(b, key, false); err != nil {
			return Entry{}, false, err
		}
		return b.Get(c.table, key, false)
	}
	if err := c.advance(b, c.rk); err != nil {
		return Entry{}, false, err
	}
	var e Entry
	var found bool
	if k, inStore := c.head(); k != nil && bytes.Equal(k, c.rk) {
		var err error
		if e, found, err = c.entry(b, k, inStore); err != nil {
			return Entry{}, false, err
		}
		c.skip(k)
	}
	c.last = append(c.last[:0], c.rk...)
	if err := c.it.Error(); err != nil {
		return Entry{}, false, fmt.Errorf("table state: %w", err)
	}
	return e, found, nil
}

// End passes over the rest of the table: the walk is complete.
func (c *Cursor) End(b *Batch) error {
	if err := c.advance(b, nil); err != nil {
		return err
	}
	c.closeIter()
	return c.flush()
}

// advance moves the cursor to the first key at or after until (nil: the
// table's end), recording the keys before it that are in scope as
// candidates; keys under no prefix of the scope are sought past.
func (c *Cursor) advance(b *Batch, until []byte) error {
	if err := c.iter(b); err != nil {
		return err
	}
	for {
		k, inStore := c.head()
		if k == nil || (until != nil && bytes.Compare(k, until) >= 0) {
			break
		}
		sk := k[len(c.base):]
		i, next := c.scopeOf(sk)
		if i < 0 {
			if next < 0 { // past every prefix
				if until == nil {
					break
				}
				c.seek(until)
				continue
			}
			c.tk = append(append(c.tk[:0], c.base...), c.prefixes[next]...)
			target := c.tk
			if until != nil && bytes.Compare(until, target) < 0 {
				target = until
			}
			c.seek(target)
			continue
		}
		e, ok, err := c.entry(b, k, inStore)
		if err != nil {
			return err
		}
		if ok && c.inScope(e) {
			if err := c.mark(b, sk, true); err != nil {
				return err
			}
		}
		c.skip(k)
	}
	if err := c.it.Error(); err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	return nil
}

// head returns the cursor's next key (of the store, or of the batch's
// changes only: inStore false), nil at the end.
func (c *Cursor) head() (k []byte, inStore bool) {
	var pk []byte
	if c.ei < len(c.extra) {
		pk = c.extra[c.ei]
	}
	if !c.it.Valid() {
		return pk, false
	}
	sk := c.it.Key()
	if pk != nil && bytes.Compare(pk, sk) < 0 {
		return pk, false
	}
	return sk, true
}

// entry returns k's entry as b leaves it (ok false: b deleted it).
func (c *Cursor) entry(b *Batch, k []byte, inStore bool) (Entry, bool, error) {
	if e, found, own := b.own(k); own {
		return e, found, nil
	}
	if !inStore {
		return Entry{}, false, nil
	}
	e, err := decodeEntry(c.it.Value())
	return e, err == nil, err
}

// skip moves the cursor past k, its head.
func (c *Cursor) skip(k []byte) {
	if c.ei < len(c.extra) && bytes.Equal(c.extra[c.ei], k) {
		c.ei++
	}
	if c.it.Valid() && bytes.Equal(c.it.Key(), k) {
		c.it.Next()
	}
}

// seek moves the cursor to the first key at or after target.
func (c *Cursor) seek(target []byte) {
	c.it.SeekGE(target)
	c.ei += sort.Search(len(c.extra)-c.ei, func(j int) bool { return bytes.Compare(c.extra[c.ei+j], target) >= 0 })
}

// iter makes sure the cursor reads the store as b sees it (the last
// commit, and b's changes: a dry batch holds those of a whole run),
// positioned after its last key.
func (c *Cursor) iter(b *Batch) error {
	if c.it != nil && c.itBatch == b {
		return nil
	}
	c.closeIter()
	it, err := c.s.db.NewIter(&pebble.IterOptions{LowerBound: c.base, UpperBound: prefixEnd(c.base)})
	if err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	c.it, c.itBatch, c.extra, c.ei = it, b, c.extra[:0], 0
	b.each(func(k string, ch change) {
		if !ch.deleted && strings.HasPrefix(k, string(c.base)) && (c.last == nil || k > string(c.last)) {
			c.extra = append(c.extra, []byte(k))
		}
	})
	slices.SortFunc(c.extra, bytes.Compare)
	if c.last == nil {
		it.First()
	} else if it.SeekGE(c.last) && bytes.Equal(it.Key(), c.last) {
		it.Next()
	}
	return nil
}

// Prefixes returns the scope's key prefixes.
func (c *Cursor) Prefixes() [][]byte { return c.prefixes }

// scopeOf returns the index of the scope prefix key is under (or -1, and
// the index of the first prefix after key, -1 for none).
func (c *Cursor) scopeOf(key []byte) (in, next int) { return scopeOf(c.prefixes, key) }

// scopeOf returns the index of the prefix (of prefixes, sorted, none a
// prefix of another) key is under, or -1 and the index of the first prefix
// after key (-1: none).
func scopeOf(prefixes [][]byte, key []byte) (in, next int) {
	j, _ := slices.BinarySearchFunc(prefixes, key, bytes.Compare)
	// prefixes[j-1] < key <= prefixes[j]: key is under prefixes[j-1] or,
	// when equal, under prefixes[j].
	if j < len(prefixes) && bytes.HasPrefix(key, prefixes[j]) {
		return j, -1
	}
	if j > 0 && bytes.HasPrefix(key, prefixes[j-1]) {
		return j - 1, -1
	}
	if j < len(prefixes) {
		return -1, j
	}
	return -1, -1
}
