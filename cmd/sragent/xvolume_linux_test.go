//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sragent/sragent/schemas/srgen"
)

// An archive on another filesystem (a tmpfs the test mounts, like an
// archive share beside the Gateway PC's disk) is filled by copying: a kill
// during the copy or during the deletion of the source never stalls the
// chain, never leaves a half-copied archive and never publishes a row
// twice. Mounting needs root; elsewhere the test says so and skips.
func TestKillDuringCrossVolumeArchive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs as a second filesystem (run the tests as root, as .ci/run does in CI containers, to cover it)")
	}
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	os.MkdirAll(vol, 0o755)
	if err := syscall.Mount("tmpfs", vol, "tmpfs", 0, "size=1g"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): no second filesystem to archive to", err)
	}
	t.Cleanup(func() { syscall.Unmount(vol, syscall.MNT_DETACH) })
	in, archive := filepath.Join(dir, "in"), filepath.Join(vol, "archive")
	tables := []string{"SRPatient", "SREvent", "SRCode"}
	g := srgen.New(srgen.Options{Seed: 31, Groups: 1, Orgs: 2, Batches: 3, Rows: 40000, Tables: tables})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
%slog: {level: warn}
`, in, archive, filepath.Join(vol, "quarantine"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 3, transaction_records: 5000, linger: 1ms")))

	// Kill the moment a copy is under way (a .partial folder), or the
	// moment the archived copy is in place while the source still exists.
	phases := map[string]int{}
	for attempt := 0; attempt < 12 && phases["copy"]+phases["delete"] < 6; attempt++ {
		cmd, out := agentProcess(t, "publish", "--config", cfg)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		phase := ""
		for phase == "" {
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("publish failed by itself: %v\n%s", err, out)
				}
				phase = "finished"
				continue
			default:
			}
			phase = movePhase(in, archive, attempt%2 == 1)
		}
		if phase == "finished" {
			break
		}
		cmd.Process.Kill()
		<-exited
		phases[phase]++
	}
	if phases["copy"] == 0 {
		t.Fatalf("no kill landed during a copy (%v): the test proves nothing", phases)
	}
	if res := runSragent(t, nil, "publish", "--config", cfg); res.code != 0 {
		t.Fatalf("final publish: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(in, "group1")); len(entries) != 0 {
		t.Fatalf("%d batch folders left in the input: the chain stalled", len(entries))
	}
	entries, _ := os.ReadDir(filepath.Join(archive, "group1"))
	if len(entries) != 3 {
		t.Errorf("archive holds %d folders, want the 3 batches", len(entries))
	}
	for _, e := range entries {
		verifySums(t, filepath.Join(archive, "group1", e.Name()))
	}
	rows := checkRowsOnce(t, k, archive, g, 3, tables)
	t.Logf("kills by phase of the move: %v; %d rows exactly once", phases, rows)
}

// movePhase reports "copy" while a batch is being copied into the
// archive, "delete" (when wantDelete) once an archived batch is in place
// while its source is still in the input, or "".
func movePhase(in, archive string, wantDelete bool) string {
	entries, _ := os.ReadDir(filepath.Join(archive, "group1"))
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".partial") {
			if !wantDelete {
				return "copy"
			}
			continue
		}
		if _, err := os.Stat(filepath.Join(in, "group1", name)); err == nil && wantDelete {
			return "delete"
		}
	}
	time.Sleep(200 * time.Microsecond)
	return ""
}

// verifySums checks an archived batch against its SHA256SUMS: every file
// there and listed, every sum right.
func verifySums(t *testing.T, dir string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Errorf("%s: %v", dir, err)
		return
	}
	listed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		b, err := os.ReadFile(filepath.Join(dir, name))
		if h := sha256.Sum256(b); err != nil || hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s/%s does not match SHA256SUMS (%v)", filepath.Base(dir), name, err)
		}
		listed++
	}
	if files, _ := os.ReadDir(dir); len(files) != listed+1 {
		t.Errorf("%s holds %d files, SHA256SUMS lists %d", filepath.Base(dir), len(files), listed)
	}
}
