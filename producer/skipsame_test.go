package producer

import (
	"context"
	"fmt"
	"maps"
	"os"
	"testing"
)

// The identical-file skip is invisible: whatever came before, a re-send
// publishes, counts and reports exactly what reading the file again
// would (the same run with the skip off: an unknown build), and leaves
// the same tables.
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
			var reports [2][]string
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
					reports[i] = append(reports[i], fmt.Sprintf("%s/%s %s: %d events, %d deletes, %d unchanged, %d vanished, %d deleted",
						b.Group, b.Batch, b.Outcome, b.Events, b.Deletes, b.Unchanged, b.Vanished, b.VanishedDeleted))
					for _, f := range b.Files {
						skipped = skipped || (skip && f.SameAs != "")
					}
				}
				tables[i] = rebuiltNames(t, e, tt.table, map[string]string{"SRPatient": "FirstName", "SRStaffMember": "StaffName"}[tt.table])
			}
			if fmt.Sprint(reports[0]) != fmt.Sprint(reports[1]) {
				t.Errorf("the last run reports\n%v\nwhere reading the files again reports\n%v", reports[0], reports[1])
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
