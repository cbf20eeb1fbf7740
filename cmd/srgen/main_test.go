package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sragent/sragent/schemas/srgen"
)

func TestRun(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"--out", out, "--groups", "1", "--orgs", "1", "--batches", "2", "--rows", "5", "--zip=false", "--tables", "SRPatient,SRCode"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{"group1/20240329_1707/SRManifest.csv", "group1/20240329_1707/SRCode.csv", "group1/20240330_1707/SRPatient.csv"} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(f))); err != nil {
			t.Error(err)
		}
	}
	man, _ := os.ReadFile(filepath.Join(out, "group1", "20240330_1707", "SRManifest.csv"))
	if !strings.Contains(string(man), "SRCode,Y,N,20240329_1707,20240330_1707") {
		t.Errorf("second manifest:\n%s", man)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--out", t.TempDir(), "--tables", "SRNope"}, {"--out", t.TempDir(), "--start", "2024"}, {"--bogus"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

// --help and -h print the usage and succeed.
func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "-out") {
			t.Errorf("%s: exit %d, usage %q", arg, code, stderr.String())
		}
	}
}

// --expected writes every group's tables as srgen.Expected gives them.
func TestRunExpected(t *testing.T) {
	out := t.TempDir()
	exp := filepath.Join(out, "expected.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--out", out, "--groups", "2", "--orgs", "1", "--batches", "2", "--rows", "5", "--tables", "SRPatient", "--expected", exp}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	raw, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]map[string]map[string]string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	g := srgen.New(srgen.Options{Seed: 1, Groups: 2, Orgs: 1, Batches: 2, Rows: 5, Tables: []string{"SRPatient"}})
	if err := g.Write(t.TempDir()); err != nil { // the state the deltas leave
		t.Fatal(err)
	}
	for _, group := range g.Groups() {
		want := g.Expected(group, "SRPatient")
		if len(want) == 0 || len(got[group]["SRPatient"]) != len(want) {
			t.Errorf("%s: %d rows in the file, srgen expects %d", group, len(got[group]["SRPatient"]), len(want))
		}
		for id, row := range want {
			if fmt.Sprint(got[group]["SRPatient"][fmt.Sprint(id)]) != fmt.Sprint(row) {
				t.Errorf("%s row %d differs", group, id)
			}
		}
	}
}
