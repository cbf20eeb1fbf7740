package producer

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// The identical-file skip is invisible: whatever came before, a re-send
// publishes, counts and reports exactly what reading the file again
// would (the same run with the skip off: an unknown build): the same
// records on the topic (but for their times), the same problems, the
// same tables.
func TestSameFileSkipIsInvisible(t *testing.T) {
	const patHeader = "RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n"
	report := ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileOff, MinRatio: 0.5}
	shared := ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
	pat := func(batch, csv string) func(e *env) {
		return func(e *env) { e.batchOf("g1", batch, "", tableFile{"SRPatient", true, patHeader + csv}) }
	}
	stf := func(group, batch string, ids ...int) func(e *env) {
		return func(e *env) { e.batchOf(group, batch, "", tableFile{"SRStaffMember", true, staff(ids...)}) }
	}
	lose := func(e *env) {
		if err := os.RemoveAll(e.stateDir); err != nil {
			e.t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		rc    ReconcileConfig
		runs  [][]func(e *env) // each run's batches (or a loss of state.dir), in order; the last run is compared
		table string
		// skipped: the last run skips a file (so the comparison covers the skip)
		skipped bool
	}{
		{"the same file", DefaultReconcile(), [][]func(*env){
			{pat("20240101_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")},
			{pat("20240102_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")}}, "SRPatient", true},
		{"the same file a third time", DefaultReconcile(), [][]func(*env){
			{pat("20240101_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")},
			{pat("20240102_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")},
			{pat("20240103_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")}}, "SRPatient", true},
		{"a delete row in the file", DefaultReconcile(), [][]func(*env){
			{pat("20240101_0300", "1,A1,Ann,0\r\n2,A1,,1\r\n")},
			{pat("20240102_0300", "1,A1,Ann,0\r\n2,A1,,1\r\n")}}, "SRPatient", false},
		{"a key twice with two images", DefaultReconcile(), [][]func(*env){
			{pat("20240101_0300", "1,A1,Ann,0\r\n1,A1,Bob,0\r\n2,A1,Cy,0\r\n")},
			{pat("20240102_0300", "1,A1,Ann,0\r\n1,A1,Bob,0\r\n2,A1,Cy,0\r\n")}}, "SRPatient", false},
		// Keys are checked for repeats, not their images: read again.
		{"a key twice with one image", DefaultReconcile(), [][]func(*env){
			{pat("20240101_0300", "1,A1,Ann,0\r\n1,A1,Ann,0\r\n2,A1,Cy,0\r\n")},
			{pat("20240102_0300", "1,A1,Ann,0\r\n1,A1,Ann,0\r\n2,A1,Cy,0\r\n")}}, "SRPatient", false},
		{"vanished rows reported again", report, [][]func(*env){
			{pat("20240101_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n3,A1,Cy,0\r\n")},
			{pat("20240102_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")},
			{pat("20240103_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")}}, "SRPatient", false},
		{"vanished rows deleted", ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.5}, [][]func(*env){
			{pat("20240101_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n3,A1,Cy,0\r\n")},
			{pat("20240102_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")},
			{pat("20240103_0300", "1,A1,Ann,0\r\n2,A1,Bob,0\r\n")}}, "SRPatient", true},
		// After a rebuild g1's vanished keys are held back until g2's
		// holdings are known again; g2's unchanged file makes them known
		// (changing no key): g1's same file then deletes them.
		{"deletions held back until another group's holdings are known", shared, [][]func(*env){
			{stf("g1", "20240101_0300", 1, 2, 3, 4), stf("g2", "20240101_0300", 5)},
			{lose, stf("g1", "20240102_0300", 1, 2)},
			{stf("g2", "20240102_0300", 5)},
			{stf("g1", "20240103_0300", 1, 2)}}, "SRStaffMember", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reports, records [2][]string
			var tables [2]map[string]string
			var skipped bool
			for i, skip := range []bool{true, false} {
				if !skip {
					old := codeID
					codeID = func() []byte { return nil }
					t.Cleanup(func() { codeID = old })
				}
				e := newEnv(t)
				e.reconcile = tt.rc
				ctx := context.Background()
				var last *Pass
				for _, run := range tt.runs {
					for _, step := range run {
						step(e)
					}
					last = e.mustRun(ctx)
				}
				for _, b := range last.Batches {
					reports[i] = append(reports[i], fmt.Sprintf("%s/%s %s: %d events, %d deletes, %d unchanged, %d vanished, %d deleted, %v",
						b.Group, b.Batch, b.Outcome, b.Events, b.Deletes, b.Unchanged, b.Vanished, b.VanishedDeleted, b.Problems))
					for _, f := range b.Files {
						skipped = skipped || (skip && f.SameAs != "")
					}
				}
				// What the topic holds, but for times, partition by partition.
				evs := e.consume(e.cfg.TopicFor(tt.table))
				slices.SortStableFunc(evs, func(a, b event) int { return int(a.partition - b.partition) })
				for _, ev := range evs {
					records[i] = append(records[i], fmt.Sprintf("%d %s %x %v %v %v", ev.partition, ev.marker, ev.raw, ev.value["op"], ev.value["after"], ev.value["marker"]))
				}
				tables[i] = rebuiltNames(t, e, tt.table, map[string]string{"SRPatient": "FirstName", "SRStaffMember": "StaffName"}[tt.table])
			}
			if fmt.Sprint(reports[0]) != fmt.Sprint(reports[1]) {
				t.Errorf("the last run reports\n%v\nwhere reading the files again reports\n%v", reports[0], reports[1])
			}
			if !slices.Equal(records[0], records[1]) {
				t.Errorf("the topic holds\n%s\nwhere reading the files again leaves\n%s", strings.Join(records[0], "\n"), strings.Join(records[1], "\n"))
			}
			if !maps.Equal(tables[0], tables[1]) {
				t.Errorf("the rebuilt table holds %v where reading the files again leaves %v", tables[0], tables[1])
			}
			if skipped != tt.skipped {
				t.Errorf("a file of the last run skipped: %t, want %t", skipped, tt.skipped)
			}
		})
	}
}

