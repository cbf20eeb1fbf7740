package producer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// A crash inside a reconciled full file, then state.dir lost: the store is
// rebuilt from the topics, which do not hold the file's unchanged rows;
// the resume marks the committed rows as held again, so only the row that
// really vanished is deleted.
func TestRebuildThenResumeKeepsUnchangedRows(t *testing.T) {
	midFile := 0
	for failAt := int64(2); failAt <= 12 && midFile < 3; failAt++ {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			e := newFakeEnv(t)
			e.cfg.TxnRecords = 3
			e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.5}
			ctx := context.Background()
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 10, "n", "")})
			e.mustRun(ctx)
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 9, "n", "")})
			failProduce(e.k.Fake, failAt)
			if _, err := e.run(ctx); err == nil {
				return // the failure came too late
			}
			if prog := e.state(ctx).Progress("g1"); prog.Done || prog.Line == 0 {
				return // not inside the file
			}
			midFile++
			if err := os.RemoveAll(e.stateDir); err != nil {
				t.Fatal(err)
			}
			pass := e.mustRun(ctx)
			if b := pass.Batches; len(b) != 1 || b[0].Vanished != 1 || b[0].VanishedDeleted != 1 {
				t.Fatalf("after the rebuild and resume: %+v", pass.Batches)
			}
			want := ids("A1", 1, 9)
			slices.Sort(want)
			if got := keysOf(rebuiltNames(t, e, "SRPatient", "FirstName")); !slices.Equal(got, want) {
				t.Errorf("the rebuilt table holds %v, want %v", got, want)
			}
		})
	}
	if midFile == 0 {
		t.Fatal("no failure interrupted the file: the resume after a rebuild went untested")
	}
}

// After a rebuild the store does not know which keys another group sent
// again unchanged (suppressed, so not on the topics): until that group
// publishes a full file of the table, nothing it might hold is deleted.
func TestRebuildHoldingsIncomplete(t *testing.T) {
	e := newEnv(t)
	e.reconcile = ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
	ctx := context.Background()
	e.batchOf("g1", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(1, 2, 3, 4)})
	e.batchOf("g2", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(3, 4)}) // all suppressed
	e.mustRun(ctx)
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	e.batchOf("g1", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(1, 2)})
	pass := e.mustRun(ctx)
	if b := pass.Batches; len(b) != 1 || b[0].Vanished != 2 || b[0].VanishedDeleted != 0 || !hasWarning(b[0].Result, "group(s) g2 have not published") {
		t.Fatalf("g1 after the rebuild: %+v", pass.Batches)
	}
	// g2's full file completes its holdings; g1's next one deletes only
	// what neither holds.
	e.batchOf("g2", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(3)})
	e.mustRun(ctx)
	e.batchOf("g1", "20240103_0300", "", tableFile{"SRStaffMember", true, staff(1, 2)})
	if b := e.mustRun(ctx).Batches; len(b) != 1 || b[0].VanishedDeleted != 1 {
		t.Errorf("g1 once g2's holdings are known: %+v", b)
	}
	if got := keysOf(rebuiltNames(t, e, "SRStaffMember", "StaffName")); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("the rebuilt table holds %v, want [1 2 3]", got)
	}
}

func hasWarning(r Result, text string) bool {
	for _, p := range r.Problems {
		if p.Severity == SeverityWarning && strings.Contains(p.Reason, text) {
			return true
		}
	}
	return false
}
