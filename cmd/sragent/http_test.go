package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sragent/sragent/schemas/srgen"
)

// A halted chain makes the agent not ready (unless configured otherwise),
// and /readyz says which chain and why.
func TestReadyzReportsHaltedChain(t *testing.T) {
	k := brokerAndRegistry(t)
	proxy := k.RegistryProxy(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 51, Groups: 2, Orgs: 1, Batches: 3, Rows: 10, Tables: []string{"SRPatient"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(in, "group1", g.BatchName(1))) // a lost delta: a gap
	cfgPath := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
%s`, in, filepath.Join(dir, "archive"), filepath.Join(dir, "q"), filepath.Join(dir, "state"), kafkaConfigURL(k, proxy.URL, ", partitions: 1")))
	cfg, err := loadConfig(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	s, err := a.connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.agent.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		readyWhenHalted bool
		code            int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusOK}} {
		rec := httptest.NewRecorder()
		health{s: s, readyWhenHalted: tc.readyWhenHalted}.mux().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body struct {
			Status string           `json:"status"`
			Checks map[string]check `json:"checks"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.code || !body.Checks["kafka"].OK || !body.Checks["schema_registry"].OK ||
			!strings.Contains(body.Checks["chains"].Halted["group1"], "gap") || body.Checks["chains"].Halted["group2"] != "" {
			t.Errorf("ready_when_halted=%v: %d %s", tc.readyWhenHalted, rec.Code, rec.Body)
		}
	}
	// status shows the same, without disturbing the running session.
	res := runSragent(t, nil, "status", "--json", "--config", cfgPath)
	var st struct{ Chains []chainStatus }
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || len(st.Chains) != 2 {
		t.Fatalf("status: %v %s %s", err, res.stdout, res.stderr)
	}
	g1, g2 := st.Chains[0], st.Chains[1]
	if g1.Group != "group1" || !strings.Contains(g1.Halted, "gap") || len(g1.Pending) != 1 || g1.LastPublished != g.BatchName(0) ||
		g2.Halted != "" || len(g2.Pending) != 0 || g2.LastPublished != g.BatchName(2) || g2.CutOff != g.BatchName(2) || g2.DaysSinceCutOff == nil {
		t.Errorf("status: %+v %+v", g1, g2)
	}
	human := runSragent(t, nil, "status", "--config", cfgPath)
	if !strings.Contains(human.stdout, "HALTED") || !strings.Contains(human.stdout, "group1 halted: gap") {
		t.Errorf("status:\n%s", human.stdout)
	}
	if _, err := s.agent.RunOnce(context.Background()); err != nil {
		t.Fatalf("the session was disturbed by status: %v", err)
	}

	// A batch stamped in the future is shown as held; a resume request
	// is shown until the agent applies it.
	future := filepath.Join(in, "group2", "20990101_0300")
	os.MkdirAll(future, 0o755)
	os.WriteFile(filepath.Join(future, "SRManifest.csv"), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,Y,N,"+
		g.BatchName(2)+",20990101_0300\r\n"), 0o644)
	os.WriteFile(filepath.Join(future, "SRPatient.csv"), []byte("RowIdentifier,IDOrganisationVisibleTo,RemovedData\r\n1,A1,0\r\n"), 0o644)
	if res := runSragent(t, nil, "chain", "resume", "group1", "--config", cfgPath); res.code != 0 || !strings.Contains(res.stdout, "sragent status shows the request") {
		t.Fatalf("chain resume: %d %s %s", res.code, res.stdout, res.stderr)
	}
	human = runSragent(t, nil, "status", "--config", cfgPath)
	if !strings.Contains(human.stdout, "group1 resume requested: by ") || !strings.Contains(human.stdout, "group2 waiting: 20990101_0300: held: its folder name is 2099-01-01") {
		t.Errorf("status with a request and a future batch:\n%s", human.stdout)
	}
	if _, err := s.agent.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	res = runSragent(t, nil, "status", "--json", "--config", cfgPath)
	st.Chains = nil
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || st.Chains[0].ResumeRequested != "" || st.Chains[0].Halted != "" {
		t.Errorf("after the agent applied the request: %v %s", err, res.stdout)
	}

	proxy.Fail(func(w http.ResponseWriter, r *http.Request) bool { // the registry goes away
		w.WriteHeader(http.StatusBadGateway)
		return true
	})
	rec := httptest.NewRecorder()
	health{s: s, readyWhenHalted: true}.mux().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"schema_registry":{"ok":false`) {
		t.Errorf("registry down: %d %s", rec.Code, rec.Body)
	}
}
