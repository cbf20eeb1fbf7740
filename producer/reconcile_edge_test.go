package producer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Each group's full file marks its own keys: another group's full file of
// the same shared table published between two transactions of one
// group's file (a failure, then the other group's batch, then the resume)
// does not make the first group's keys look vanished, and a key the first
// group still holds is never deleted by the other.
func TestReconcileMarksArePerGroup(t *testing.T) {
	all := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	interrupted, finished := 0, false
	for failAt := int64(2); !finished && failAt <= 40; failAt++ {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			e := newFakeEnv(t)
			e.reconcile = ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
			ctx := context.Background()
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(all...)})
			e.batchOf("g2", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(all...)})
			e.mustRun(ctx)
			e.cfg.TxnRecords = 3
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(all...)})
			e.batchOf("g2", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(all...)})
			failProduce(e.k.Fake, failAt)
			if _, err := e.run(ctx); err == nil {
				finished = true
				return
			}
			if prog := e.state(ctx).Progress("g1"); prog.Done || prog.Line == 0 {
				return // g1 not interrupted inside its file
			}
			interrupted++
			for _, b := range e.mustRun(ctx).Batches {
				if b.Vanished != 0 {
					t.Errorf("%s/%s: every key was held, yet %d vanished", b.Group, b.Batch, b.Vanished)
				}
			}
			e.batchOf("g2", "20240103_0300", "", tableFile{"SRStaffMember", true, staff(6, 7, 8, 9, 10)})
			e.mustRun(ctx)
			if got := rebuiltNames(t, e, "SRStaffMember", "StaffName"); len(got) != 10 {
				t.Errorf("g1 still holds 1..10; the topic holds %v", keysOf(got))
			}
		})
	}
	if interrupted == 0 {
		t.Fatal("no failure interrupted g1's file: the interleaving went untested")
	}
}

// After state.dir is lost, a group whose holdings the topics cannot show
// (its rows were suppressed) keeps its keys: nothing is deleted until it
// has published a full file of the table again.
func TestReconcileHoldingsAfterLostState(t *testing.T) {
	e := newEnv(t)
	e.reconcile = ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
	ctx := context.Background()
	e.batchOf("g1", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(1, 2, 3, 4)})
	e.batchOf("g2", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(3, 5, 6)})
	e.mustRun(ctx)
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	e.batchOf("g1", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(1, 2, 3, 4)})
	e.mustRun(ctx)
	e.batchOf("g1", "20240103_0300", "", tableFile{"SRStaffMember", true, staff(1, 2)})
	e.mustRun(ctx)
	if got := keysOf(rebuiltNames(t, e, "SRStaffMember", "StaffName")); !slices.Contains(got, "3") {
		t.Errorf("3, held by g2, was deleted: %v", got)
	}
}

// validate's dry run keeps its changes in memory up to a limit: past it,
// it says it cannot predict what vanishes rather than predicting deletes
// publish does not make; unchanged rows of a reconciled file do not use
// the limit up.
func TestDryRunLimits(t *testing.T) {
	for _, tt := range []struct {
		name          string
		second        string
		unpredictable bool
	}{
		{"changes past the limit", pats("A1", 5, 10, "n", "") + pats("A1", 20, 25, "n", ""), true},
		{"unchanged rows", pats("A1", 1, 20, "n", ""), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.2}
			ctx := context.Background()
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 20, "n", "")})
			e.mustRun(ctx)
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, reconcilePatients + tt.second})
			old := dryLimit
			dryLimit = 4
			predicted := e.predict(ctx, DryRun{})
			dryLimit = old
			published := e.mustRun(ctx)
			p, q := predicted.Batches[0], published.Batches[0]
			says := hasWarning(p.Result, "too many changes in this run to predict what vanishes")
			if says != tt.unpredictable || (!says && (p.VanishedDeleted != q.VanishedDeleted || p.Unchanged != q.Unchanged)) || p.VanishedDeleted > q.VanishedDeleted {
				t.Errorf("predicted %d deleted, %d unchanged (cannot predict: %t); published %d deleted, %d unchanged",
					p.VanishedDeleted, p.Unchanged, says, q.VanishedDeleted, q.Unchanged)
			}
		})
	}
}

// Whether min_ratio guards a full file does not depend on where a crash
// interrupted it: the keys known for its scope are the distinct keys it
// holds and those gone, whatever part of the file was committed before
// the resume (a walk that counted the keys it found in the store counted
// the file's own new keys after a resume; rows held, counted one by one,
// counted a row too large for the topic only when a resume skipped it).
func TestReconcileGuardAfterResume(t *testing.T) {
	tests := []struct {
		name   string
		second string // the second full file of A1/1..10
		after  int64  // a resume from past this line is a resume that matters
		want   int64  // deleted, with or without a resume
		keep   []string
	}{
		{"15 new keys", reconcilePatients + pats("A1", 1, 2, "m", "") + pats("A1", 11, 25, "m", ""), 0, 8, // 17 of 25 held
			append(ids("A1", 1, 2), ids("A1", 11, 25)...)},
		{"a row too large for the topic", reconcilePatients + "1,A1," + strings.Repeat("B", 1536<<10) + ",,0\r\n" + pats("A1", 2, 5, "m", ""), 2, 5, // 5 of 10 held: the dead letter's key too
			ids("A1", 1, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resumed := 0
			for failAt := int64(0); failAt <= 60; failAt++ {
				e, ctx := tenPatients(t)
				e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, tt.second})
				if failAt > 0 {
					failProduce(e.k.Fake, failAt)
					if _, err := e.run(ctx); err == nil {
						break // no produce request before the end is left to fail
					}
					if prog := e.state(ctx).Progress("g1"); !prog.Done && prog.Line > tt.after {
						resumed++
					}
				}
				pass := e.mustRun(ctx)
				if len(pass.Batches) != 1 || pass.Batches[0].VanishedDeleted != tt.want {
					t.Fatalf("failing produce request %d first: %+v, want %d deleted", failAt, pass.Batches, tt.want)
				}
				want := slices.Sorted(slices.Values(tt.keep))
				if got := rebuiltNames(t, e, "SRPatient", "FirstName"); !slices.Equal(keysOf(got), want) {
					t.Errorf("failing produce request %d first: the rebuilt table holds %v, want %v", failAt, keysOf(got), want)
				}
			}
			if resumed == 0 {
				t.Error("no failure interrupted the file past the row that matters: the resume path went untested")
			}
		})
	}
}

// min_ratio counts keys, not rows: a full file that repeats one row holds
// one key of the ten known, and deletes nothing.
func TestReconcileGuardCountsKeys(t *testing.T) {
	e, ctx := tenPatients(t)
	e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, reconcilePatients + strings.Repeat(pats("A1", 1, 1, "m", ""), 9)})
	pass := e.mustRun(ctx)
	if d := pass.Batches[0].VanishedDeleted; d != 0 || pass.Batches[0].Vanished != 9 {
		t.Errorf("%d of 9 vanished keys deleted (%d vanished) by a file holding 1 key of 10 (min_ratio 0.5)", d, pass.Batches[0].Vanished)
	}
}

// tenPatients is an env that reconciles organisations' tables in delete
// mode, in transactions of three records, after a first full file of the
// patients A1/1..10.
func tenPatients(t *testing.T) (*env, context.Context) {
	e := newFakeEnv(t)
	e.cfg.TxnRecords = 3
	e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.5}
	ctx := context.Background()
	e.batchOf("g1", "20240101_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 10, "n", "")})
	e.mustRun(ctx)
	return e, ctx
}
