package producer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/sragent/sragent/manifest"
)

// A chain whose batch fails on every pass (the broker refuses it, the
// archive cannot be written, the registry is down) is failing, not "ok":
// /readyz says so, and so does `sragent status`, from a file the agent
// writes into state.dir after each pass.

// Failure is a chain's batch that failed on consecutive passes.
type Failure struct {
	// Batch is the batch the chain was at.
	Batch string `json:"batch"`
	// Error is the last pass's error (it names batch, file and line,
	// never a cell).
	Error string `json:"error"`
	// Since is when the first of the failed passes ended; Passes counts
	// them.
	Since  time.Time `json:"since"`
	Passes int       `json:"passes"`
}

// FailingFile is the file in state.dir that holds the failing chains as
// of the agent's last pass.
const FailingFile = "failing.json"

// failingRecord is FailingFile's content.
type failingRecord struct {
	AsOf   time.Time          `json:"as_of"`
	Groups map[string]Failure `json:"groups"`
}

// noteChain records the outcome of a pass over group g, which was at
// batch: a failure counts on, a success (or another agent's fencing,
// which is waiting, not failing) clears it.
func (a *Agent) noteChain(g, batch string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var fe *FencedError
	if err == nil || errors.As(err, &fe) {
		delete(a.failing, g)
		return
	}
	f, ok := a.failing[g]
	if !ok || f.Batch != batch {
		f = Failure{Batch: batch, Since: a.now().UTC()}
	}
	f.Error, f.Passes = err.Error(), f.Passes+1
	if a.failing == nil {
		a.failing = map[string]Failure{}
	}
	a.failing[g] = f
}

// pruneFailing forgets the failures of groups with nothing pending.
func (a *Agent) pruneFailing(pending map[string][]manifest.Pending) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for g := range a.failing {
		if pending[g] == nil {
			delete(a.failing, g)
		}
	}
}

// Failing returns the chains whose last passes failed, as of the last pass.
func (a *Agent) Failing() map[string]Failure {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.failing)
}

// writeFailing writes the failing chains into state.dir (not in a dry
// run); a write that fails is logged, never fatal.
func (a *Agent) writeFailing() {
	if a.pub.dry != nil || a.cfg.StateDir == "" {
		return
	}
	b, err := json.MarshalIndent(failingRecord{AsOf: a.now().UTC(), Groups: a.Failing()}, "", "  ")
	if err == nil {
		path := filepath.Join(a.cfg.StateDir, FailingFile)
		tmp := path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		a.log.Warn("cannot record the failing chains for sragent status", "err", err)
	}
}

// ReadFailing returns the failing chains an agent recorded in stateDir at
// its last pass, and when; none when it never wrote any.
func ReadFailing(stateDir string) (map[string]Failure, time.Time, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, FailingFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	var r failingRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", FailingFile, err)
	}
	return r.Groups, r.AsOf, nil
}
