package main

import (
	"strings"
	"testing"
)

// The README's first command: demo generates batches and validates them all.
func TestDemo(t *testing.T) {
	res := runSragent(t, nil, "demo", "--rows", "50")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"batch group1/20240329_1707: VALID", "batch group2/20240401_1707: VALID", "8 batches: 8 valid", "SRCode.csv (zip)"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, res.stdout)
		}
	}
}
