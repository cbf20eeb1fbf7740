package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotatingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "sragent.log")
	r, err := openRotating(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two fit, the third rotates
	for i := 0; i < 7; i++ {
		if _, err := r.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	sizes := map[string]int{}
	for _, name := range []string{"sragent.log", "sragent.log.1", "sragent.log.2", "sragent.log.3"} {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(path), name)); err == nil {
			sizes[name] = len(b)
		}
	}
	if sizes["sragent.log"] != 40 || sizes["sragent.log.1"] != 80 || sizes["sragent.log.2"] != 80 || len(sizes) != 3 {
		t.Errorf("files after 7 writes: %v", sizes)
	}
	// Reopening appends.
	r, _ = openRotating(path, 100, 2)
	r.Write([]byte(line))
	r.Close()
	if b, _ := os.ReadFile(path); len(b) != 80 {
		t.Errorf("reopened file has %d bytes", len(b))
	}
}

func TestResolvePaths(t *testing.T) {
	base := filepath.Join(string(filepath.Separator)+"opt", "sragent")
	abs := filepath.Join(string(filepath.Separator)+"data", "in")
	c := Config{}
	c.Input.Dir, c.Archive.Dir, c.Quarantine.Dir, c.Log.File = abs, "archive", `\\gateway\sr\quarantine`, "logs/sragent.log"
	resolvePaths(&c, base)
	if c.Input.Dir != abs || c.Archive.Dir != filepath.Join(base, "archive") || c.Quarantine.Dir != `\\gateway\sr\quarantine` ||
		c.Log.File != filepath.Join(base, "logs", "sragent.log") || c.State.Dir != "" {
		t.Errorf("%+v", c)
	}
}
