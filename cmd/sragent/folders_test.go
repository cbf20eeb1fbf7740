package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// What the input folder holds that looks like a batch but is not one is
// reported by validate, status and publish's log, and never published:
// an Archived copy of a batch, a folder whose name is no batch time.
func TestFoldersThatAreNotBatchesAreReported(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	file := loose(fullMan, "SRPatient.csv", patHeader+goodRow)
	for _, dir := range []string{"g1/20240102_1707", "Archived/g1/20240101_1707", "g1/20240102_1707 (2)", "g1/20241301_2500"} {
		batchFiles{loose: file}.write(t, filepath.Join(in, filepath.FromSlash(dir)))
	}
	cfg := testConfig(t, in)
	want := map[string]string{
		"Archived":             "not a reporting group",
		"g1/20240102_1707 (2)": "not a yyyyMMdd_HHmm time",
		"g1/20241301_2500":     "not a yyyyMMdd_HHmm time",
	}
	check := func(what string, paths map[string]string) {
		t.Helper()
		for p, why := range want {
			if !strings.Contains(paths[filepath.Join(in, filepath.FromSlash(p))], why) {
				t.Errorf("%s: %s not reported (%v)", what, p, paths)
			}
		}
	}
	res := runSragent(t, nil, "validate", "--json", "--config", cfg)
	rep := decodeReport(t, res.stdout)
	if res.code != exitOK || len(rep.Batches) != 1 || rep.Batches[0].Group != "g1" {
		t.Fatalf("exit %d, batches %+v", res.code, rep.Batches)
	}
	paths := map[string]string{}
	for _, ig := range rep.Ignored {
		paths[ig.Path] = ig.Why
	}
	check("validate --json", paths)
	human := runSragent(t, nil, "validate", "--config", cfg)
	if !strings.Contains(human.stdout, "not read: "+filepath.Join(in, "Archived")) {
		t.Errorf("validate:\n%s", human.stdout)
	}
	pub := runSragent(t, nil, "publish", "--config", cfg)
	if pub.code != exitOK || !strings.Contains(pub.stderr, "not read from the input folder") {
		t.Errorf("publish exit %d; log:\n%s", pub.code, pub.stderr)
	}
	st := runSragent(t, nil, "status", "--json", "--config", cfg)
	var status struct {
		Chains  []chainStatus  `json:"chains"`
		Ignored []ignoredEntry `json:"ignored"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
		t.Fatalf("%v: %s", err, st.stdout)
	}
	paths = map[string]string{}
	for _, ig := range status.Ignored {
		paths[ig.Path] = ig.Why
	}
	check("status --json", paths)
	if len(status.Chains) != 1 || status.Chains[0].Group != "g1" || status.Chains[0].LastPublished != "20240102_1707" {
		t.Errorf("chains %+v: the Archived copy must not be a chain", status.Chains)
	}
}
