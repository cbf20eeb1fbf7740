package srgen_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/schemas/srgen"
)

func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	opt := srgen.Options{Seed: 42, Groups: 2, Orgs: 2, Batches: 3, Rows: 30, Zip: true}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for dir, o := range map[string]srgen.Options{a: opt, b: opt, c: {Seed: 43, Groups: 2, Orgs: 2, Batches: 3, Rows: 30, Zip: true}} {
		if err := srgen.New(o).Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	ta, tb, tc := tree(t, a), tree(t, b), tree(t, c)
	if len(ta) != 2*3*4 { // manifest, zip, two list files per batch
		t.Fatalf("%d files", len(ta))
	}
	differs := false
	for name, body := range ta {
		if !bytes.Equal(body, tb[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
		differs = differs || !bytes.Equal(body, tc[name])
	}
	if !differs {
		t.Error("another seed wrote the same bytes")
	}
}

// Replaying every batch through the real reader (full files replace a
// table, delta rows upsert, RemovedData=1 deletes) ends in the state
// Expected reports.
func TestExpectedMatchesReplay(t *testing.T) {
	dir := t.TempDir()
	g := srgen.New(srgen.Options{Seed: 3, Groups: 2, Orgs: 3, Batches: 4, Rows: 60})
	if err := g.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, group := range g.Groups() {
		state := map[string]map[int64]map[string]string{}
		for b := 0; b < 4; b++ {
			batch, err := manifest.Load(filepath.Join(dir, group, g.BatchName(b)), group, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range batch.Files {
				full := !f.Listed || !f.Entry.IsDelta
				if full || state[f.Table] == nil {
					state[f.Table] = map[int64]map[string]string{}
				}
				replay(t, batch, f, state[f.Table])
			}
			batch.Close()
		}
		for _, table := range g.Tables() {
			want := g.Expected(group, table)
			got := state[table]
			if len(got) != len(want) || len(want) == 0 {
				t.Errorf("%s %s: %d rows after replay, Expected has %d", group, table, len(got), len(want))
				continue
			}
			for id, row := range want {
				if got[id] == nil {
					t.Errorf("%s %s: row %d expected, not in the replay", group, table, id)
				}
				for col, cell := range got[id] {
					if row[col] != cell {
						t.Errorf("%s %s row %d %s: replay %q, Expected %q", group, table, id, col, cell, row[col])
					}
				}
			}
		}
	}
}

func replay(t *testing.T, b *manifest.Batch, f *manifest.File, rows map[int64]map[string]string) {
	t.Helper()
	rc, err := b.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc, err := codec.NewScanner(f.Table, rc, codec.DefaultDialect())
	if err != nil {
		t.Fatal(err)
	}
	cols := sc.Layout.Table.Columns
	for {
		row, err := sc.Scan()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		cells := map[string]string{}
		var id int64
		for i, v := range row.Values {
			switch v.Kind {
			case codec.Str:
				cells[cols[i].Name] = string(v.Bytes)
			case codec.Int:
				cells[cols[i].Name] = strconv.FormatInt(v.Int, 10)
			}
			if cols[i].Name == "RowIdentifier" {
				id, _ = strconv.ParseInt(cells["RowIdentifier"], 10, 64)
			}
		}
		if row.Removed {
			delete(rows, id)
		} else {
			rows[id] = cells
		}
	}
}

// WriteTable streams any number of rows with a fixed-size header.
func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := srgen.New(srgen.Options{Seed: 1, Orgs: 1}).WriteTable(&buf, "SREvent", 1000); err != nil {
		t.Fatal(err)
	}
	sc, err := codec.NewScanner("SREvent", &buf, codec.DefaultDialect())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := sc.Scan()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1000 {
		t.Errorf("%d rows, want 1000", n)
	}
}
