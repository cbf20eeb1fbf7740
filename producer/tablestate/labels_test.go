package tablestate

import (
	"fmt"
	"maps"
	"testing"
)

// A group's lists commit with its batch, replace what the group had, are
// the group's own (a prefix of another group's name included), survive a
// reopen, and a discarded or dry batch writes none; Reset keeps them.
func TestLabels(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	read := func(group, list string) map[int64]string {
		t.Helper()
		out := map[int64]string{}
		if err := s.Labels(group, list, func(id int64, text []byte) { out[id] = string(text) }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	set := func(b *Batch, list string, m map[int64]string) {
		t.Helper()
		bm := map[int64][]byte{}
		for id, text := range m {
			bm[id] = []byte(text)
		}
		if err := b.SetLabels(list, bm); err != nil {
			t.Fatal(err)
		}
	}
	b := s.NewBatch("g")
	set(b, "SRMapping", map[int64]string{1: "Yes", 2: "No", 1 << 40: "Big"})
	if len(read("g", "SRMapping")) != 0 {
		t.Error("labels visible before the commit")
	}
	if err := b.Commit([]byte("cp1")); err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch("g2")
	set(b, "SRMapping", map[int64]string{9: "Other"})
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch("g")
	set(b, "SRMapping", map[int64]string{3: "Maybe"})
	b.Discard()
	dry := s.NewDryBatch("g", 10)
	set(dry, "SRMapping", map[int64]string{4: "Dry"})
	for _, tc := range []struct {
		group, list string
		want        map[int64]string
	}{
		{"g", "SRMapping", map[int64]string{1: "Yes", 2: "No", 1 << 40: "Big"}},
		{"g2", "SRMapping", map[int64]string{9: "Other"}},
		{"g", "SRConfiguredListOption", map[int64]string{}},
		{"", "SRMapping", map[int64]string{}},
	} {
		if got := read(tc.group, tc.list); !maps.Equal(got, tc.want) {
			t.Errorf("%s %s: %v, want %v", tc.group, tc.list, got, tc.want)
		}
	}
	b = s.NewBatch("g")
	set(b, "SRMapping", map[int64]string{2: "No!"})
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	if got := read("g", "SRMapping"); fmt.Sprint(got) != "map[2:No!]" {
		t.Errorf("after a replace and a reopen: %v", got)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := read("g2", "SRMapping"); fmt.Sprint(got) != "map[9:Other]" {
		t.Errorf("after Reset: %v", got)
	}
	if cp, err := s.Checkpoint("g"); err != nil || cp != nil {
		t.Errorf("a checkpoint after Reset: %q %v", cp, err)
	}
}
