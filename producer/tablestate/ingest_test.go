package tablestate

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// A commit writes a long run of changes in key order (a first publish) as
// a file the store ingests, a short one through the log: either way the
// store then holds exactly what the batch left, over what it held before
// (a key changed again out of order, a delete, a key the run changed
// twice), and the checkpoint with it; a discarded batch writes nothing.
// A batch sealed first (its file written while the broker commits)
// refuses another change and then commits or discards the same.
func TestCommitIngestsLongRuns(t *testing.T) {
	key := func(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
	for _, tc := range []struct {
		name       string
		run        int // keys in order after the ones held
		seal       bool
		commit     bool
		wantIngest bool
	}{
		{"short run", ingestMin / 2, false, true, false},
		{"short run sealed", ingestMin / 2, true, true, false},
		{"long run", ingestMin + 10, false, true, true},
		{"long run sealed", ingestMin + 10, true, true, true},
		{"long run discarded", ingestMin + 10, false, false, false},
		{"long run sealed, discarded", ingestMin + 10, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			defer s.Close()
			const held = 100
			want := map[int]Entry{}
			b := s.NewBatch("g1")
			for n := range held {
				if err := b.Put("SRCode", key(n), entry(n)); err != nil {
					t.Fatal(err)
				}
				want[n] = entry(n)
			}
			if err := b.Commit([]byte("cp-1")); err != nil {
				t.Fatal(err)
			}
			before := s.db.Metrics().Ingest.Count
			b = s.NewBatch("g1")
			next := map[int]Entry{}
			for n := range want {
				next[n] = want[n]
			}
			put := func(n, v int) {
				if err := b.Put("SRCode", key(n), entry(v)); err != nil {
					t.Fatal(err)
				}
				next[n] = entry(v)
			}
			// From the middle of what is held, in order: changes, a delete.
			for n := held / 2; n < held+tc.run; n++ {
				if n == held-1 {
					if err := b.Delete("SRCode", key(n)); err != nil {
						t.Fatal(err)
					}
					delete(next, n)
					continue
				}
				put(n, n+1_000_000)
			}
			put(3, 7)                                               // out of the run's order
			put(held+5, 42)                                         // a key of the run again
			put(held+tc.run-1, 43)                                  // its last key again
			if err := b.Delete("SRCode", key(held+6)); err != nil { // deleted again
				t.Fatal(err)
			}
			delete(next, held+6)
			if tc.seal {
				b.Seal()
				if err := b.Put("SRCode", key(held+tc.run), entry(1)); !errors.Is(err, errSealed) {
					t.Fatalf("a change after Seal: %v", err)
				}
				if err := b.Delete("SRCode", key(1)); !errors.Is(err, errSealed) {
					t.Fatalf("a delete after Seal: %v", err)
				}
			}
			if tc.commit {
				if err := b.Commit([]byte("cp-2")); err != nil {
					t.Fatal(err)
				}
				want = next
			} else {
				b.Discard()
			}
			if got := s.db.Metrics().Ingest.Count - before; got != map[bool]uint64{true: 1}[tc.wantIngest] {
				t.Fatalf("%d ingests, want ingested %v", got, tc.wantIngest)
			}
			for n := range held + tc.run {
				got, ok, err := s.Get("SRCode", key(n))
				if w, held := want[n]; err != nil || ok != held || got != w {
					t.Fatalf("key %d: %+v %v %v, want %+v %v", n, got, ok, err, w, held)
				}
			}
			if cp, _ := s.Checkpoint("g1"); string(cp) != map[bool]string{true: "cp-2", false: "cp-1"}[tc.commit] {
				t.Fatalf("checkpoint %q", cp)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ingestPrefix+"*")); len(left) > 0 {
				t.Fatalf("files left: %v", left)
			}
		})
	}
}

// A file a crash left before the store ingested it is removed when the
// store opens again, and the store opens.
func TestOpenRemovesFilesNeverIngested(t *testing.T) {
	dir := t.TempDir()
	open(t, dir).Close()
	left := filepath.Join(dir, ingestPrefix+"run.sst")
	if err := os.WriteFile(left, []byte("half a table"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	defer s.Close()
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("the file is still there: %v", err)
	}
}

// A crash after a run was ingested and before the batch with its
// checkpoint was written leaves the store's checkpoint where it was: the
// owner, finding it behind the committed one, rebuilds the store.
func TestCrashAfterIngestLeavesTheCheckpointBehind(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	b := s.NewBatch("g1")
	if err := b.Put("SRCode", []byte{0}, entry(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit([]byte("cp-1")); err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch("g1")
	for n := 1; n <= ingestMin; n++ {
		if err := b.Put("SRCode", binary.BigEndian.AppendUint32(nil, uint32(n)), entry(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.writeRun(); err != nil { // the crash: the rest is never committed
		t.Fatal(err)
	}
	b.Discard()
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if _, ok, _ := s.Get("SRCode", binary.BigEndian.AppendUint32(nil, 1)); !ok {
		t.Fatal("the ingested run is not in the store")
	}
	if cp, err := s.Checkpoint("g1"); err != nil || string(cp) != "cp-1" {
		t.Fatalf("checkpoint %q %v, want the one before", cp, err)
	}
}

// A run ingested over keys the store holds in its last level (so above
// them) deletes what it deletes, whatever the table format: in newer
// formats a file written for the last level marks its deletes obsolete,
// which hides them anywhere else.
func TestIngestedDeleteHidesAnOlderValue(t *testing.T) {
	key := func(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
	s, err := Open(t.TempDir(), Options{format: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch("g1")
	for n := range 100 {
		if err := b.Put("SRCode", key(n), entry(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit([]byte("cp-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch("g1")
	for n := 50; n < 50+ingestMin; n++ {
		if n == 60 {
			if err := b.Delete("SRCode", key(n)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := b.Put("SRCode", key(n), entry(n+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit([]byte("cp-2")); err != nil {
		t.Fatal(err)
	}
	if e, ok, err := s.Get("SRCode", key(60)); ok || err != nil {
		t.Fatalf("the deleted key is back: %+v %v", e, err)
	}
	if e, ok, _ := s.Get("SRCode", key(61)); !ok || e != entry(62) {
		t.Fatalf("key 61: %+v %v", e, ok)
	}
}

// A change refused after Seal changes nothing: what the batch recorded
// as applied (which a change of the table removes) is still committed.
func TestRefusedChangeAfterSealChangesNothing(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	b := s.NewBatch("g1")
	for n := range ingestMin {
		if err := b.Put("SRCode", binary.BigEndian.AppendUint32(nil, uint32(n)), entry(n)); err != nil {
			t.Fatal(err)
		}
	}
	a := Applied{SHA256: "ab", Batch: "20240101_0300"}
	if err := b.SetApplied("SRCode", "g1", a); err != nil {
		t.Fatal(err)
	}
	b.Seal()
	if err := b.Put("SRCode", []byte{0xff}, entry(1)); !errors.Is(err, errSealed) {
		t.Fatalf("a change after Seal: %v", err)
	}
	if err := b.Commit([]byte("cp-1")); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.NewDryBatch("g1", 10).Applied("SRCode", "g1"); err != nil || !ok || got != a {
		t.Fatalf("applied %+v %v %v, want %+v", got, ok, err, a)
	}
}
