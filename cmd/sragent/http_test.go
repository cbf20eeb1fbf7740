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
	cluster, registry := brokerAndRegistry(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 51, Groups: 2, Orgs: 1, Batches: 3, Rows: 10, Tables: []string{"SRPatient"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(in, "group1", g.BatchName(1))) // a lost delta: a gap
	cfg, err := loadConfig(writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s}
archive: {dir: %q}
quarantine: {dir: %q}
kafka: {brokers: [%q], partitions: 1}
schema_registry: {url: %q}
`, in, filepath.Join(dir, "archive"), filepath.Join(dir, "q"), cluster.ListenAddrs()[0], registry.URL())), nil)
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
	registry.Close() // the registry goes away
	rec := httptest.NewRecorder()
	health{s: s, readyWhenHalted: true}.mux().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"schema_registry":{"ok":false`) {
		t.Errorf("registry down: %d %s", rec.Code, rec.Body)
	}
}
