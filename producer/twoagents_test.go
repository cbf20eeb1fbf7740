package producer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sragent/sragent/schemas/srgen"
)

// Two agents on one input (two daemons, or a daemon and a manual publish)
// fence each other; whoever publishes, every row lands exactly once, no
// checkpoint goes backwards and the chain never wedges or halts.
func TestTwoAgentsPublishExactlyOnce(t *testing.T) {
	for round := range 3 {
		e := newEnv(t)
		e.cfg.TxnRecords = 40
		g := e.chain(srgen.Options{Seed: uint64(40 + round), Groups: 1, Orgs: 2, Batches: 4, Rows: 1500, Tables: []string{"SRPatient", "SRCode"}})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var wg, opened sync.WaitGroup
		opened.Add(2)
		var mu sync.Mutex
		var fenced int
		checkpoints := map[string]Progress{} // the last checkpoint each agent saw committed
		for agent := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cfg := e.agentConfig()
				cfg.FencedBackoff = 20 * time.Millisecond
				cfg.StateDir = t.TempDir() // each agent its own table state
				a, err := Open(ctx, cfg)
				opened.Done()
				if err != nil {
					t.Error(err)
					return
				}
				defer a.Close()
				opened.Wait() // both have fenced once: now they race
				for i := 0; i < 400 && ctx.Err() == nil; i++ {
					pass, err := a.RunOnce(ctx)
					var fe *FencedError
					mu.Lock()
					if errors.As(err, &fe) {
						fenced++
					}
					if pass != nil && len(pass.Halted) > 0 {
						t.Errorf("agent %d: halted %v", agent, pass.Halted)
					}
					if prog := a.State().Progress("group1"); prog.Batch != "" {
						if last, ok := checkpoints[string(rune('a'+agent))]; ok && before(prog, &last) {
							t.Errorf("agent %d: checkpoint went backwards: %s/%d/%d after %s/%d/%d", agent,
								prog.Batch, prog.File, prog.Line, last.Batch, last.File, last.Line)
						}
						checkpoints[string(rune('a'+agent))] = copyProgress(prog)
					}
					mu.Unlock()
					if entries, _ := os.ReadDir(filepath.Join(e.in, "group1")); len(entries) == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		cancel()
		if entries, _ := os.ReadDir(filepath.Join(e.in, "group1")); len(entries) != 0 {
			t.Fatalf("round %d: %d batches never published: the chain wedged", round, len(entries))
		}
		verifyExactlyOnce(t, e, g)
		t.Logf("round %d: %d fenced passes", round, fenced)
	}
}

// before reports whether checkpoint p is earlier in its chain than q.
func before(p, q *Progress) bool {
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
