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

// A batch that fails on every pass (here its archive folder cannot be
// created) is a failing chain, not "ok": publish says the batch was
// published but not archived (never "nothing to publish"), status and
// /readyz show the chain failing with its batch, last error and since
// when, and it clears once the batch gets through.
func TestFailingBatchIsShown(t *testing.T) {
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 52, Groups: 1, Orgs: 1, Batches: 1, Rows: 10, Tables: []string{"SRPatient"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "archive")
	if err := os.WriteFile(archive, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, fmt.Sprintf("input: {dir: %q, settle: 0s}\narchive: {dir: %q}\nstate: {dir: %q}\n%s",
		in, archive, filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 1")))
	for pass, outcome := range []string{"published", "duplicate"} {
		r := runSragent(t, nil, "publish", "--config", cfgPath)
		if r.code != exitFailed || strings.Contains(r.stdout, "nothing to publish") ||
			!strings.Contains(r.stdout, "group1/"+g.BatchName(0)+" "+outcome+" but not archived") {
			t.Fatalf("publish %d: exit %d\n%s\n%s", pass+1, r.code, r.stdout, r.stderr)
		}
	}
	res := runSragent(t, nil, "status", "--json", "--config", cfgPath)
	var st struct{ Chains []chainStatus }
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || len(st.Chains) != 1 {
		t.Fatalf("status: %v %s %s", err, res.stdout, res.stderr)
	}
	f := st.Chains[0].Failing
	if f == nil || f.Batch != g.BatchName(0) || f.Passes != 2 || f.Since.IsZero() || f.AsOf.Before(f.Since) || !strings.Contains(f.Error, "archive") {
		t.Fatalf("status: %+v", f)
	}
	if human := runSragent(t, nil, "status", "--config", cfgPath); !strings.Contains(human.stdout, "FAILING") ||
		!strings.Contains(human.stdout, "group1 failing: batch "+g.BatchName(0)+" failed on 2 passes in a row since") {
		t.Errorf("status:\n%s", human.stdout)
	}

	// A running agent's /readyz says the same.
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
	ready := func() (int, check) {
		rec := httptest.NewRecorder()
		health{s: s, readyWhenHalted: true}.mux().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body struct{ Checks map[string]check }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body.Checks["chains"]
	}
	if _, err := s.agent.RunOnce(context.Background()); err == nil {
		t.Fatal("the archive should still fail")
	}
	if code, c := ready(); code != http.StatusServiceUnavailable || c.OK || c.Failing["group1"].Batch != g.BatchName(0) {
		t.Errorf("/readyz while failing: %d %+v", code, c)
	}
	// Fixed: the next pass archives the batch, and nothing fails any more.
	if err := os.Remove(archive); err != nil {
		t.Fatal(err)
	}
	if _, err := s.agent.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, c := ready(); code != http.StatusOK || len(c.Failing) != 0 {
		t.Errorf("/readyz after the fix: %d %+v", code, c)
	}
	if res := runSragent(t, nil, "status", "--config", cfgPath); strings.Contains(res.stdout, "FAILING") {
		t.Errorf("status after the fix:\n%s", res.stdout)
	}
}

// validate's output for a file or a pipe holds the report, not progress
// lines; -v adds them (a terminal gets its progress bar either way).
func TestValidateProgressOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := srgen.New(srgen.Options{Seed: 53, Groups: 1, Orgs: 1, Batches: 1, Rows: 10, Tables: []string{"SRPatient"}}).Write(in); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("input: {dir: %q, settle: 0s}\nstate: {dir: %q}\n", in, filepath.Join(dir, "state")))
	for _, tc := range []struct {
		args     []string
		progress bool
	}{{nil, false}, {[]string{"-v"}, true}, {[]string{"--verbose"}, true}} {
		r := runSragent(t, nil, append([]string{"validate", "--offline", "--config", cfg}, tc.args...)...)
		if r.code != 0 || strings.Contains(r.stderr+r.stdout, "msg=progress") != tc.progress {
			t.Errorf("validate %v: exit %d, progress lines %t, want %t:\n%s", tc.args, r.code, !tc.progress, tc.progress, r.stderr)
		}
	}
}
