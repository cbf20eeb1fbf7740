package producer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/schemas/srgen"
)

// A re-delivered batch is judged by its bytes, not only its manifest: the
// same files are a duplicate and dropped, other files are a conflict and
// quarantined; the archived copy is never replaced, and its SHA256SUMS
// are the bytes that were published.
func TestRedeliveryJudgedByBytes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(dir string)
		want   Outcome
	}{
		{"same bytes", func(string) {}, Duplicate},
		{"a row changed", func(dir string) {
			path := filepath.Join(dir, "SRPatient.csv")
			raw, _ := os.ReadFile(path)
			os.WriteFile(path, bytes.Replace(raw, []byte("\n3,A1,Pat"), []byte("\n3,A1,Pxt"), 1), 0o644)
		}, Conflict},
		{"a file added", func(dir string) {
			os.WriteFile(filepath.Join(dir, "SRMapping.csv"), []byte("RowIdentifier,Name\r\n1,x\r\n"), 0o644)
		}, Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.patientBatch("20240101_0300", "", "20240101_0300", 10)
			e.mustRun(ctx)
			archived := filepath.Join(e.archive, "g1", "20240101_0300")
			checkSums(t, archived)
			original, _ := os.ReadFile(filepath.Join(archived, "SRPatient.csv"))
			before := len(e.consume(e.cfg.TopicFor("SRPatient")))

			redo := filepath.Join(e.in, "g1", "20240101_0300")
			if err := copyDir(archived, redo); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(redo, ChecksumFile))
			tc.change(redo)
			pass := e.mustRun(ctx)
			if len(pass.Batches) != 1 || pass.Batches[0].Outcome != tc.want {
				t.Fatalf("%+v", pass.Batches)
			}
			if got, _ := os.ReadFile(filepath.Join(archived, "SRPatient.csv")); !bytes.Equal(got, original) {
				t.Error("the archived copy was replaced")
			}
			checkSums(t, archived)
			if _, err := os.Stat(redo); !os.IsNotExist(err) {
				t.Errorf("the re-delivery is still in the input: %v", err)
			}
			if tc.want == Conflict && (!strings.HasPrefix(pass.Batches[0].MovedTo, e.quarantine) ||
				!strings.Contains(pass.Batches[0].Reason, "differs from the published file")) {
				t.Errorf("conflict: %+v", pass.Batches[0])
			}
			if after := len(e.consume(e.cfg.TopicFor("SRPatient"))); after != before {
				t.Errorf("the re-delivery produced %d records", after-before)
			}
		})
	}
}

// checkSums verifies an archived batch against its SHA256SUMS, as
// `sha256sum -c` would: every file listed, every sum right.
func checkSums(t *testing.T, dir string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, ChecksumFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		b, err := os.ReadFile(filepath.Join(dir, name))
		if h := sha256.Sum256(b); err != nil || hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: SHA256SUMS says %s (%v)", name, sum, err)
		}
		listed[name] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if en.Name() != ChecksumFile && !listed[en.Name()] {
			t.Errorf("%s is not in SHA256SUMS", en.Name())
		}
	}
}

// A half-published batch resumes only over the bytes it was first
// published from: a file changed in between halts the chain and publishes
// nothing more; put back as it was, the batch finishes exactly once.
func TestResumeOverChangedFileHalts(t *testing.T) {
	ctx := context.Background()
	e, path, original := changedHalfPublished(t)
	before := len(e.consume(e.cfg.TopicFor("SRPatient")))
	pass := e.mustRun(ctx)
	if len(pass.Batches) != 1 || pass.Batches[0].Outcome != Halted ||
		!strings.Contains(pass.Batches[0].Reason, "SRPatient.csv differs from the copy of the batch that was partly published") {
		t.Fatalf("%+v", pass.Batches)
	}
	if after := len(e.consume(e.cfg.TopicFor("SRPatient"))); after != before {
		t.Fatalf("%d records published from the changed file", after-before)
	}
	if prog := e.state(ctx).Progress("g1"); prog.Halted == "" || prog.Done {
		t.Fatalf("not halted: %+v", prog)
	}

	// Checked again at the next pass (without reading the files: their
	// sizes differ), the same halt writes nothing.
	end := e.stateEnd()
	if pass := e.mustRun(ctx); len(pass.Batches) != 1 || pass.Batches[0].Outcome != Halted {
		t.Fatalf("second pass: %+v", pass.Batches)
	}
	if now := e.stateEnd(); now != end {
		t.Errorf("the same halt wrote %d more state records", now-end)
	}

	os.WriteFile(path, original, 0o644)
	pass = e.mustRun(ctx)
	if len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("with the file back: %+v", pass.Batches)
	}
	if rows := rowEvents(t, e.consume(e.cfg.TopicFor("SRPatient"))); len(rows) != 2000 {
		t.Errorf("%d rows published, the file has 2000", len(rows))
	}
	if prog := e.state(ctx).Progress("g1"); prog.Halted != "" || prog.Changed || !prog.Done {
		t.Errorf("after the batch finished: %+v", prog)
	}
}

