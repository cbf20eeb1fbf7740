package producer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
		// The halt says what happened once, then one line per table.
		st := e.state(ctx).Progress("group1")
		lines := strings.Split(st.Halted, "\n")
		if len(st.GapTables) == 0 || len(lines) != 1+len(st.GapTables) || strings.Count(st.Halted, "deltas were lost") != 1 {
			t.Fatalf("halt reason for %v:\n%s", st.GapTables, st.Halted)
		}
		for i, table := range st.GapTables {
			if !strings.HasPrefix(lines[i+1], "  "+table+" starts ") {
				t.Errorf("line %d of the halt reason: %q", i+2, lines[i+1])
			}
		}
		// A bad batch named before the gapped one is quarantined, and the
		// gap still halts the chain (the operator still sees the gap).
		bad := filepath.Join(e.in, "group1", g.BatchName(1))
		os.MkdirAll(bad, 0o755)
		os.WriteFile(filepath.Join(bad, "SRManifest.csv"), []byte("not a manifest\r\n"), 0o644)
		pass := e.mustRun(ctx)
		if got := outcomes(pass); got[g.BatchName(1)] != "invalid" || !strings.Contains(pass.Halted["group1"], "gap") {
			t.Fatalf("a bad batch before the gap: %v %v", got, pass.Halted)
		}
		if st := e.state(ctx).Progress("group1"); len(st.GapTables) == 0 || st.HaltedAt != g.BatchName(2) {
			t.Fatalf("the gap's halt was replaced: %+v", st)
		}
		if err := os.Rename(aside, lost); err != nil {
			t.Fatal(err)
		}
		pass = e.mustRun(ctx)
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

// A quarantined batch's halt reason is one short line (its first problem
// and how many more), not every problem of every file; error.txt lists
// each, one per line, with no position said twice.
func TestQuarantineReasonIsShort(t *testing.T) {
	e := newEnv(t)
	man := "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,N,N,,20240101_1707\r\nSRCode,N,N,,20240101_1707\r\nSREvent,N,N,,20240101_1707\r\n"
	dir := filepath.Join(e.in, "g1", "20240101_1707")
	files := map[string]string{"SRManifest.csv": man, "SRPatient.csv": "RowIdentifier,,x\r\n1,2,3\r\n",
		"SRCode.csv": "IDOrganisationVisibleTo\r\n1\r\n", "SREvent.csv": "RowIdentifier,IDOrganisationVisibleTo,\"unterminated\r\n"}
	os.MkdirAll(dir, 0o755)
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pass := e.mustRun(context.Background())
	reason := pass.Halted["g1"]
	if strings.Count(reason, "\n") > 0 || !strings.Contains(reason, "SRPatient.csv line 1") || !strings.Contains(reason, "2 more problems") ||
		strings.Contains(reason, "SRCode.csv") || len(reason) > 200 {
		t.Errorf("halt reason %q", reason)
	}
	text, err := os.ReadFile(filepath.Join(pass.Batches[0].MovedTo, ErrorFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SRPatient.csv line 1: header field 2: empty column name\n", "SRCode.csv line 1: header: no RowIdentifier column\n",
		"SREvent.csv line 1 column #3: header: quoted field not terminated before end of file\n"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("error.txt lacks %q:\n%s", want, text)
		}
	}
}

// Only a gap's and a quarantine's halts remember the batch they are at
// (and lift when the chain judges the batch that can lift them); a halt
// for a changed file waits for the operator, whatever is in the input.
func TestHaltedAtOnlyForGapsAndQuarantines(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.chain(srgen.Options{Seed: 9, Groups: 1, Orgs: 1, Batches: 1, Rows: 5, Tables: []string{"SRPatient"}})
	e.mustRun(ctx)
	for _, tc := range []struct {
		name string
		halt func(a *Agent) error
		want string
	}{
		{"changed file", func(a *Agent) error {
			return a.pub.halt(ctx, "group1", "B", Result{Outcome: Halted, Reason: "SRPatient.csv changed; nothing of the batch is committed"})
		}, ""},
		{"gap", func(a *Agent) error {
			return a.pub.halt(ctx, "group1", "B", Result{Outcome: Halted, Reason: "gap", GapTables: []string{"SRPatient"}})
		}, "B"},
		{"quarantine", func(a *Agent) error { return a.pub.Halt(ctx, "group1", "Q", "batch Q was quarantined", nil) }, "Q"},
	} {
		var got string
		if err := e.withAgent(ctx, nil, func(a *Agent) error {
			err := tc.halt(a)
			got = a.State().Progress("group1").HaltedAt // as committed
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: HaltedAt %q, want %q", tc.name, got, tc.want)
		}
	}
}
