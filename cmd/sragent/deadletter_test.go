package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deadletter list shows where each row that did not convert was (group,
// batch, file, line, column) and why, in order, filtered by group, and
// never a cell: the planted canary stays out of the output.
func TestDeadletterList(t *testing.T) {
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	const header = "RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth,RemovedData\r\n"
	for _, g := range []string{"g1", "g2"} {
		b := filepath.Join(in, g, "20240102_1707")
		os.MkdirAll(b, 0o755)
		os.WriteFile(filepath.Join(b, "SRManifest.csv"), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,N,N,,20240102_1707\r\n"), 0o644)
		os.WriteFile(filepath.Join(b, "SRPatient.csv"), []byte(header+"1,A1,Ann,,0\r\n2,A1,"+canary+",31 Feb 2020 00:00,0\r\nx3,A1,"+canary+",,0\r\n"), 0o644)
	}
	cfg := writeConfig(t, fmt.Sprintf("input: {dir: %q, settle: 0s}\narchive: {dir: %q}\nstate: {dir: %q}\n%s",
		in, filepath.Join(dir, "archive"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 1")))
	if r := runSragent(t, nil, "publish", "--config", cfg); r.code != 0 {
		t.Fatalf("publish: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := runSragent(t, nil, "deadletter", "list", "--json", "--config", cfg)
	r.noCanary(t)
	var got struct {
		DeadLetters []deadLetter `json:"dead_letters"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("%v %d %s %s", err, r.code, r.stdout, r.stderr)
	}
	var where []string
	for _, d := range got.DeadLetters {
		where = append(where, fmt.Sprintf("%s/%s/%s:%d:%s:%t", d.Group, d.Batch, d.File, d.Line, d.Column, d.Cells))
		if d.Reason == "" || d.Table != "SRPatient" {
			t.Errorf("%+v", d)
		}
	}
	want := "g1/20240102_1707/SRPatient.csv:3:DateBirth:true g1/20240102_1707/SRPatient.csv:4:RowIdentifier:true " +
		"g2/20240102_1707/SRPatient.csv:3:DateBirth:true g2/20240102_1707/SRPatient.csv:4:RowIdentifier:true"
	if strings.Join(where, " ") != want {
		t.Errorf("dead letters %v, want %s", where, want)
	}
	r = runSragent(t, nil, "deadletter", "list", "--group", "g2", "--config", cfg)
	r.noCanary(t)
	if r.code != 0 || strings.Contains(r.stdout, "g1 ") || !strings.Contains(r.stdout, "2 dead letters") || !strings.Contains(r.stdout, "DateBirth") {
		t.Errorf("--group g2: %d\n%s", r.code, r.stdout)
	}
}
