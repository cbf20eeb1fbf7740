package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata file name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", filepath.FromSlash(name))
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test ./cmd/sragent -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test ./cmd/sragent -update and review the diff):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// The validate report over testdata/validate/input: every outcome, drift,
// Windows-1252 text, DST edge times, an unknown table.
func TestValidateGolden(t *testing.T) {
	in, err := filepath.Abs(filepath.Join("..", "..", "testdata", "validate", "input"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, in)
	for _, tc := range []struct{ golden, flag string }{{"validate/report.txt", ""}, {"validate/report.json", "--json"}} {
		args := []string{"validate", "--config", cfg}
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		res := runSragent(t, nil, args...)
		if res.code != exitInvalid {
			t.Errorf("exit %d, want %d; stderr %s", res.code, exitInvalid, res.stderr)
		}
		for _, value := range []string{"Zoë", "Brontë", "QRISK2", "Paid", "Blue", "Ffion", "Patel"} {
			if strings.Contains(res.stdout, value) {
				t.Errorf("report quotes the cell value %q", value)
			}
		}
		golden(t, tc.golden, res.stdout)
	}
}
