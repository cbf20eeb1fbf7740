package producer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// A table file truncated or appended to while it is being published is
// caught before anything that ends it commits: no snapshot_end, no END,
// the batch stays where it is and the chain halts with the reason.
func TestFileChangedDuringPublish(t *testing.T) {
	for _, change := range []string{"truncate", "append"} {
		t.Run(change, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.TxnRecords = 5000
			// Rows enough that the read stage is still reading when the
			// file changes (it reads up to chunksAhead chunks ahead).
			e.patientBatch("20240101_0300", "", "20240101_0300", 8192+(chunksAhead+4)*chunkRows)
			path := filepath.Join(e.in, "g1", "20240101_0300", "SRPatient.csv")
			var once atomic.Bool
			progress := func(_, _, _ string, _, _, n int64, _ bool) {
				if n < 8192 || !once.CompareAndSwap(false, true) {
					return
				}
				fi, _ := os.Stat(path)
				if change == "truncate" {
					os.Truncate(path, fi.Size()/2)
					return
				}
				f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString("99999,A1,Late,0\r\n")
				f.Close()
			}
			pass, err := e.runWith(context.Background(), WithProgress(progress))
			if err != nil {
				t.Fatal(err)
			}
			if len(pass.Batches) != 1 || pass.Batches[0].Outcome != Halted || !strings.Contains(pass.Batches[0].Reason, "SRPatient.csv changed while it was being published") ||
				pass.Halted["g1"] == "" {
				t.Fatalf("%+v", pass)
			}
			if _, err := os.Stat(path); err != nil {
				t.Error("the batch moved")
			}
			for _, ev := range e.consume(e.cfg.TopicFor("SRPatient"), e.cfg.BatchesTopic()) {
				if ev.marker == "snapshot_end" || ev.value != nil && ev.value["status"] == "END" {
					t.Fatalf("%s committed for a changed file", ev.marker+fmtStatus(ev.value))
				}
			}
		})
	}
}

func fmtStatus(v map[string]any) string {
	if s, ok := v["status"].(string); ok {
		return s
	}
	return ""
}

// A half-published batch that is then quarantined says in error.txt what
// of it was committed, not that nothing was.
func TestQuarantinedHalfPublishedSaysWhatWasCommitted(t *testing.T) {
	ctx := context.Background()
	e := halfPublished(t, "g1", func(e *env) {
		e.cfg.TxnRecords = 100
		e.patientBatch("20240101_0300", "", "20240101_0300", 2000)
	})
	prog := e.state(ctx).Progress("g1")
	man := filepath.Join(e.in, "g1", "20240101_0300", "SRManifest.csv")
	raw, _ := os.ReadFile(man)
	os.WriteFile(man, []byte(strings.ReplaceAll(string(raw), "\r\n", "\n")), 0o644) // another manifest
	pass := e.mustRun(ctx)
	if len(pass.Batches) != 1 || pass.Batches[0].Outcome != Conflict {
		t.Fatalf("%+v", pass.Batches)
	}
	text, err := os.ReadFile(filepath.Join(pass.Batches[0].MovedTo, ErrorFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "PART of this batch was published before") || strings.Contains(string(text), "Nothing of this batch") ||
		!strings.Contains(string(text), "resumes at line "+strconv.FormatInt(prog.Line, 10)) {
		t.Errorf("error.txt:\n%s", text)
	}
	// Giving the rest up, as error.txt says, lets the next batch go.
	if _, err := RequestResume(ctx, e.cfg, "g1", "test"); err != nil {
		t.Fatal(err)
	}
	e.patientBatch("20240102_0300", "20240101_0300", "20240102_0300", 10)
	if pass := e.mustRun(ctx); len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("after giving the batch up: %+v", pass.Batches)
	}
}

// A kill while the source of a published batch was being deleted (the
// last step of a move across volumes) leaves a half-deleted folder; the
// next pass finishes the move instead of waiting for it for ever.
func TestHalfDeletedSourceFinished(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.patientBatch("20240101_0300", "", "20240101_0300", 10)
	e.patientBatch("20240102_0300", "20240101_0300", "20240102_0300", 10)
	e.mustRun(ctx)
	src := filepath.Join(e.in, "g1", "20240101_0300")
	if err := copyDir(filepath.Join(e.archive, "g1", "20240101_0300"), src); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(src, "SRPatient.csv")) // deleted before the kill
	e.patientBatch("20240103_0300", "20240102_0300", "20240103_0300", 10)
	pass := e.mustRun(ctx)
	if len(pass.Batches) != 2 || pass.Batches[0].Outcome != Duplicate || pass.Batches[1].Outcome != Published {
		t.Fatalf("%+v", pass.Batches)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the half-deleted source is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.archive, "g1", "20240101_0300", "SRPatient.csv")); err != nil {
		t.Errorf("the archived copy was touched: %v", err)
	}
	// A re-delivery of a published batch still arriving (a file that is
	// not the archived one) is not taken for a stopped delete.
	if err := copyDir(filepath.Join(e.archive, "g1", "20240102_0300"), filepath.Join(e.in, "g1", "20240102_0300")); err != nil {
		t.Fatal(err)
	}
	redo := filepath.Join(e.in, "g1", "20240102_0300")
	os.WriteFile(filepath.Join(redo, "SRPatient.csv"), []byte("RowIdentifier,IDOr"), 0o644) // being copied
	os.Remove(filepath.Join(redo, "SRManifest.csv"))
	e.mustRun(ctx)
	if _, err := os.Stat(filepath.Join(redo, "SRPatient.csv")); err != nil {
		t.Errorf("a re-delivery in progress was deleted: %v", err)
	}
}

// halfPublished returns an env (on kfake) whose group is half-published
// inside a file: setup writes the input, then a pass fails at the n-th
// produce request, for growing n until one stops inside a file (when
// requests are cut depends on timing).
func halfPublished(t *testing.T, group string, setup func(*env)) *env {
	t.Helper()
	ctx := context.Background()
	for _, n := range []int64{2, 3, 4, 6, 8, 12, 16, 24, 32, 48} {
		e := newFakeEnv(t)
		setup(e)
		failProduce(e.k.Fake, n)
		if _, err := e.run(ctx); err == nil {
			continue // finished before the failure
		}
		if prog := e.state(ctx).Progress(group); !prog.Done && prog.Line > 0 {
			return e
		}
	}
	t.Fatal("no injected failure left the batch half-published inside a file")
	return nil
}
