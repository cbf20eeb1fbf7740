package tablestate

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func entry(n int) Entry {
	e := Entry{Window: int64(n) * 1000, Org: "A" + strconv.Itoa(n%3)}
	binary.BigEndian.PutUint64(e.Hash[:], uint64(n))
	return e
}

// A batch's changes are visible through it at once, in the store only
// after Commit (with its checkpoint), and never after Discard; groups and
// tables never see each other's keys, even with the same key bytes.
func TestBatchCommitAndIsolation(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	key := []byte{0, 1, 2}
	for _, tc := range []struct {
		group, table string
		n            int
		commit       bool
	}{{"g1", "SRCode", 1, true}, {"g2", "SRCode", 2, true}, {"g1", "SRCodeX", 3, true}, {"g1", "SRPatient", 4, false}} {
		b := s.NewBatch(tc.group)
		if err := b.Put(tc.table, key, entry(tc.n)); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := b.Get(tc.table, key, false); err != nil || !ok || got != entry(tc.n) {
			t.Fatalf("%s/%s through the batch: %+v %v %v", tc.group, tc.table, got, ok, err)
		}
		if _, ok, _ := s.Get(tc.group, tc.table, key); ok {
			t.Fatalf("%s/%s visible before commit", tc.group, tc.table)
		}
		if tc.commit {
			if err := b.Commit([]byte("cp-" + strconv.Itoa(tc.n))); err != nil {
				t.Fatal(err)
			}
		} else {
			b.Discard()
		}
	}
	for _, tc := range []struct {
		group, table string
		want         int // 0: absent
	}{{"g1", "SRCode", 1}, {"g2", "SRCode", 2}, {"g1", "SRCodeX", 3}, {"g1", "SRPatient", 0}, {"g3", "SRCode", 0}} {
		got, ok, err := s.Get(tc.group, tc.table, key)
		if err != nil || ok != (tc.want != 0) || (ok && got != entry(tc.want)) {
			t.Errorf("%s/%s: %+v %v %v, want entry %d", tc.group, tc.table, got, ok, err, tc.want)
		}
	}
	if cp, _ := s.Checkpoint("g1"); string(cp) != "cp-3" {
		t.Errorf("g1 checkpoint %q", cp)
	}
	// A delete in a later batch, and the batch's own view of it.
	b := s.NewBatch("g1")
	b.Delete("SRCode", key)
	if _, ok, _ := b.Get("SRCode", key, false); ok {
		t.Error("deleted key still visible through the batch")
	}
	b.Commit([]byte("cp-5"))
	if _, ok, _ := s.Get("g1", "SRCode", key); ok {
		t.Error("deleted key still in the store")
	}
}

// Scan lists exactly one table's keys in order; Drop removes one group.
func TestScanAndDrop(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	for _, g := range []string{"g1", "g2"} {
		b := s.NewBatch(g)
		for i := 9; i >= 0; i-- {
			b.Put("SRCode", []byte{byte(i)}, entry(i))
			b.Put("SRCodeX", []byte{byte(i)}, entry(i))
		}
		b.Commit([]byte("cp"))
	}
	var keys []byte
	s.Scan("g1", "SRCode", func(k []byte, e Entry) error {
		if e != entry(int(k[0])) {
			t.Errorf("key %v: %+v", k, e)
		}
		keys = append(keys, k...)
		return nil
	})
	if !bytes.Equal(keys, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("scan: %v", keys)
	}
	if err := s.Drop("g1"); err != nil {
		t.Fatal(err)
	}
	n := 0
	s.Scan("g1", "SRCode", func([]byte, Entry) error { n++; return nil })
	s.Scan("g1", "SRCodeX", func([]byte, Entry) error { n++; return nil })
	if cp, _ := s.Checkpoint("g1"); n != 0 || cp != nil {
		t.Errorf("after drop: %d keys, checkpoint %q", n, cp)
	}
	if _, ok, _ := s.Get("g2", "SRCode", []byte{3}); !ok {
		t.Error("drop of g1 removed g2's state")
	}
}

// Killed at any moment (SIGKILL, no chance to close), the store holds
// exactly the batches up to its checkpoint: a batch's changes and its
// checkpoint are one atomic, durable write.
func TestKilledStoreKeepsBatchesWhole(t *testing.T) {
	if dir := os.Getenv("TABLESTATE_WRITER"); dir != "" {
		s, err := Open(dir, Options{})
		if err != nil {
			os.Exit(2)
		}
		for n := 1; ; n++ { // batch n puts keys 0..99 with value n
			b := s.NewBatch("g")
			for k := range 100 {
				b.Put("SRCode", []byte{byte(k)}, entry(n))
			}
			if err := b.Commit([]byte(strconv.Itoa(n))); err != nil {
				os.Exit(3)
			}
		}
	}
	dir := t.TempDir()
	for round, after := range []time.Duration{30, 80, 150, 250} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledStoreKeepsBatchesWhole$")
		cmd.Env = append(os.Environ(), "TABLESTATE_WRITER="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		s := open(t, dir)
		raw, _ := s.Checkpoint("g")
		cp, _ := strconv.Atoi(string(raw))
		n := 0
		s.Scan("g", "SRCode", func(k []byte, e Entry) error {
			if e != entry(cp) {
				t.Errorf("round %d: key %d holds batch %d, the checkpoint is %d", round, k[0], binary.BigEndian.Uint64(e.Hash[:]), cp)
			}
			n++
			return nil
		})
		if cp > 0 && n != 100 {
			t.Errorf("round %d: %d keys at checkpoint %d", round, n, cp)
		}
		s.Close()
		t.Logf("round %d: killed at checkpoint %d", round, cp)
	}
}

// BenchmarkStorePut writes keys the way a first publish of a full file
// does (one batch per transaction of 10,000 rows), and reports the store's
// size on disk per million keys.
func BenchmarkStorePut(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 0, 32)
	var batch *Batch
	for i := 0; i < b.N; i++ {
		if i%10000 == 0 {
			if batch != nil {
				batch.Commit([]byte("cp"))
			}
			batch = s.NewBatch("g")
		}
		key = binary.BigEndian.AppendUint64(append(key[:0], "\x0cA81001"...), uint64(20890171236+i))
		batch.Put("SRCode", key, entry(i))
	}
	batch.Commit([]byte("cp"))
	s.db.Flush()
	s.Close()
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	if b.N >= 100000 {
		b.ReportMetric(float64(size)/float64(b.N)*1e6/(1<<20), "MiB/Mkeys")
	}
}
