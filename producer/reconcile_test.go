package producer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// tableFile is one table file of a test batch.
type tableFile struct {
	table string
	full  bool
	csv   string
}

// batchOf writes batch group/name (cut-off name; deltas follow prev).
func (e *env) batchOf(group, name, prev string, files ...tableFile) {
	e.t.Helper()
	dir := filepath.Join(e.in, group, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	man := "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n"
	for _, f := range files {
		if f.full {
			man += f.table + ",N,N,," + name + "\r\n"
		} else {
			man += f.table + ",Y,N," + prev + "," + name + "\r\n"
		}
		if err := os.WriteFile(filepath.Join(dir, f.table+".csv"), []byte(f.csv), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "SRManifest.csv"), []byte(man), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

const reconcilePatients = "RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth,RemovedData\r\n"

// pats writes SRPatient rows from..to of org, named "<name><id>", born on
// dob ("" for none).
func pats(org string, from, to int, name, dob string) string {
	var b strings.Builder
	for id := from; id <= to; id++ {
		fmt.Fprintf(&b, "%d,%s,%s%d,%s,0\r\n", id, org, name, id, dob)
	}
	return b.String()
}

// rebuiltNames is what a marker-dropping sink holds for a topic:
// "org/id" (or "id" for a shared table) → the name column.
func rebuiltNames(t *testing.T, e *env, table, column string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range rebuild(t, e.consume(e.cfg.TopicFor(table))) {
		for _, row := range tb[table].rows {
			v := row["sragent."+table+".Value"].(map[string]any)
			id, _ := cellString(v["RowIdentifier"])
			if org, ok := cellString(v["IDOrganisationVisibleTo"]); ok && org != "" {
				id = org + "/" + id
			}
			out[id], _ = cellString(v[column])
		}
	}
	return out
}

// keysOf returns the sorted keys of m.
func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ids lists "org/from".."org/to".
func ids(org string, from, to int) []string {
	var out []string
	for id := from; id <= to; id++ {
		out = append(out, fmt.Sprintf("%s/%d", org, id))
	}
	return out
}

// A full file's vanished rows: counted always, deleted only in delete
// mode, only within the file's organisations and window, never for a
// dead letter's key, never under min_ratio; a marker-dropping consumer's
// table (before and after compaction) is what the files say.
func TestReconcileFullFiles(t *testing.T) {
	deleteMode := ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.5}
	window := deleteMode
	window.Tables = map[string]TableReconcile{"srpatient": {WindowColumn: "DateBirth", WindowMonths: 12}}
	const old, recent = "05 Jul 2019 00:00", "05 Jul 2023 00:00" // the cut-off is 2024-01-02
	tests := []struct {
		name          string
		rc            ReconcileConfig
		first, second string
		delta         string // published between them
		want          []string
		vanished, del int64
		warning       string
	}{
		{name: "delete: the file's organisation only", rc: deleteMode,
			first: pats("A1", 1, 10, "n", "") + pats("B2", 11, 20, "n", ""), second: pats("A1", 1, 8, "n", ""),
			want: append(ids("A1", 1, 8), ids("B2", 11, 20)...), vanished: 2, del: 2},
		{name: "report (the default) deletes nothing", rc: DefaultReconcile(),
			first: pats("A1", 1, 10, "n", ""), second: pats("A1", 1, 8, "n", ""),
			want: ids("A1", 1, 10), vanished: 2},
		{name: "off counts nothing", rc: ReconcileConfig{Mode: ReconcileOff, Shared: ReconcileOff},
			first: pats("A1", 1, 10, "n", ""), second: pats("A1", 1, 8, "n", ""),
			want: ids("A1", 1, 10)},
		{name: "a window keeps older rows", rc: window,
			first: pats("A1", 1, 5, "n", old) + pats("A1", 6, 10, "n", recent), second: pats("A1", 6, 9, "n", recent),
			want: ids("A1", 1, 9), vanished: 1, del: 1},
		{name: "a delta moves a row out of the window", rc: window,
			first: pats("A1", 1, 10, "n", recent), delta: pats("A1", 10, 10, "n", old), second: pats("A1", 1, 9, "n", recent),
			want: ids("A1", 1, 10)},
		{name: "a month-limited file without a window, default mode", rc: DefaultReconcile(),
			first: pats("A1", 1, 5, "n", old) + pats("A1", 6, 10, "n", recent), second: pats("A1", 6, 9, "n", recent),
			want: ids("A1", 1, 10), vanished: 6, warning: "min_ratio"},
		{name: "a dead letter's key is not deleted", rc: deleteMode,
			first: pats("A1", 1, 10, "n", ""), second: pats("A1", 1, 2, "n", "") + "3,A1,bad,31 Feb 2023 10:00,0\r\n" + pats("A1", 4, 9, "n", ""),
			want: ids("A1", 1, 9), vanished: 1, del: 1},
		{name: "a dead letter without a readable key deletes nothing", rc: deleteMode,
			first: pats("A1", 1, 10, "n", ""), second: pats("A1", 1, 8, "n", "") + "x9,A1,bad,,0\r\n",
			want: ids("A1", 1, 10), vanished: 2, warning: "key could not be read"},
		{name: "under min_ratio nothing is deleted", rc: deleteMode,
			first: pats("A1", 1, 10, "n", ""), second: pats("A1", 1, 4, "n", ""),
			want: ids("A1", 1, 10), vanished: 6, warning: "min_ratio"},
		{name: "a header-only file has no organisation in scope", rc: deleteMode,
			first: pats("A1", 1, 10, "n", ""), second: "",
			want: ids("A1", 1, 10)},
	}
	for _, tt := range tests {
		slices.Sort(tt.want)
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.reconcile = tt.rc
			ctx := context.Background()
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRPatient", true, reconcilePatients + tt.first})
			e.mustRun(ctx)
			if tt.delta != "" {
				e.batchOf("g1", "20240101_0900", "20240101_0300", tableFile{"SRPatient", false, reconcilePatients + tt.delta})
				e.mustRun(ctx)
			}
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, reconcilePatients + tt.second})
			reg := prometheus.NewRegistry()
			a, err := Open(ctx, e.agentConfig(), WithMetrics(NewMetrics(reg, "test")))
			if err != nil {
				t.Fatal(err)
			}
			pass, err := a.RunOnce(ctx)
			a.Close()
			if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
				t.Fatalf("%v %+v", err, pass)
			}
			b := pass.Batches[0]
			if b.Vanished != tt.vanished || b.VanishedDeleted != tt.del {
				t.Errorf("vanished %d, %d deleted; want %d, %d", b.Vanished, b.VanishedDeleted, tt.vanished, tt.del)
			}
			var warned bool
			for _, p := range b.Problems {
				warned = warned || (p.Severity == SeverityWarning && strings.Contains(p.Reason, tt.warning))
			}
			if tt.warning != "" && !warned {
				t.Errorf("no warning %q in %+v", tt.warning, b.Problems)
			}
			guarded := sum(t, reg, "sragent_reconcile_guarded_total", map[string]string{"table": "SRPatient"})
			if want := map[bool]float64{true: 1}[tt.warning == "min_ratio"]; guarded != want {
				t.Errorf("reconcile_guarded_total %v, want %v", guarded, want)
			}
			if got := sum(t, reg, "sragent_rows_vanished_total", map[string]string{"table": "SRPatient", "action": "deleted"}); got != float64(tt.del) {
				t.Errorf("rows_vanished_total{action=deleted} %v, want %d", got, tt.del)
			}
			check := func(when string) {
				got := rebuiltNames(t, e, "SRPatient", "FirstName")
				if !slices.Equal(keysOf(got), tt.want) {
					t.Errorf("%s: the rebuilt table holds %v, want %v", when, keysOf(got), tt.want)
				}
				if tt.name == "a dead letter's key is not deleted" && got["A1/3"] != "n3" {
					t.Errorf("%s: the dead letter's row is %q, want its last good image n3", when, got["A1/3"])
				}
			}
			check("before compaction")
			checkEndMarker(t, e, "20240102_0300", tt.rc.Mode != ReconcileOff, tt.vanished, tt.del)
			if e.k.Fake != nil {
				e.k.Fake.Compact()
				check("after compaction")
			}
		})
	}
}