// A dry run that lost count of its changes (past its limit) cannot say
// what vanishes from a file, and says so: it never predicts that the same
// file again is skipped where publishing reads it.
func TestDryRunOverflowPredictsNoSkip(t *testing.T) {
	e := newEnv(t)
	e.reconcile = ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileOff, MinRatio: 0.1}
	ctx := context.Background()
	e.batchOf("g1", "20240101_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 3, "n", "")})
	e.mustRun(ctx)
	file := tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 1, "n", "") + pats("A1", 4, 13, "n", "")}
	e.batchOf("g1", "20240102_0300", "", file)
	e.batchOf("g1", "20240103_0300", "", file)
	old := dryLimit
	dryLimit = 4
	predicted := e.predict(ctx, DryRun{})
	dryLimit = old
	published := e.mustRun(ctx)
	if len(predicted.Batches) != 2 || len(published.Batches) != 2 {
		t.Fatalf("predicted %d batches, published %d", len(predicted.Batches), len(published.Batches))
	}
	for i, p := range predicted.Batches {
		q := published.Batches[i]
		if p.Files[0].SameAs != q.Files[0].SameAs {
			t.Errorf("%s: predicted same_as %q, published %q", p.Batch, p.Files[0].SameAs, q.Files[0].SameAs)
		}
		if (p.Vanished != q.Vanished || p.Unchanged != q.Unchanged) && !hasWarning(p.Result, "too many changes") {
			t.Errorf("%s: predicted %d vanished, %d unchanged without a warning; published %d, %d", p.Batch, p.Vanished, p.Unchanged, q.Vanished, q.Unchanged)
		}
	}
}
