package producer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sragent/sragent/schemas/srgen"
)

// The runbook's recoveries work as written, without `chain resume`: a
// quarantined batch, fixed and copied back into the input folder,
// publishes and the chain goes on; a lost delta, dropped in later, fills
// the gap and the chain goes on. A batch copied back still bad is
// quarantined again; the batch behind a gap stays halted until the gap is
// filled.
func TestRecoveriesFromTheRunbook(t *testing.T) {
	ctx := context.Background()
	outcomes := func(p *Pass) map[string]string {
		got := map[string]string{}
		for _, b := range p.Batches {
			got[b.Batch] = b.Outcome.String()
		}
		return got
	}
	t.Run("quarantined batch fixed and copied back", func(t *testing.T) {
		e := newEnv(t)
		g := e.chain(srgen.Options{Seed: 7, Groups: 1, Orgs: 1, Batches: 3, Rows: 20, Zip: true})
		zipPath := filepath.Join(e.in, "group1", g.BatchName(1), "SRExtract.zip")
		good, err := os.ReadFile(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(zipPath, good[:len(good)/2], 0o644) // truncated
		pass := e.mustRun(ctx)
		if got := outcomes(pass); got[g.BatchName(1)] != "invalid" || got[g.BatchName(2)] != "halted" {
			t.Fatalf("%v", got)
		}
		// Copied back as it was, still bad: quarantined again.
		back := filepath.Join(e.in, "group1", g.BatchName(1))
		mustCopy(t, filepath.Join(e.quarantine, "group1", g.BatchName(1)), back)
		os.Remove(filepath.Join(back, ErrorFile))
		pass = e.mustRun(ctx)
		if got := outcomes(pass); got[g.BatchName(1)] != "invalid" || got[g.BatchName(2)] != "halted" || pass.Batches[0].MovedTo == "" {
			t.Fatalf("copied back still bad: %v", got)
		}
		// Fixed (the zip delivered again) and copied back.
		mustCopy(t, pass.Batches[0].MovedTo, back)
		os.Remove(filepath.Join(back, ErrorFile))
		if err := os.WriteFile(filepath.Join(back, "SRExtract.zip"), good, 0o644); err != nil {
			t.Fatal(err)
		}
		pass = e.mustRun(ctx)
		if got := outcomes(pass); got[g.BatchName(1)] != "published" || got[g.BatchName(2)] != "published" || len(pass.Halted) != 0 {
			t.Fatalf("fixed and copied back: %v %v", got, pass.Halted)
		}
	})
	t.Run("lost delta dropped in", func(t *testing.T) {
		e := newEnv(t)
		g := e.chain(srgen.Options{Seed: 8, Groups: 1, Orgs: 1, Batches: 3, Rows: 20, Tables: []string{"SRPatient", "SRCode"}})
		lost := filepath.Join(e.in, "group1", g.BatchName(1))
		aside := filepath.Join(t.TempDir(), g.BatchName(1))
		if err := os.Rename(lost, aside); err != nil {
			t.Fatal(err)
		}
		if got := outcomes(e.mustRun(ctx)); got[g.BatchName(2)] != "halted" {
			t.Fatalf("%v", got)
		}
		// Still halted on the next pass, nothing new.
		if pass := e.mustRun(ctx); len(pass.Halted) != 1 {
			t.Fatalf("second pass: %+v", pass)
		}
		if err := os.Rename(aside, lost); err != nil {
			t.Fatal(err)
		}
		pass := e.mustRun(ctx)
		if got := outcomes(pass); got[g.BatchName(1)] != "published" || got[g.BatchName(2)] != "published" || len(pass.Halted) != 0 {
			t.Fatalf("the lost delta dropped in: %v %v", got, pass.Halted)
		}
	})
}

func mustCopy(t *testing.T, src, dst string) {
	t.Helper()
	if err := copyDir(src, dst); err != nil {
		t.Fatal(err)
	}
}