// checkEndMarker checks the counts of batch's SRPatient end marker.
func checkEndMarker(t *testing.T, e *env, batch string, reconciled bool, vanished, deleted int64) {
	t.Helper()
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
		if ev.marker != "snapshot_end" || ev.value["source"].(map[string]any)["batch"] != batch {
			continue
		}
		m := ev.value["marker"].(map[string]any)["sragent.Marker"].(map[string]any)
		want := map[string]any{"vanished": nil, "vanished_deleted": nil}
		if reconciled {
			want = map[string]any{"vanished": map[string]any{"long": vanished}, "vanished_deleted": map[string]any{"long": deleted}}
		}
		for k, w := range want {
			if fmt.Sprint(m[k]) != fmt.Sprint(w) {
				t.Errorf("end marker %s = %v, want %v", k, m[k], w)
			}
		}
		return
	}
	t.Errorf("no end marker of %s", batch)
}

const staffHeader = "RowIdentifier,StaffName,RemovedData\r\n"

// staff writes SRStaffMember rows ids, named "s<id>".
func staff(ids ...int) string {
	var b strings.Builder
	b.WriteString(staffHeader)
	for _, id := range ids {
		fmt.Fprintf(&b, "%d,s%d,0\r\n", id, id)
	}
	return b.String()
}

