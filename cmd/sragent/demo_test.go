package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The README's first command: demo generates batches, publishes them to an
// in-process broker and registry, and reports what a consumer finds.
func TestDemo(t *testing.T) {
	res := runSragent(t, nil, "demo", "--rows", "50")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := strings.Count(res.stdout, " published "); n != 8 {
		t.Errorf("%d batches published, want 8:\n%s", n, res.stdout)
	}
	// SRCode has full files (markers) and deletes (tombstones).
	m := regexp.MustCompile(`systmone\.SRCode\s+(\d+)\s+(\d+)\s+(\d+)`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("no SRCode line:\n%s", res.stdout)
	}
	events, _ := strconv.Atoi(m[1])
	tombstones, _ := strconv.Atoi(m[2])
	markers, _ := strconv.Atoi(m[3])
	if events == 0 || tombstones == 0 || markers != 2*2*2*3 { // 2 groups x 2 full files x begin+end x 3 partitions
		t.Errorf("SRCode: %d events, %d tombstones, %d markers:\n%s", events, tombstones, markers, res.stdout)
	}
}
