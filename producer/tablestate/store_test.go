package tablestate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
	e := Entry{Window: int64(n) * 1000, Groups: uint64(1) << (n % 3)}
	binary.BigEndian.PutUint64(e.Hash[:], uint64(n))
	return e
}

// A batch's changes are visible through it at once, in the store only
// after Commit (with its group's checkpoint), and never after Discard.
// Tables never see each other's keys, even with the same key bytes; two
// groups writing one key see each other's writes (the last one wins).
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
		if got, ok, _ := s.Get(tc.table, key); ok && got == entry(tc.n) {
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
		table string
		want  int // 0: absent
	}{{"SRCode", 2}, {"SRCodeX", 3}, {"SRPatient", 0}} {
		got, ok, err := s.Get(tc.table, key)
		if err != nil || ok != (tc.want != 0) || (ok && got != entry(tc.want)) {
			t.Errorf("%s: %+v %v %v, want entry %d", tc.table, got, ok, err, tc.want)
		}
	}
	for g, want := range map[string]string{"g1": "cp-3", "g2": "cp-2"} {
		if cp, _ := s.Checkpoint(g); string(cp) != want {
			t.Errorf("%s checkpoint %q, want %q", g, cp, want)
		}
	}
	// A delete in a later batch, and the batch's own view of it.
	b := s.NewBatch("g1")
	b.Delete("SRCode", key)
	if _, ok, _ := b.Get("SRCode", key, false); ok {
		t.Error("deleted key still visible through the batch")
	}
	b.Commit([]byte("cp-5"))
	if _, ok, _ := s.Get("SRCode", key); ok {
		t.Error("deleted key still in the store")
	}
}

