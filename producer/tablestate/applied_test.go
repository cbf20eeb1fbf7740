package tablestate

import (
	"fmt"
	"testing"
)

// An Applied record holds while no key of its table changes: a Put or a
// Delete of the table, in any group's batch, removes every group's record
// of it (in the batch at once, in the store when the batch commits), a
// change of another table none, a record set after a change in the same
// batch holds until the next change, a discarded batch removes nothing,
// completing a group's incomplete holdings of the table (a rebuild's)
// removes them too, and Reset and Rebuilt remove them all. A dry batch
// sees the same, writing nothing.
func TestAppliedHoldsWhileTheTableIsUnchanged(t *testing.T) {
	a := func(batch string) Applied { return Applied{SHA256: "ab12", Fingerprint: [32]byte{1, 2}, Batch: batch} }
	type op func(b *Batch) error
	put := func(table string) op { return func(b *Batch) error { return b.Put(table, []byte{9}, entry(1)) } }
	del := func(table string) op { return func(b *Batch) error { return b.Delete(table, []byte{9}) } }
	complete := func(table, group string) op { return func(b *Batch) error { return b.Complete(table, group) } }
	set := func(table, group, batch string) op {
		return func(b *Batch) error { return b.SetApplied(table, group, a(batch)) }
	}
	tests := []struct {
		name    string
		ops     []op
		commit  bool
		g1, g2  string // the batch of T's record for g1 and g2 after ("": none)
		inBatch bool   // the same is seen through the batch before it commits
	}{
		{"nothing", nil, true, "b1", "b2", true},
		{"another table changed", []op{put("U"), del("U")}, true, "b1", "b2", true},
		{"a key put", []op{put("T")}, true, "", "", true},
		{"a key deleted", []op{del("T")}, true, "", "", true},
		{"a key put, then a record", []op{put("T"), set("T", "g1", "b3")}, true, "b3", "", true},
		{"a record, then a key put", []op{set("T", "g1", "b3"), put("T")}, true, "", "", true},
		{"a record, a put, a record", []op{set("T", "g1", "b3"), put("T"), set("T", "g2", "b4")}, true, "", "b4", true},
		{"discarded", []op{put("T")}, false, "b1", "b2", false},
		// g2's holdings of T are incomplete (a rebuild), g1's are not.
		{"a group's holdings completed", []op{complete("T", "g2")}, true, "", "", true},
		{"holdings completed, a record, completed again", []op{complete("T", "g2"), set("T", "g1", "b3"), complete("T", "g2")}, true, "b3", "", true},
		{"complete holdings completed", []op{complete("T", "g1"), complete("U", "g2")}, true, "b1", "b2", true},
	}
	for _, tt := range tests {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dry=%t", tt.name, dry), func(t *testing.T) {
				s := open(t, t.TempDir())
				defer s.Close()
				if err := s.Rebuilt(nil, map[string][]string{"g2": {"T"}}); err != nil {
					t.Fatal(err)
				}
				b := s.NewBatch("g1")
				for g, batch := range map[string]string{"g1": "b1", "g2": "b2"} {
					if err := b.SetApplied("T", g, a(batch)); err != nil {
						t.Fatal(err)
					}
				}
				if err := b.Commit(nil); err != nil {
					t.Fatal(err)
				}
				b = s.NewBatch("g2")
				if dry {
					b = s.NewDryBatch("g2", 100)
				}
				for _, o := range tt.ops {
					if err := o(b); err != nil {
						t.Fatal(err)
					}
				}
				check := func(when string, b *Batch, g1, g2 string) {
					t.Helper()
					for g, want := range map[string]string{"g1": g1, "g2": g2} {
						got, ok, err := b.Applied("T", g)
						if err != nil || ok != (want != "") || got.Batch != want || (ok && got != a(want)) {
							t.Errorf("%s: %s's record %+v (found %t, %v), want %q", when, g, got, ok, err, want)
						}
					}
				}
				if tt.inBatch {
					check("in the batch", b, tt.g1, tt.g2)
				}
				switch {
				case dry:
					check("in the store after a dry batch", s.NewDryBatch("g1", 100), "b1", "b2")
					return
				case tt.commit:
					if err := b.Commit(nil); err != nil {
						t.Fatal(err)
					}
				default:
					b.Discard()
				}
				check("after the batch", s.NewBatch("g1"), tt.g1, tt.g2)
				if err := s.Reset(); err != nil {
					t.Fatal(err)
				}
				check("after Reset", s.NewBatch("g1"), "", "")
				b = s.NewBatch("g1")
				if err := b.SetApplied("T", "g1", a("b5")); err != nil || b.Commit(nil) != nil {
					t.Fatal(err)
				}
				if err := s.Rebuilt(nil, nil); err != nil {
					t.Fatal(err)
				}
				check("after Rebuilt", s.NewBatch("g1"), "", "")
			})
		}
	}
}