// Shared tables across two groups: a key that vanished from one group's
// full file is deleted only once no group holds it; a partial file (under
// min_ratio) deletes nothing; reconcile.shared off (the default) counts
// nothing.
func TestReconcileSharedAcrossGroups(t *testing.T) {
	shared := ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
	tests := []struct {
		name   string
		rc     ReconcileConfig
		g1, g2 string // the second full files
		want   []string
		// vanished and deleted per group's second batch
		vanished, deleted [2]int64
	}{
		{"a key another group holds stays", shared, staff(1, 2), staff(3, 5, 6), []string{"1", "2", "3", "5", "6"}, [2]int64{2, 0}, [2]int64{1, 0}},
		{"deleted once no group holds it", shared, staff(1, 2), staff(5, 6), []string{"1", "2", "5", "6"}, [2]int64{2, 1}, [2]int64{1, 1}},
		{"a partial file deletes nothing", shared, staff(1), staff(3, 5, 6), []string{"1", "2", "3", "4", "5", "6"}, [2]int64{3, 0}, [2]int64{0, 0}},
		{"off by default", DefaultReconcile(), staff(1, 2), staff(5, 6), []string{"1", "2", "3", "4", "5", "6"}, [2]int64{}, [2]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.reconcile = tt.rc
			ctx := context.Background()
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(1, 2, 3, 4)})
			e.batchOf("g2", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(3, 5, 6)})
			e.mustRun(ctx)
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRStaffMember", true, tt.g1})
			e.batchOf("g2", "20240102_0300", "", tableFile{"SRStaffMember", true, tt.g2})
			pass := e.mustRun(ctx)
			got := map[string][2]int64{}
			for _, b := range pass.Batches {
				got[b.Group] = [2]int64{b.Vanished, b.VanishedDeleted}
			}
			if got["g1"] != [2]int64{tt.vanished[0], tt.deleted[0]} || got["g2"] != [2]int64{tt.vanished[1], tt.deleted[1]} {
				t.Errorf("vanished, deleted: %v; want g1 %d, %d and g2 %d, %d", got, tt.vanished[0], tt.deleted[0], tt.vanished[1], tt.deleted[1])
			}
			if names := keysOf(rebuiltNames(t, e, "SRStaffMember", "StaffName")); !slices.Equal(names, tt.want) {
				t.Errorf("the rebuilt table holds %v, want %v", names, tt.want)
			}
		})
	}
}

// A failure anywhere in a reconciled full file (a produce error aborts
// the open transaction) resumes to the same table: the vanished rows are
// deleted exactly once, a dead letter's key (committed before the
// failure) is still kept, and other organisations are untouched.
func TestReconcileResumes(t *testing.T) {
	resumedMidFile, finished := 0, false
	for failAt := int64(1); !finished && failAt <= 100; failAt++ {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			e := newFakeEnv(t)
			e.cfg.TxnRecords = 3
			e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.5}
			ctx := context.Background()
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 10, "n", "") + pats("B2", 11, 12, "n", "")})
			e.mustRun(ctx)
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, reconcilePatients +
				pats("A1", 1, 2, "m", "") + "3,A1,bad,31 Feb 2023 10:00,0\r\n" + pats("A1", 4, 7, "m", "")})
			failProduce(e.k.Fake, failAt)
			if _, err := e.run(ctx); err == nil {
				finished = true // every produce request before the end failed once
				return
			}
			if prog := e.state(ctx).Progress("g1"); !prog.Done && prog.Line > 0 {
				resumedMidFile++
			}
			pass := e.mustRun(ctx)
			if len(pass.Batches) != 1 || pass.Batches[0].VanishedDeleted != 3 {
				t.Fatalf("after the resume: %+v", pass.Batches)
			}
			want := append(ids("A1", 1, 7), ids("B2", 11, 12)...)
			slices.Sort(want)
			got := rebuiltNames(t, e, "SRPatient", "FirstName")
			if !slices.Equal(keysOf(got), want) || got["A1/3"] != "n3" || got["A1/4"] != "m4" {
				t.Errorf("the rebuilt table holds %v (A1/3 %q, A1/4 %q), want %v", got, got["A1/3"], got["A1/4"], want)
			}
			deletes := 0
			for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
				if ev.value != nil && ev.value["op"] == "d" {
					deletes++
				}
			}
			if deletes != 3 {
				t.Errorf("%d d events, want 3", deletes)
			}
		})
	}
	if resumedMidFile == 0 {
		t.Error("no failure interrupted the file: the resume path went untested")
	}
}
