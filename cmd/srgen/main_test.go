package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
