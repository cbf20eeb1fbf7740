package tablestate

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
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
