package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer"
	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas/srgen"
)

// Two agents on one input, each with its own state.dir so that the local
// lock does not stop them (two daemons, or a daemon and a manual publish
// run from another config): they fence each other, and whoever publishes,
// every row of a 200k-row chain lands exactly once, no checkpoint goes
// backwards, and the chain neither wedges nor halts.
func TestTwoAgentsOnOneInput(t *testing.T) {
	tables := []string{"SRPatient", "SREvent", "SRCode"}
	for _, tc := range []struct {
		name   string
		second string // the other agent: "run" or "publish" (started again until done)
	}{{"two daemons", "run"}, {"daemon and publish", "publish"}} {
		for round := range 2 {
			t.Run(fmt.Sprintf("%s/%d", tc.name, round), func(t *testing.T) {
				k := brokerAndRegistry(t)
				dir := t.TempDir()
				in, archive := filepath.Join(dir, "in"), filepath.Join(dir, "archive")
				g := srgen.New(srgen.Options{Seed: uint64(60 + round), Groups: 1, Orgs: 2, Batches: 4, Rows: 40000, Tables: tables})
				if err := g.Write(in); err != nil {
					t.Fatal(err)
				}
				config := func(name string) string {
					return writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s, poll: 100ms}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
metrics: {listen: %q}
%slog: {level: warn}
`, in, archive, filepath.Join(dir, "quarantine"), filepath.Join(dir, "state-"+name), freeAddr(t), kafkaConfig(k, ", partitions: 3, transaction_records: 2000, linger: 1ms")))
				}
				cfgA, cfgB := config("a"), config("b")
				daemon, outA, exitedA := daemonProcess(t, cfgA)
				// The second agent starts while the first is publishing,
				// later each round, and (publish) again until all is done.
				time.Sleep(time.Duration(150+250*round) * time.Millisecond)
				outB := &syncBuffer{}
				var exitedB <-chan struct{}
				var second *exec.Cmd
				done := func() bool {
					entries, _ := os.ReadDir(filepath.Join(in, "group1"))
					return len(entries) == 0
				}
				deadline := time.Now().Add(3 * time.Minute)
				runs := 0
				for !done() && time.Now().Before(deadline) {
					switch {
					case tc.second == "publish":
						cmd, out := agentProcess(t, "publish", "--config", cfgB)
						runs++
						if err := cmd.Wait(); err != nil && !strings.Contains(out.String(), "another sragent is publishing group group1") {
							t.Errorf("publish failed for another reason: %v\n%s", err, out)
						}
						outB.Write([]byte(out.String()))
						continue
					case second == nil:
						second, outB, exitedB = daemonProcess(t, cfgB)
						runs++
					}
					select {
					case <-exitedA:
						t.Fatalf("the first daemon exited:\n%s", outA)
					case <-exitedB:
						t.Fatalf("the second daemon exited:\n%s", outB)
					case <-time.After(100 * time.Millisecond):
					}
				}
				if !done() {
					t.Fatalf("the chain wedged: batches left in the input\n--- a:\n%s\n--- b:\n%s", outA, outB)
				}
				for _, c := range []*exec.Cmd{daemon, second} {
					if c != nil {
						c.Process.Signal(syscall.SIGTERM)
					}
				}
				for _, ch := range []<-chan struct{}{exitedA, exitedB} {
					if ch != nil {
						<-ch
					}
				}
				logs := outA.String() + outB.String()
				if strings.Contains(logs, "chain halted") || strings.Contains(logs, "quarantined") {
					t.Errorf("a chain halted or a batch was quarantined:\n%s", logs)
				}
				rows := checkRowsOnce(t, k, archive, g, 4, tables)
				checkpointsForward(t, k, "group1")
				if os.Getenv("SRCI_SHOW_LOGS") != "" {
					t.Logf("--- a:\n%s\n--- b:\n%s", outA, outB)
				}
				t.Logf("%d rows exactly once; %d runs of %s; %d fenced", rows, runs, tc.second, strings.Count(logs, "another sragent is publishing"))
			})
		}
	}
}

// daemonProcess starts `sragent run`; the channel closes when it exits.
func daemonProcess(t *testing.T, config string) (*exec.Cmd, *syncBuffer, <-chan struct{}) {
	t.Helper()
	cmd, out := agentProcess(t, "run", "--config", config)
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	return cmd, out, exited
}

// checkpointsForward reads every committed checkpoint of the group from
// the state topic, in commit order: none is before the one committed
// before it.
func checkpointsForward(t *testing.T, k *kafkatest.Env, group string) {
	t.Helper()
	cfg := producer.Config{Brokers: k.Brokers, TopicPrefix: k.Prefix}
	var last *producer.Progress
	n := 0
	err := producer.ReadCommitted(t.Context(), cfg, []string{cfg.StateTopic()}, func(r *kgo.Record) {
		if string(r.Key) != "group/"+group || r.Value == nil {
			return
		}
		var p producer.Progress
		if err := json.Unmarshal(r.Value, &p); err != nil {
			t.Fatal(err)
		}
		if last != nil && checkpointBefore(&p, last) {
			t.Errorf("checkpoint went backwards: %s/%d/%d (done %v) after %s/%d/%d (done %v)",
				p.Batch, p.File, p.Line, p.Done, last.Batch, last.File, last.Line, last.Done)
		}
		last = &p
		n++
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no checkpoint committed")
	}
}

// checkpointBefore reports whether checkpoint p is earlier in its chain
// than q.
func checkpointBefore(p, q *producer.Progress) bool {
	switch {
	case p.Batch != q.Batch:
		return p.Batch < q.Batch
	case p.Done != q.Done:
		return q.Done
	case p.File != q.File:
		return p.File < q.File
	}
	return p.Line < q.Line
}
