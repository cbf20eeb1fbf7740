package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sragent/sragent/manifest"
)

// AgentConfig says where batches come from and go to.
type AgentConfig struct {
	InputDir, ArchiveDir, QuarantineDir string
	// Settle is how long a batch folder must be unchanged to be ready.
	Settle time.Duration
	// Delimiter of the manifest; the default is ','.
	Delimiter rune
}

// Agent publishes the pending batches of every chain in order, archives
// what it published, quarantines what is bad and halts a chain on a gap.
type Agent struct {
	pub *Publisher
	cfg AgentConfig
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex
	halted map[string]string // after the last pass, for health checks
}

// NewAgent returns an Agent over a started Publisher.
func NewAgent(pub *Publisher, cfg AgentConfig, log *slog.Logger) *Agent {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Delimiter == 0 {
		cfg.Delimiter = ','
	}
	return &Agent{pub: pub, cfg: cfg, log: log, now: time.Now}
}

// BatchReport is what one pass did with one batch. Reason never quotes a
// cell.
type BatchReport struct {
	Group, Batch string
	// Outcome is an Outcome name, or "waiting".
	Outcome                      string
	Reason                       string
	Events, Deletes, DeadLetters int64
	// MovedTo is the archive or quarantine folder.
	MovedTo string
}

// Pass is the result of one RunOnce.
type Pass struct {
	Batches []BatchReport
	// Halted maps each halted group to why.
	Halted map[string]string
}

// Groups lists the reporting groups with batch folders in the input.
func (a *Agent) Groups() ([]string, error) {
	ps, err := manifest.Discover(a.cfg.InputDir, 0, a.now())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range ps {
		if !slices.Contains(out, p.Group) {
			out = append(out, p.Group)
		}
	}
	return out, nil
}

// RunOnce publishes every ready batch, chain by chain in folder order. A
// chain stops at a batch that is not ready, that is quarantined, or that
// has a gap; other chains go on. The error is for failures of Kafka, the
// registry or the file system, after which the pass stopped.
func (a *Agent) RunOnce(ctx context.Context) (*Pass, error) {
	ps, err := manifest.Discover(a.cfg.InputDir, a.cfg.Settle, a.now())
	if err != nil {
		return nil, err
	}
	pass := &Pass{Halted: map[string]string{}}
	byGroup := map[string][]manifest.Pending{}
	var groups []string
	for _, p := range ps {
		if byGroup[p.Group] == nil {
			groups = append(groups, p.Group)
		}
		byGroup[p.Group] = append(byGroup[p.Group], p)
	}
	var errs []error
	for _, g := range groups {
		if err := a.chain(ctx, g, byGroup[g], pass); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	a.observe(pass)
	if len(errs) > 0 {
		a.pub.metrics.passError()
	}
	return pass, errors.Join(errs...)
}

// observe refreshes the chain gauges and the halts health checks read.
func (a *Agent) observe(pass *Pass) {
	pending := map[string]int{}
	if ps, err := manifest.Discover(a.cfg.InputDir, a.cfg.Settle, a.now()); err == nil {
		for _, p := range ps {
			pending[p.Group]++
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
		a.pub.metrics.chain(g, h, n)
	}
	a.mu.Lock()
	a.halted = halted
	a.mu.Unlock()
}

// Halted returns the halted chains and why, as of the last pass.
func (a *Agent) Halted() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.halted)
}

// PrimeMetrics sets the per-group gauges from the state read at start, so
// that the 21-day countdown survives a restart.
func (a *Agent) PrimeMetrics() {
	st := a.pub.State()
	if st == nil || a.pub.metrics == nil {
		return
	}
	for g, pr := range st.Groups {
		for _, r := range pr.Tables {
			if to, err := manifest.ParseStamp(r.To); err == nil {
				a.pub.metrics.setCutoff(g, to.Time())
			}
		}
	}
	a.observe(&Pass{Halted: map[string]string{}})
}

