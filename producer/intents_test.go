package producer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sragent/sragent/schemas/srgen"
)

// `chain resume` reaches a running agent without fencing it: the request
// is refused for an unknown group and for a chain that is not halted, and
// the agent applies it at its next pass.
func TestResumeRequestReachesRunningAgent(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 31, Groups: 2, Orgs: 1, Batches: 3, Rows: 20, Tables: []string{"SRPatient"}})
	os.RemoveAll(filepath.Join(e.in, "group1", g.BatchName(1))) // a lost delta
	ctx := context.Background()
	err := e.withAgent(ctx, nil, func(a *Agent) error {
		pass, err := a.RunOnce(ctx)
		if err != nil || pass.Halted["group1"] == "" {
			t.Fatalf("first pass: %+v %v", pass, err)
		}
		for _, tt := range []struct{ group, want string }{
			{"group9", `no reporting group "group9"`},
			{"group2", "not halted"},
		} {
			if _, err := RequestResume(ctx, e.cfg, tt.group, "test"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("resume %s: %v, want %q", tt.group, err, tt.want)
			}
		}
		if _, err := RequestResume(ctx, e.cfg, "group1", "test"); err != nil {
			t.Fatal(err)
		}
		pass, err = a.RunOnce(ctx) // the running agent, not fenced
		if err != nil || len(pass.Halted) != 0 || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
			t.Fatalf("after the request: %+v %v", pass, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Applied once: a later gap halts again.
	if prog := e.state(ctx).Progress("group1"); prog.Halted != "" || prog.Resume || prog.ResumeIntent == "" {
		t.Errorf("progress after the resume: %+v", prog)
	}
}

// A state topic that cannot be read to its end fails the start loudly
// instead of passing for empty (which would publish everything again).
func TestStateReadStallFails(t *testing.T) {
	e := newFakeEnv(t)
	e.chain(srgen.Options{Seed: 32, Groups: 1, Orgs: 1, Batches: 1, Rows: 10, Tables: []string{"SRPatient"}})
	ctx := context.Background()
	e.mustRun(ctx)
	defer func(d time.Duration) { stateReadStall = d }(stateReadStall)
	stateReadStall = 600 * time.Millisecond
	e.k.Fake.ControlKey(int16(kmsg.Fetch), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		e.k.Fake.KeepControl()
		resp := kreq.ResponseKind().(*kmsg.FetchResponse)
		return resp, nil, true // nothing, ever
	})
	err := e.withAgent(ctx, nil, func(*Agent) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "the state cannot be read completely") {
		t.Fatalf("got %v", err)
	}
}
