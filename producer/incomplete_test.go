package producer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// batchMissingSRCode writes batch g1/20240102_1707, whose manifest lists
// an SRCode.csv that is not there, and returns its folder and manifest.
func (e *env) batchMissingSRCode() (dir, man string) {
	e.t.Helper()
	e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 2, "Ann", "")})
	dir = filepath.Join(e.in, "g1", "20240102_1707")
	man = filepath.Join(dir, "SRManifest.csv")
	raw, _ := os.ReadFile(man)
	if err := os.WriteFile(man, append(raw, "SRCode,N,N,,20240102_1707\r\n"...), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return dir, man
}

// A batch whose manifest lists a file that never arrives is not left to
// wait silently: it is incomplete with an error naming the file (so
// validate fails) and /readyz says so; once nothing changed in its folder
// for input.incomplete_after it is quarantined, error.txt naming the file,
// and the chain halts.
func TestIncompleteBatchIsQuarantinedAfterIncompleteAfter(t *testing.T) {
	e := newEnv(t)
	dir, man := e.batchMissingSRCode()
	// Moved in whole, its files keep times from two hours ago: the wait
	// counts from when the agent first saw it.
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range []string{man, filepath.Join(dir, "SRPatient.csv"), dir} {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var offset time.Duration
	err := e.withAgent(ctx, []Opt{WithClock(func() time.Time { return time.Now().Add(offset) })}, func(a *Agent) error {
		for _, tt := range []struct {
			name    string
			after   time.Duration // since the agent first saw the folder
			outcome Outcome
		}{
			{"first seen", 0, Incomplete},
			{"within incomplete_after", 59 * time.Minute, Incomplete},
			{"after it", 61 * time.Minute, Invalid},
		} {
			offset = tt.after
			pass, err := a.RunOnce(ctx)
			if err != nil || len(pass.Batches) != 1 {
				t.Fatalf("%s: %+v %v", tt.name, pass, err)
			}
			incomplete := a.Incomplete()
			b := pass.Batches[0]
			var named bool
			for _, p := range b.Problems {
				named = named || (p.Severity == SeverityError && p.File == "SRCode.csv")
			}
			if b.Outcome != tt.outcome || !named || b.Events != 0 {
				t.Errorf("%s: %s %q %+v", tt.name, b.Outcome, b.Reason, b.Problems)
			}
			_, stillThere := os.Stat(man)
			switch tt.outcome {
			case Incomplete:
				if stillThere != nil || !strings.Contains(incomplete["g1"], "SRCode.csv is listed") || len(pass.Halted) != 0 {
					t.Errorf("%s: folder %v, incomplete %v, halted %v", tt.name, stillThere, incomplete, pass.Halted)
				}
			case Invalid:
				text, _ := os.ReadFile(filepath.Join(e.quarantine, "g1", "20240102_1707", ErrorFile))
				if stillThere == nil || !strings.Contains(string(text), "SRCode.csv was still missing 1h0m0s after the batch folder arrived or last changed") {
					t.Errorf("%s: folder %v; error.txt:\n%s", tt.name, stillThere, text)
				}
				if pass.Halted["g1"] == "" {
					t.Errorf("%s: the chain does not wait behind the quarantined batch", tt.name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.consume(e.cfg.TopicFor("SRPatient")); len(got) != 0 {
		t.Errorf("%d records published", len(got))
	}
}

// A folder that waited incomplete, went away and came back (its files'
// old times kept by the move) waits input.incomplete_after again.
func TestIncompleteBatchRedeliveredWaitsAgain(t *testing.T) {
	e := newEnv(t)
	dir, _ := e.batchMissingSRCode()
	away := filepath.Join(t.TempDir(), "away")
	ctx := context.Background()
	var offset time.Duration
	err := e.withAgent(ctx, []Opt{WithClock(func() time.Time { return time.Now().Add(offset) })}, func(a *Agent) error {
		for _, step := range []struct {
			after time.Duration
			move  [2]string // before the pass
			want  Outcome   // the batch's outcome (0, Published: not checked: the folder is away)
		}{
			{0, [2]string{}, Incomplete},
			{time.Hour, [2]string{dir, away}, 0},
			{3 * time.Hour, [2]string{away, dir}, Incomplete},
		} {
			if step.move[0] != "" {
				if err := os.Rename(step.move[0], step.move[1]); err != nil {
					t.Fatal(err)
				}
			}
			offset = step.after
			pass, err := a.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if step.want != 0 && (len(pass.Batches) != 1 || pass.Batches[0].Outcome != step.want) {
				t.Errorf("at %s: %+v, want %s", step.after, pass.Batches, step.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
