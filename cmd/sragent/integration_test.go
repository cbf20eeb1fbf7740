//go:build integration

package main

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas/srgen"
)

// SIGTERM while the real broker hangs (SIGSTOP: connections open, no
// answers) in the middle of a transaction stops `run` within
// shutdown.timeout, not after the delivery timeout; the next start, once
// the broker answers again, publishes everything exactly once.
func TestStopWithPausedBroker(t *testing.T) {
	k := kafkatest.Single(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 25, Groups: 1, Orgs: 2, Batches: 2, Rows: 30000, Tables: []string{"SRPatient", "SREvent"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s, poll: 200ms}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
%smetrics: {listen: %q}
shutdown: {timeout: 3s}
`, in, filepath.Join(dir, "archive"), filepath.Join(dir, "quarantine"), filepath.Join(dir, "state"),
		kafkaConfig(k, ", partitions: 2, transaction_records: 2000"), freeAddr(t)))
	cmd, out := agentProcess(t, "run", "--config", cfg)
	defer cmd.Process.Kill()
	time.Sleep(3 * time.Second) // publishing by now
	k.Pause(t, 1)
	paused := true
	defer func() {
		if paused {
			k.Continue(t, 1)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	took := time.Since(began)
	k.Continue(t, 1)
	paused = false
	if took > 8*time.Second {
		t.Errorf("SIGTERM with a paused broker took %s; shutdown.timeout is 3s\n%s", took, out)
	}
	t.Logf("stopped in %s", took)
	if res := runSragent(t, nil, "publish", "--config", cfg); res.code != exitOK {
		t.Fatalf("publish after the broker came back: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	checkRowsOnce(t, k, filepath.Join(dir, "archive"), g, 2, g.Tables())
}
