package producer

import (
	"fmt"
	"maps"
	"time"

	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/schemas"
)

// Held says why a batch stamped more than tolerance ahead of now is held
// and never published, or "". Published, its cut-off would make every
// real batch after it look older.
func Held(p manifest.Pending, now time.Time, tolerance time.Duration) string {
	limit := now.Add(tolerance)
	for _, at := range []struct {
		what string
		t    time.Time
	}{{"folder name", p.Stamp.Time()}, {"cut-off (DateExtractTo)", p.CutOff}} {
		if !at.t.IsZero() && at.t.After(limit) {
			return fmt.Sprintf("held: its %s is %s, more than %s ahead of this machine's clock; fix the name or the clock (input.future_tolerance)",
				at.what, at.t.UTC().Format(time.RFC3339), tolerance)
		}
	}
	return ""
}

// waitReason classifies a pending batch for the waiting_batches gauge:
// "held", "unreadable", "incomplete", or "" when it is ready.
func (a *Agent) waitReason(p manifest.Pending) string {
	switch {
	case p.Name == manifest.UnreadableGroup:
		return "unreadable"
	case a.future(p) != "":
		return "held"
	case !p.Ready:
		return "incomplete"
	}
	return ""
}

// observe refreshes the chain gauges and the halts health checks read.
func (a *Agent) observe(pass *Pass) {
	pending := map[string]int{}
	waiting := map[string]map[string]int{}
	incomplete := map[string]string{}
	if ps, err := manifest.Discover(a.cfg.InputDir, a.cfg.Dialect.Manifest(), a.cfg.Settle, a.now()); err == nil {
		for _, p := range ps {
			pending[p.Group] += 0 // every group found gets its series
			if p.Name != manifest.UnreadableGroup {
				pending[p.Group]++
			}
			if waiting[p.Group] == nil {
				waiting[p.Group] = map[string]int{}
			}
			if r := a.waitReason(p); r != "" {
				waiting[p.Group][r]++
			}
			if _, seen := incomplete[p.Group]; !seen && !p.Ready && p.Name != manifest.UnreadableGroup {
				why := p.Waiting
				if held := a.future(p); held != "" {
					why = held
				}
				incomplete[p.Group] = p.Name + ": " + why
			}
		}
	}
	halted := map[string]string{}
	if st := a.pub.State(); st != nil {
		for g, pr := range st.Groups {
			if pr.Halted != "" {
				halted[g] = pr.Halted
			}
			if _, ok := pending[g]; !ok {
				pending[g] = 0
			}
		}
	}
	for g, why := range pass.Halted {
		halted[g] = why
	}
	for g, n := range pending {
		_, h := halted[g]
		a.pub.metrics.chain(g, h, n, waiting[g])
	}
	a.mu.Lock()
	a.halted, a.incomplete = halted, incomplete
	a.mu.Unlock()
}

// Halted returns the halted chains and why, as of the last pass.
func (a *Agent) Halted() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.halted)
}

// Incomplete returns, after the last pass, each group's first batch that
// is not ready (files missing or still changing, or held) and why.
func (a *Agent) Incomplete() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.incomplete)
}

// primeMetrics sets the per-group gauges from the state read at start, so
// that the 21-day countdown survives a restart.
func (a *Agent) primeMetrics() {
	st := a.pub.State()
	if st == nil || a.pub.metrics == nil {
		return
	}
	var tables []string
	for _, t := range schemas.Tables() {
		tables = append(tables, t.Name)
	}
	a.pub.metrics.primeRows(tables)
	for g, pr := range st.Groups {
		for _, r := range pr.Tables {
			if to, err := manifest.ParseStamp(r.To); err == nil {
				a.pub.metrics.setCutoff(g, to.Time())
			}
		}
	}
	a.observe(&Pass{Halted: map[string]string{}})
}
