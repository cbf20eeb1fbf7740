package producer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// namedPatients writes batch g1/name: a full SRPatient file with the rows
// id → FirstName of rows.
func (e *env) namedPatients(name string, rows map[int]string) {
	e.t.Helper()
	var pat strings.Builder
	pat.WriteString("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n")
	for id := 1; id <= 1000; id++ {
		if v, ok := rows[id]; ok {
			fmt.Fprintf(&pat, "%d,A1,%s,0\r\n", id, v)
		}
	}
	e.fullPatientsAt(name, pat.String())
}

// patients returns ids 1..n named name, with overrides.
func patients(n int, name string, overrides map[int]string) map[int]string {
	out := map[int]string{}
	for id := 1; id <= n; id++ {
		out[id] = name
	}
	for id, v := range overrides {
		out[id] = v
	}
	return out
}

// firstNames rebuilds SRPatient's FirstName by RowIdentifier the way a
// marker-dropping sink does.
func firstNames(t *testing.T, e *env) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, row := range rebuild(t, e.consume(e.cfg.TopicFor("SRPatient")))["g1"]["SRPatient"].rows {
		v := row["sragent.SRPatient.Value"].(map[string]any)
		id, _ := cellString(v["RowIdentifier"])
		out[id], _ = cellString(v["FirstName"])
	}
	return out
}

// A full re-send publishes only the rows that changed (and the new ones);
// the unchanged ones are counted in the result, the end marker and the
// metrics, and a marker-dropping consumer still has every row's latest
// image. With unchanged.suppress off, every row is published.
func TestUnchangedRowsNotPublished(t *testing.T) {
	for _, suppress := range []bool{true, false} {
		t.Run(fmt.Sprint("suppress=", suppress), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.namedPatients("20240101_0300", patients(100, "Ann", nil))
			e.mustRun(ctx)
			e.namedPatients("20240102_0300", patients(102, "Ann", map[int]string{3: "Bo", 50: "Cy", 51: "Di", 99: "Ed", 100: "Flo"}))
			reg := prometheus.NewRegistry()
			cfg := e.agentConfig()
			cfg.SuppressUnchanged = suppress
			a, err := Open(ctx, cfg, WithMetrics(NewMetrics(reg, "test")))
			if err != nil {
				t.Fatal(err)
			}
			pass, err := a.RunOnce(ctx)
			a.Close()
			if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
				t.Fatalf("%v %+v", err, pass)
			}
			wantEvents, wantSame := int64(7), int64(95)
			if !suppress {
				wantEvents, wantSame = 102, 0
			}
			res := pass.Batches[0].Result
			if res.Events != wantEvents || res.Unchanged != wantSame || res.Files[0].Unchanged != wantSame {
				t.Errorf("events %d unchanged %d (file %d), want %d and %d", res.Events, res.Unchanged, res.Files[0].Unchanged, wantEvents, wantSame)
			}
			if n := sum(t, reg, "sragent_rows_unchanged_total", map[string]string{"table": "SRPatient"}); n != float64(wantSame) {
				t.Errorf("sragent_rows_unchanged_total %v, want %d", n, wantSame)
			}
			for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
				if ev.marker != "snapshot_end" || ev.value["source"].(map[string]any)["batch"] != "20240102_0300" {
					continue
				}
				m := ev.value["marker"].(map[string]any)["sragent.Marker"].(map[string]any)
				if m["unchanged"].(map[string]any)["long"] != wantSame || m["row_count"].(map[string]any)["long"] != wantEvents {
					t.Fatalf("end marker %v", m)
				}
			}
			names := firstNames(t, e)
			want := patients(102, "Ann", map[int]string{3: "Bo", 50: "Cy", 51: "Di", 99: "Ed", 100: "Flo"})
			if len(names) != len(want) {
				t.Fatalf("%d rows rebuilt, want %d", len(names), len(want))
			}
			for id, v := range want {
				if names[fmt.Sprint(id)] != v {
					t.Errorf("row %d: %q, want %q", id, names[fmt.Sprint(id)], v)
				}
			}
		})
	}
}

// A table state that is behind what is committed is never trusted: when
// another agent (its own state.dir) published a change in between, a row
// sent again with its earlier image is published, not suppressed, so the
// consumer ends with the image sent last.
func TestStaleTableStateNotTrusted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.agentConfig(), e.agentConfig()
	b.StateDir = filepath.Join(t.TempDir(), "other-pc")
	run := func(cfg AgentConfig) {
		t.Helper()
		ag, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer ag.Close()
		if pass, err := ag.RunOnce(ctx); err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
			t.Fatalf("%v %+v", err, pass)
		}
	}
	e.namedPatients("20240101_0300", patients(10, "Ann", nil))
	run(a)
	e.namedPatients("20240102_0300", patients(10, "Ann", map[int]string{4: "Bo"}))
	run(b) // a knows 4 as Ann; 4 is Bo on the topic
	e.namedPatients("20240103_0300", patients(10, "Ann", nil))
	run(a)
	if got := firstNames(t, e)["4"]; got != "Ann" {
		t.Errorf("row 4 is %q on the topic; it was sent last as Ann (a stale table state suppressed it)", got)
	}
}

// Losing state.dir (a new PC, a deleted folder) only means the next full
// file is published whole; the one after is suppressed again.
func TestLostTableStateIsLearnedAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.namedPatients("20240101_0300", patients(20, "Ann", nil))
	e.mustRun(ctx)
	os.RemoveAll(e.stateDir)
	for _, tc := range []struct {
		batch  string
		events int64
	}{{"20240102_0300", 20}, {"20240103_0300", 0}} {
		e.namedPatients(tc.batch, patients(20, "Ann", nil))
		pass := e.mustRun(ctx)
		if len(pass.Batches) != 1 || pass.Batches[0].Events != tc.events || pass.Batches[0].Unchanged != 20-tc.events {
			t.Errorf("%s: %+v", tc.batch, pass.Batches)
		}
	}
	if names := firstNames(t, e); len(names) != 20 {
		t.Errorf("%d rows rebuilt", len(names))
	}
}
