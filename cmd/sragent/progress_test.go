package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	p := &progress{w: &out, tty: true, now: func() time.Time { return now }}
	p.update("20240101_1707", "SRCode.csv", 0, 4<<20, 0, false)
	now = now.Add(2 * time.Second)
	p.update("20240101_1707", "SRCode.csv", 1<<20, 4<<20, 1000, false)
	now = now.Add(50 * time.Millisecond) // too soon to redraw
	p.update("20240101_1707", "SRCode.csv", 2<<20, 4<<20, 1500, false)
	now = now.Add(6 * time.Second)
	p.update("20240101_1707", "SRCode.csv", 4<<20, 4<<20, 4000, true)
	got := out.String()
	lines := strings.Split(got, "\r")
	if len(lines) != 4 || !strings.HasSuffix(got, "\n") {
		t.Fatalf("%d redraws: %q", len(lines)-1, got)
	}
	if !strings.Contains(lines[2], " 25% 1.0MiB/4.0MiB 1000 rows 500 rows/s ETA 6s") {
		t.Errorf("second draw %q", lines[2])
	}
	if !strings.Contains(lines[3], "100% 4.0MiB/4.0MiB 4000 rows") || !strings.Contains(lines[3], "[========================]") {
		t.Errorf("last draw %q", lines[3])
	}
}

func TestProgressLogLines(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	p := &progress{log: slog.New(slog.NewTextHandler(&out, nil)), now: func() time.Time { return now }, logEvery: 10 * time.Second}
	for i := 0; i <= 25; i++ {
		p.update("b", "SREvent.csv", int64(i), 25, int64(i*10), i == 25)
		now = now.Add(time.Second)
	}
	if n := strings.Count(out.String(), "msg=progress"); n != 4 { // at 0s, 10s, 20s, and done
		t.Errorf("%d log lines:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "file=SREvent.csv bytes=25 total_bytes=25 rows=250") {
		t.Errorf("final line:\n%s", out.String())
	}
}
