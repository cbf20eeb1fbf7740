package producer

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Organisations that appear in a group's files, and organisations that a
// later full file no longer holds, are reported: in the batch report, as
// a warning (absent), in the END event, in the committed state and as
// metrics.
func TestOrganisationsAppearAndLeave(t *testing.T) {
	e := newEnv(t)
	const events = "RowIdentifier,IDOrganisationVisibleTo,RemovedData\r\n"
	e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 2, "Ann", "") + pats("B2", 3, 4, "Bo", "")})
	e.batchOf("g1", "20240103_1707", "20240102_1707", tableFile{"SRPatient", false, reconcilePatients + pats("A1", 1, 1, "Al", "")},
		tableFile{"SREvent", false, events + "9,C3,0\r\n"})
	e.batchOf("g1", "20240104_1707", "", tableFile{"SRChildAtRisk", true, events + "1,A1,0\r\n"}) // a full file of another table says nothing of B2 or C3
	e.batchOf("g1", "20240105_1707", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 2, "Ann", "") + pats("C3", 5, 5, "Cy", "")})
	reg := prometheus.NewRegistry()
	pass, err := e.runWith(context.Background(), WithMetrics(NewMetrics(reg, "test")))
	if err != nil || len(pass.Batches) != 4 {
		t.Fatalf("%+v %v", pass, err)
	}
	want := []struct{ appeared, absent string }{{"A1,B2", ""}, {"C3", ""}, {"", ""}, {"", "B2"}}
	for i, w := range want {
		res := pass.Batches[i]
		if got := strings.Join(res.OrganisationsNew, ","); got != w.appeared {
			t.Errorf("batch %s: new %q, want %q", res.Batch, got, w.appeared)
		}
		if got := strings.Join(res.OrganisationsAbsent, ","); got != w.absent {
			t.Errorf("batch %s: absent %q, want %q", res.Batch, got, w.absent)
		}
		var warned bool
		for _, p := range res.Problems {
			warned = warned || (p.Severity == SeverityWarning && strings.Contains(p.Reason, "organisation B2 held rows"))
		}
		if warned != (w.absent != "") {
			t.Errorf("batch %s: warned of B2 %t", res.Batch, warned)
		}
	}
	if got := strings.Join(e.state(context.Background()).Groups["g1"].Organisations, ","); got != "A1,C3" {
		t.Errorf("committed organisations %q, want A1,C3", got)
	}
	ends := map[string]map[string]any{}
	for _, ev := range e.consume(e.cfg.BatchesTopic()) {
		if ev.value["status"] == "END" {
			ends[ev.value["batch"].(string)] = ev.value
		}
	}
	list := func(v any) string {
		m, _ := v.(map[string]any)
		var out []string
		for _, x := range m["array"].([]any) {
			out = append(out, x.(string))
		}
		return strings.Join(out, ",")
	}
	if got := list(ends["20240102_1707"]["organisations_new"]); got != "A1,B2" {
		t.Errorf("END of the first batch: organisations_new %q", got)
	}
	if got := list(ends["20240105_1707"]["organisations_absent"]); got != "B2" || ends["20240105_1707"]["organisations_new"] != nil {
		t.Errorf("END of the last batch: absent %q, new %v", got, ends["20240105_1707"]["organisations_new"])
	}
	for _, m := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sragent_organisations", map[string]string{"group": "g1"}, 2},
		{"sragent_organisation_changes_total", map[string]string{"group": "g1", "change": "new"}, 3},
		{"sragent_organisation_changes_total", map[string]string{"group": "g1", "change": "absent"}, 1},
	} {
		if got := sum(t, reg, m.name, m.labels); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}
}