// Giving up a half-published batch whose files changed (`chain resume`)
// never publishes it again: still in the input, it is moved to the
// quarantine with what was committed, the chain is not halted again, and
// the next batch publishes in the same pass.
func TestGiveUpChangedBatch(t *testing.T) {
	ctx := context.Background()
	e, _, _ := changedHalfPublished(t)
	if pass := e.mustRun(ctx); len(pass.Batches) != 1 || pass.Batches[0].Outcome != Halted {
		t.Fatalf("%+v", pass.Batches)
	}
	before := rowEvents(t, e.consume(e.cfg.TopicFor("SRPatient")))
	if _, err := RequestResume(ctx, e.cfg, "g1", "test"); err != nil {
		t.Fatal(err)
	}
	e.patientBatch("20240102_0300", "20240101_0300", "20240102_0300", 10)
	pass := e.mustRun(ctx)
	if len(pass.Batches) != 2 || pass.Batches[0].Outcome != Conflict || pass.Batches[1].Outcome != Published || len(pass.Halted) != 0 {
		t.Fatalf("%+v %v", pass.Batches, pass.Halted)
	}
	text, _ := os.ReadFile(filepath.Join(pass.Batches[0].MovedTo, ErrorFile))
	if !strings.Contains(string(text), "before `sragent chain resume` gave it up") {
		t.Errorf("error.txt:\n%s", text)
	}
	after := rowEvents(t, e.consume(e.cfg.TopicFor("SRPatient")))
	if len(after) != len(before)+10 {
		t.Errorf("%d rows before the give-up, %d after: the given-up batch was published again", len(before), len(after))
	}
	if prog := e.state(ctx).Progress("g1"); prog.Halted != "" || prog.Batch != "20240102_0300" || !prog.Done {
		t.Errorf("%+v", prog)
	}
}

// A zipped batch's SHA256SUMS covers the zip and the loose files.
func TestZipBatchChecksums(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 8, Groups: 1, Orgs: 1, Batches: 2, Rows: 20, Zip: true})
	e.mustRun(context.Background())
	for b := range 2 {
		dir := filepath.Join(e.archive, "group1", g.BatchName(b))
		if _, err := os.Stat(filepath.Join(dir, "SRExtract.zip")); err != nil {
			t.Fatal(err)
		}
		checkSums(t, dir)
	}
}

// stateEnd is the end offset of the state topic.
func (e *env) stateEnd() int64 {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.k.Brokers...))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), e.cfg.StateTopic())
	if err != nil {
		e.t.Fatal(err)
	}
	o, _ := ends.Lookup(e.cfg.StateTopic(), 0)
	return o.Offset
}

// changedHalfPublished half-publishes a 2,000-row SRPatient batch and then
// changes a row of it; it returns the file and its original bytes.
func changedHalfPublished(t *testing.T) (*env, string, []byte) {
	e := halfPublished(t, "g1", func(e *env) {
		e.cfg.TxnRecords = 100
		e.patientBatch("20240101_0300", "", "20240101_0300", 2000)
	})
	path := filepath.Join(e.in, "g1", "20240101_0300", "SRPatient.csv")
	original, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(original, []byte("\n3,A1,Pat"), []byte("\n3,A1,Pxt"), 1), 0o644)
	return e, path, original
}