func (a *Agent) chain(ctx context.Context, g string, pending []manifest.Pending, pass *Pass) error {
	for i, p := range pending {
		prog := a.pub.State().Progress(g)
		if prog.Halted != "" {
			if !a.gapResolved(prog, pending[i:]) {
				pass.Halted[g] = prog.Halted
				return nil
			}
			a.log.Info("a full batch follows the gap; resuming the chain", "group", g, "batch", p.Name)
			if err := a.pub.Resume(ctx, g); err != nil {
				return err
			}
		}
		if !p.Ready {
			pass.Batches = append(pass.Batches, BatchReport{Group: g, Batch: p.Name, Outcome: "waiting", Reason: p.Waiting})
			return nil
		}
		stop, err := a.batch(ctx, p, pass)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// gapResolved reports whether a halt is a gap that a later ready batch
// closes with full files of every gapped table.
func (a *Agent) gapResolved(prog *Progress, pending []manifest.Pending) bool {
	if len(prog.GapTables) == 0 {
		return false
	}
	for _, p := range pending[1:] {
		if !p.Ready {
			return false
		}
		b, err := manifest.Load(p.Dir, p.Group, manifest.Options{Delimiter: a.cfg.Delimiter})
		if err != nil {
			return false
		}
		full := true
		for _, t := range prog.GapTables {
			e, ok := b.Manifest.Entry(t)
			full = full && ok && !e.IsDelta
		}
		b.Close()
		if full {
			return true
		}
	}
	return false
}

// batch publishes one ready batch; stop is true when the chain must wait.
func (a *Agent) batch(ctx context.Context, p manifest.Pending, pass *Pass) (stop bool, err error) {
	log := a.log.With("group", p.Group, "batch", p.Name)
	rep := BatchReport{Group: p.Group, Batch: p.Name}
	b, err := manifest.Load(p.Dir, p.Group, manifest.Options{Delimiter: a.cfg.Delimiter})
	if err != nil {
		var list manifest.ErrorList
		if !errors.As(err, &list) {
			return true, err
		}
		rep.Outcome, rep.Reason = Invalid.String(), list.Error()
		a.pub.metrics.batch(p.Group, Invalid, 0, time.Time{})
		return true, a.quarantine(ctx, p, &rep, pass, log)
	}
	began := a.now()
	res, err := a.pub.Publish(ctx, b)
	cutoff := b.Manifest.CutOff()
	b.Close()
	if err != nil {
		return true, err
	}
	rep.Outcome, rep.Reason = res.Outcome.String(), res.Reason
	rep.Events, rep.Deletes, rep.DeadLetters = res.Events, res.Deletes, res.DeadLetters
	var cut time.Time
	if !cutoff.IsZero() {
		cut = cutoff.Time()
	}
	a.pub.metrics.batch(p.Group, res.Outcome, a.now().Sub(began), cut)
	switch res.Outcome {
	case Published, Duplicate:
		dst, err := archive(p, a.cfg.ArchiveDir)
		if err != nil {
			return true, err
		}
		rep.MovedTo = dst
		log.Info("batch "+res.Outcome.String(), "events", res.Events, "dead_letters", res.DeadLetters, "archived_to", dst)
		pass.Batches = append(pass.Batches, rep)
		return false, nil
	case Halted:
		log.Warn("chain halted", "reason", res.Reason)
		pass.Batches = append(pass.Batches, rep)
		pass.Halted[p.Group] = res.Reason
		return true, a.pub.Halt(ctx, p.Group, res.Reason, res.GapTables)
	}
	return true, a.quarantine(ctx, p, &rep, pass, log)
}

func (a *Agent) quarantine(ctx context.Context, p manifest.Pending, rep *BatchReport, pass *Pass, log *slog.Logger) error {
	dst, err := quarantine(p, a.cfg.QuarantineDir, rep.Reason, a.now())
	if err != nil {
		return err
	}
	rep.MovedTo = dst
	pass.Batches = append(pass.Batches, *rep)
	reason := fmt.Sprintf("batch %s was quarantined (%s): %s", p.Name, rep.Outcome, rep.Reason)
	pass.Halted[p.Group] = reason
	log.Error("batch quarantined; the chain waits", "outcome", rep.Outcome, "quarantined_to", dst)
	return a.pub.Halt(ctx, p.Group, reason, nil)
}

// Halt records that a group's chain waits, and why.
func (p *Publisher) Halt(ctx context.Context, group, reason string, gapTables []string) error {
	return p.updateProgress(ctx, group, func(pr *Progress) {
		pr.Halted, pr.GapTables, pr.Resume = reason, gapTables, false
	})
}

// Resume lifts a group's halt: the next batch is published even though it
// does not continue the chain (an operator accepted the gap).
func (p *Publisher) Resume(ctx context.Context, group string) error {
	return p.updateProgress(ctx, group, func(pr *Progress) {
		pr.Halted, pr.GapTables, pr.Resume = "", nil, true
	})
}

func (p *Publisher) updateProgress(ctx context.Context, group string, mutate func(*Progress)) error {
	if p.stale || p.state == nil {
		if err := p.reload(ctx); err != nil {
			return err
		}
	}
	cl, err := p.client(ctx, group)
	if err != nil {
		return err
	}
	cur := copyProgress(p.state.Progress(group))
	mutate(&cur)
	t, err := p.begin(cl, group)
	if err != nil {
		return err
	}
	return p.commit(ctx, t, &cur)
}
