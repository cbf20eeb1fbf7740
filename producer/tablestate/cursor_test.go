package tablestate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// A full file's walk finds exactly the keys of its scope that it no longer
// holds, whatever the order of its rows (in key order, reversed, shuffled,
// with a key twice), across the batches (transactions) it spans and in a
// dry batch that also holds an earlier file's new keys; keys outside the
// scope (another organisation, another group, outside the window) never
// vanish, and a key of the file outside the scope moves the walk as any
// other.
func TestCursorFindsWhatVanished(t *testing.T) {
	const bit, other = 1, 2
	key := func(org string, n int) []byte { return fmt.Appendf(nil, "%s\x00\x01%08d", org, n) }
	prefix := func(org string) []byte { return fmt.Appendf(nil, "%s\x00\x01", org) }
	inScope := func(e Entry) bool { return e.Groups&bit != 0 && e.Window >= 0 }
	seed := func(t *testing.T) *Store {
		s := open(t, t.TempDir())
		b := s.NewBatch("g")
		for n := 1; n <= 20; n++ {
			for _, org := range []string{"A", "B", "C"} {
				e := Entry{Groups: bit}
				switch {
				case n == 19:
					e.Groups = other // another group's
				case n == 20:
					e.Window = -1 // outside the window
				}
				if err := b.Put("T", key(org, n), e); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := b.Commit(nil); err != nil {
			t.Fatal(err)
		}
		return s
	}
	rows := func(org string, ns ...int) (out [][]byte) {
		for _, n := range ns {
			out = append(out, key(org, n))
		}
		return out
	}
	upTo := func(n int) (out []int) {
		for i := 1; i <= n; i++ {
			out = append(out, i)
		}
		return out
	}
	sorted := append(append(rows("A", upTo(15)...), rows("C", 1, 2, 3)...), key("C", 30)) // a new key too
	reversed := slices.Clone(sorted)
	slices.Reverse(reversed)
	shuffled := slices.Clone(sorted)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	twice := append(slices.Clone(sorted), key("A", 3), key("A", 16))
	var wantGone [][]byte
	wantGone = append(append(wantGone, rows("A", 16, 17, 18)...), rows("C", upTo(18)[3:]...)...)
	tests := []struct {
		name     string
		file     [][]byte
		prefixes [][]byte
		perBatch int // rows per batch (transaction)
		dry      bool
		gone     [][]byte
	}{
		{"in key order", sorted, [][]byte{prefix("A"), prefix("C")}, 1000, false, wantGone},
		{"reversed", reversed, [][]byte{prefix("A"), prefix("C")}, 1000, false, wantGone},
		{"shuffled, many batches", shuffled, [][]byte{prefix("A"), prefix("C")}, 3, false, wantGone},
		{"a key twice", twice, [][]byte{prefix("A"), prefix("C")}, 4, false, append(rows("A", 17, 18), wantGone[3:]...)},
		{"dry", shuffled, [][]byte{prefix("A"), prefix("C")}, 1000, true, wantGone},
		{"the whole table", sorted, [][]byte{nil}, 5, false, append(append(rows("A", 16, 17, 18), rows("B", upTo(18)...)...), wantGone[3:]...)},
		{"a key outside the scope first", append(rows("A", 5), rows("B", upTo(15)[1:]...)...), [][]byte{prefix("B")}, 1000, false, rows("B", 1, 16, 17, 18)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seed(t)
			defer s.Close()
			newBatch := func() *Batch {
				if tt.dry {
					return s.NewDryBatch("g", 1000)
				}
				return s.NewBatch("g")
			}
			b := newBatch()
			if tt.dry { // an earlier file of the run added A/21, which only the dry batch knows
				if err := b.Put("T", key("A", 21), Entry{Groups: bit}); err != nil {
					t.Fatal(err)
				}
			}
			c := s.NewCursor("T", bit, 7, tt.prefixes, inScope)
			defer c.Close()
			for i, k := range tt.file {
				if i > 0 && i%tt.perBatch == 0 && !tt.dry {
					if err := b.Commit(nil); err != nil {
						t.Fatal(err)
					}
					b = newBatch()
				}
				if _, _, err := c.Key(b, k); err != nil {
					t.Fatal(err)
				}
				if err := b.Put("T", k, Entry{Groups: bit}); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.End(b); err != nil {
				t.Fatal(err)
			}
			want := tt.gone
			if tt.dry {
				want = append(rows("A", 16, 17, 18, 21), wantGone[3:]...)
			}
			var got [][]byte
			collect := func(_ int, k []byte, _ Entry) error { got = append(got, slices.Clone(k)); return nil }
			if err := c.Vanished(b, collect); err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Errorf("vanished\n%q\nwant\n%q", got, want)
			}
			if err := c.Clear(b); err != nil {
				t.Fatal(err)
			}
			if !tt.dry {
				if err := b.Commit(nil); err != nil {
					t.Fatal(err)
				}
				b = newBatch()
			}
			got = nil
			c.Vanished(b, collect)
			if len(got) > 0 {
				t.Errorf("%d candidates left after Clear", len(got))
			}
		})
	}
}

// A dry batch past its limit knows no key: the walk finds none either, as
// a lookup does (a run that lost count predicts every row as published).
func TestCursorOverflowedDryBatch(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	b := s.NewBatch("g")
	k1, k2 := []byte("A\x00\x011"), []byte("A\x00\x012")
	for _, k := range [][]byte{k1, k2} {
		if err := b.Put("T", k, Entry{Groups: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	dry := s.NewDryBatch("g", 1)
	dry.Put("T", []byte("B\x00\x011"), Entry{Groups: 1})
	dry.Put("T", []byte("B\x00\x012"), Entry{Groups: 1}) // past the limit
	if !dry.Overflowed() {
		t.Fatal("the dry batch did not overflow")
	}
	c := s.NewCursor("T", 1, 7, [][]byte{nil}, func(e Entry) bool { return true })
	defer c.Close()
	for _, k := range [][]byte{k1, k2} {
		if _, found, err := c.Key(dry, k); err != nil || found {
			t.Errorf("the walk of an overflowed dry batch found %q (%v)", k, err)
		}
		if _, found, _ := dry.Get("T", k, false); found {
			t.Errorf("an overflowed dry batch's lookup found %q", k)
		}
	}
}