// Scan lists exactly one table's keys in order; Reset empties the store
// and records the checkpoints it is given.
func TestScanAndReset(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	b := s.NewBatch("g1")
	for i := 9; i >= 0; i-- {
		b.Put("SRCode", []byte{byte(i)}, entry(i))
		b.Put("SRCodeX", []byte{byte(i)}, entry(i))
	}
	b.Commit([]byte("cp"))
	var keys []byte
	s.Scan("SRCode", func(k []byte, e Entry) error {
		if e != entry(int(k[0])) {
			t.Errorf("key %v: %+v", k, e)
		}
		keys = append(keys, k...)
		return nil
	})
	if !bytes.Equal(keys, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("scan: %v", keys)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := s.Rebuilt(map[string][]byte{"g2": []byte("now")}, nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	s.Scan("SRCode", func([]byte, Entry) error { n++; return nil })
	s.Scan("SRCodeX", func([]byte, Entry) error { n++; return nil })
	cp1, _ := s.Checkpoint("g1")
	cp2, _ := s.Checkpoint("g2")
	if groups, _ := s.Groups(); n != 0 || cp1 != nil || string(cp2) != "now" || len(groups) != 1 {
		t.Errorf("after reset: %d keys, checkpoints %q %q, groups %v", n, cp1, cp2, groups)
	}
}

// A dry batch holds its changes in memory up to its limit and writes
// nothing; past the limit it finds no key at all (it predicts changes,
// never a wrong suppression).
func TestDryBatch(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	b := s.NewBatch("g")
	b.Put("SRCode", []byte{1}, entry(1))
	b.Commit([]byte("cp"))
	d := s.NewDryBatch("g", 3)
	d.Put("SRCode", []byte{2}, entry(2))
	if e, ok, _ := d.Get("SRCode", []byte{1}, false); !ok || e != entry(1) {
		t.Errorf("the store's key through the dry batch: %+v %v", e, ok)
	}
	if e, ok, _ := d.Get("SRCode", []byte{2}, true); !ok || e != entry(2) {
		t.Errorf("the dry batch's own key: %+v %v", e, ok)
	}
	for i := 3; i < 6; i++ {
		d.Put("SRCode", []byte{byte(i)}, entry(i))
	}
	if _, ok, _ := d.Get("SRCode", []byte{1}, false); ok {
		t.Error("a full dry batch still finds keys")
	}
	d.Discard()
	if _, ok, _ := s.Get("SRCode", []byte{2}); ok {
		t.Error("a dry batch wrote to the store")
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
		s.Scan("SRCode", func(k []byte, e Entry) error {
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

// A scan sees the store's keys under its prefixes with the batch's
// changes over them (a put replaces, a delete hides), then the keys only
// the batch holds; never another prefix's or another table's keys. A dry
// batch scans the same way.
func TestBatchScan(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	b := s.NewBatch("g1")
	for _, k := range []string{"a1", "a2", "a3", "b1", "c1"} {
		if err := b.Put("T", []byte(k), entry(int(k[1]-'0'))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put("U", []byte("a9"), entry(9)); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit([]byte("cp")); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{false, true} {
		b := s.NewBatch("g1")
		if dry {
			b = s.NewDryBatch("g1", 100)
		}
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(b.Put("T", []byte("a2"), entry(7)))
		must(b.Delete("T", []byte("a3")))
		must(b.Put("T", []byte("a5"), entry(5)))
		must(b.Put("T", []byte("b2"), entry(2)))
		must(b.Put("T", []byte("d1"), entry(1)))
		var got []string
		err := b.Scan("T", [][]byte{[]byte("a"), []byte("b")}, func(i int, k []byte, e Entry) error {
			got = append(got, strconv.Itoa(i)+":"+string(k)+"="+strconv.Itoa(int(e.Window/1000)))
			return nil
		})
		must(err)
		want := "[0:a1=1 0:a2=7 1:b1=1 0:a5=5 1:b2=2]"
		if g := fmt.Sprint(got); g != want {
			t.Errorf("dry %t: scan %s, want %s", dry, g, want)
		}
		b.Discard()
	}
}

// A group's bit is assigned once and kept (across a reopen); a read-only
// store assigns new bits in memory only; the 65th group is an error, not
// a shared bit.
func TestGroupBits(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	seen := map[uint64]bool{}
	for i := range MaxGroups {
		bit, err := s.GroupBit("g" + strconv.Itoa(i))
		if err != nil || bit == 0 || seen[bit] {
			t.Fatalf("group %d: bit %x %v", i, bit, err)
		}
		seen[bit] = true
	}
	if _, err := s.GroupBit("one too many"); err == nil {
		t.Error("a 65th group got a bit")
	}
	g5, _ := s.GroupBit("g5")
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if bit, _ := s.GroupBit("new"); bit != 1 {
		t.Errorf("after a reset the first group gets bit %x, want 1", bit)
	}
	if bit, _ := s.GroupBit("g5"); bit != 2 {
		t.Errorf("after a reset g5 gets bit %x (had %x), want 2", bit, g5)
	}
	s.Close()
	s = open(t, dir)
	if bit, _ := s.GroupBit("g5"); bit != 2 {
		t.Errorf("after a reopen g5 has bit %x, want 2", bit)
	}
	s.Close()
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if bit, err := ro.GroupBit("dry"); err != nil || bit != 4 {
		t.Errorf("read-only: bit %x %v, want 4", bit, err)
	}
	ro.Close()
	s = open(t, dir)
	defer s.Close()
	if bit, _ := s.GroupBit("other"); bit != 4 {
		t.Errorf("the read-only store wrote its bit: the next group gets %x, want 4", bit)
	}
}

// A store of format v5 (checkpoints under 'c') still names its groups and
// their checkpoints, so the owner finds it does not match and rebuilds it,
// and Reset removes them: otherwise its keys would be trusted against a
// state topic that has no group (a new cluster).
func TestV5CheckpointsFound(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	if err := s.db.Set([]byte("cg1"), []byte("v5-old"), nil); err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch("g2")
	b.Put("SRCode", []byte{1}, entry(1))
	b.Commit([]byte("v6-new"))
	groups, _ := s.Groups()
	cp1, _ := s.Checkpoint("g1")
	cp2, _ := s.Checkpoint("g2")
	if len(groups) != 2 || string(cp1) != "v5-old" || string(cp2) != "v6-new" {
		t.Fatalf("groups %v, checkpoints %q %q", groups, cp1, cp2)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if groups, _ := s.Groups(); len(groups) != 0 {
		t.Errorf("after reset: groups %v", groups)
	}
}

// Transactions of keys in key order (a full file sorted by its key), each
// with its checkpoint, are not rewritten again and again by compactions:
// what L6 is written stays under twice the store's size (before the
// checkpoints sorted after the rows: three times, growing with the store).
func TestKeyOrderWritesL6Once(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var k [8]byte
	for i := 0; i < 1_000_000; {
		b := s.NewBatch("group1")
		for j := 0; j < 50_000; j++ {
			binary.BigEndian.PutUint64(k[:], uint64(i)*7919+1e12)
			i++
			if err := b.Put("SREvent", append([]byte("org1\x00"), k[:]...), entry(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(fmt.Appendf(nil, "checkpoint %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.db.Metrics().Compact.NumInProgress > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	m := s.db.Metrics()
	size, written := uint64(m.Total().TablesSize), m.Levels[6].TableBytesCompacted
	if written > 2*size {
		t.Errorf("compactions wrote %d MiB to L6 for a store of %d MiB", written>>20, size>>20)
	} else if testing.Verbose() {
		t.Logf("compactions wrote %d MiB to L6 for a store of %d MiB", written>>20, size>>20)
	}
}

// A batch sees its own changes whatever order keys come in (a run in key
// order, the others apart), and commits them all.
func TestBatchChangesAnyOrder(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	b := s.NewBatch("g1")
	model := map[byte]*Entry{}
	for step := 0; step < 3000; step++ {
		k := byte(rng.IntN(64))
		if step < 500 {
			k = byte(step / 8) // ascending, with repeats
		}
		switch rng.IntN(3) {
		case 0:
			if err := b.Delete("SRCode", []byte{k}); err != nil {
				t.Fatal(err)
			}
			model[k] = nil
		default:
			e := entry(step)
			if err := b.Put("SRCode", []byte{k}, e); err != nil {
				t.Fatal(err)
			}
			model[k] = &e
		}
		probe := byte(rng.IntN(64))
		got, found, err := b.Get("SRCode", []byte{probe}, true)
		want, ok := model[probe]
		if err != nil || found != (ok && want != nil) || (found && got != *want) {
			t.Fatalf("step %d, key %d: %+v %t %v, want %+v", step, probe, got, found, err, want)
		}
	}
	held := 0
	if err := b.Scan("SRCode", [][]byte{nil}, func(_ int, key []byte, e Entry) error {
		if want := model[key[0]]; want == nil || *want != e {
			t.Errorf("scan: key %d %+v, want %+v", key[0], e, want)
		}
		held++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit([]byte("cp")); err != nil {
		t.Fatal(err)
	}
	for k, want := range model {
		e, found, err := s.Get("SRCode", []byte{k})
		if err != nil || found != (want != nil) || (found && e != *want) {
			t.Errorf("store: key %d %+v %t %v, want %+v", k, e, found, err, want)
		}
		if want != nil {
			held--
		}
	}
	if held != 0 {
		t.Errorf("scan saw %d keys more than the model holds", held)
	}
}
