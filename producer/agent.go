package producer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sragent/sragent/manifest"
)

// Agent publishes the pending batches of every chain in order, archives
// what it published, quarantines what is bad and halts a chain on a gap.
// Over a dry-run Publisher it predicts all of that and changes nothing.
type Agent struct {
	pub *Publisher
	reg *Registry
	cfg AgentConfig
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex
	halted map[string]string // after the last pass, for health checks
	// incomplete: group → its first batch waiting for files, and why.
	incomplete map[string]string
	reported   map[manifest.Ignored]bool // logged by reportIgnored
	// missingSeen: when this agent first saw each batch folder lack a
	// listed file (see incompleteSince).
	missingSeen map[string]time.Time

	failing map[string]Failure // group → its batch that failed on the last passes
	at      string             // the batch the chain being published is at

	// fenced holds the groups another sragent publishes: skipped until
	// the time, the wait doubling each time from FencedBackoff.
	fenced map[string]backoff
}

type backoff struct {
	until time.Time
	wait  time.Duration
}

// BatchReport is what one pass did (or, in a dry run, would do) with one
// batch.
type BatchReport struct {
	Group string `json:"group"`
	Batch string `json:"batch"`
	Result
	// MovedTo is the archive or quarantine folder ("" in a dry run).
	MovedTo string `json:"moved_to,omitempty"`
	// NotArchived says why a batch that was published (or was a
	// duplicate) is still in the input folder: its move to the archive
	// failed, and is tried again at the next pass.
	NotArchived string `json:"not_archived,omitempty"`
}

// Pass is the result of one RunOnce.
type Pass struct {
	Batches []BatchReport
	// Halted maps each group whose chain needs an operator to why.
	Halted map[string]string
	// Ignored are the entries of the input folder that look like batches
	// or groups but are not read (manifest.Survey), and why.
	Ignored []manifest.Ignored
}

// groups lists the reporting groups with batch folders in the input.
func (a *Agent) groups() ([]string, error) {
	ps, err := manifest.Discover(a.cfg.InputDir, a.cfg.Dialect.Manifest(), 0, a.now())
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

// RunOnce publishes every ready batch, chain by chain in cut-off order (or
// only the batch folders named in dirs, wherever they are). A chain stops at a batch that is not ready, that is quarantined,
// or that has a gap; other chains go on. The error is for failures of
// Kafka, the registry or the file system, after which the pass stopped.
func (a *Agent) RunOnce(ctx context.Context, dirs ...string) (*Pass, error) {
	ps, ignored, err := a.pending(dirs)
	if err != nil {
		return nil, err
	}
	pass := &Pass{Halted: map[string]string{}, Ignored: ignored}
	a.reportIgnored(ignored)
	// A folder no longer waiting for a file (moved away, or complete)
	// starts afresh if it comes back incomplete.
	for dir := range a.missingSeen {
		if !slices.ContainsFunc(ps, func(p manifest.Pending) bool { return p.Dir == dir && p.Missing != "" }) {
			delete(a.missingSeen, dir)
		}
	}
	var errs []error
	if err := a.pub.applyIntents(ctx, a.backingOff); err != nil {
		errs = append(errs, err)
	}
	byGroup := map[string][]manifest.Pending{}
	var groups []string
	for _, p := range ps {
		if byGroup[p.Group] == nil {
			groups = append(groups, p.Group)
		}
		byGroup[p.Group] = append(byGroup[p.Group], p)
	}
	for _, g := range groups {
		if b, ok := a.fenced[g]; ok && a.now().Before(b.until) {
			// Said once, when it was fenced: waiting is not a failure.
			a.log.Debug("another sragent is publishing this group; waiting", "group", g, "until", b.until.Format(time.RFC3339))
			continue
		}
		a.pub.metrics.primeGroup(g)
		// Continue the chain from where the committed state stands.
		manifest.OrderChain(byGroup[g], a.pub.State().Progress(g).chainCutOff())
		err := a.chain(ctx, g, byGroup[g], pass)
		a.backOff(g, err)
		if ctx.Err() == nil {
			a.noteChain(g, a.at, err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	if ctx.Err() == nil {
		a.pruneFailing(byGroup)
	}
	a.observe(pass)
	a.writeFailing()
	if len(errs) > 0 {
		a.pub.metrics.passError()
	}
	return pass, errors.Join(errs...)
}

// backingOff reports whether a group waits because another agent fenced
// this one from it.
func (a *Agent) backingOff(group string) bool {
	b, ok := a.fenced[group]
	return ok && a.now().Before(b.until)
}

// backOff starts or doubles the wait of a group another sragent fenced
// this one from, and forgets it after a pass without.
func (a *Agent) backOff(group string, err error) {
	var fe *FencedError
	if !errors.As(err, &fe) {
		delete(a.fenced, group)
		return
	}
	b := a.fenced[group]
	b.wait = min(max(2*b.wait, a.cfg.FencedBackoff), 10*a.cfg.FencedBackoff)
	b.until = a.now().Add(b.wait)
	a.fenced[group] = b
	a.log.Warn("another sragent is publishing this group; waiting before taking it over", "group", group,
		"transactional_id", fe.TransactionalID, "wait", b.wait.String())
}

// pending returns the input's pending batches and the entries it does
// not read, or the named folders (the group is their parent folder's
// name, or DefaultGroup directly in the input folder).
func (a *Agent) pending(dirs []string) ([]manifest.Pending, []manifest.Ignored, error) {
	if len(dirs) == 0 {
		return manifest.Survey(a.cfg.InputDir, a.cfg.Dialect.Manifest(), a.cfg.Settle, a.now())
	}
	in, _ := filepath.Abs(a.cfg.InputDir)
	var out []manifest.Pending
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, nil, fmt.Errorf("resolve %s: %w", d, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, nil, fmt.Errorf("%s is not a batch folder", d)
		}
		group := filepath.Base(filepath.Dir(abs))
		if filepath.Dir(abs) == in {
			group = manifest.DefaultGroup
		}
		out = append(out, manifest.Inspect(abs, group, a.cfg.Dialect.Manifest(), a.cfg.Settle, a.now()))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, nil, nil
}

func (a *Agent) chain(ctx context.Context, g string, pending []manifest.Pending, pass *Pass) error {
	for i, p := range pending {
		a.at = p.Name
		prog := a.pub.State().Progress(g)
		switch {
		case prog.Halted == "":
		case prog.Changed && p.Name == prog.Batch:
			// Publish compares the files with those first published:
			// back as they were, the batch goes on.
		case prog.HaltedAt != "" && !prog.Changed && len(prog.GapTables) > 0 && p.Name < prog.HaltedAt,
			prog.HaltedAt != "" && !prog.Changed && len(prog.GapTables) == 0 && p.Name == prog.HaltedAt:
			// A gap with another batch first (the missing deltas, dropped
			// in), or a quarantined batch back in the input (fixed, or
			// replaced): judged again, it publishes or halts the chain
			// again.
		case a.gapResolved(prog, pending[i:]):
			a.log.Info("a full batch follows the gap; resuming the chain", "group", g, "batch", p.Name)
			if err := a.pub.Resume(ctx, g); err != nil {
				return err
			}
		default:
			pass.Halted[g] = prog.Halted
			waiting(pass, pending[i:], Halted, "the chain is halted: "+prog.Halted)
			return nil
		}
		if held := a.future(p); held != "" {
			p.Ready, p.Waiting, p.Missing = false, held, ""
		}
		overdue := p.Missing != "" && a.now().Sub(a.incompleteSince(p)) >= a.cfg.IncompleteAfter
		if overdue {
			// Reading it reports the missing file: it is quarantined.
			p.Ready = true
		}
		if !p.Ready {
			if done, err := a.finishArchive(p); err != nil || done {
				if done {
					pass.Batches = append(pass.Batches, BatchReport{Group: g, Batch: p.Name, Result: Result{Outcome: Duplicate,
						Reason: "published before; the archive move that stopped half way was finished"}})
				}
				if err != nil {
					return err
				}
				continue
			}
			rep := BatchReport{Group: g, Batch: p.Name, Result: Result{Outcome: Incomplete, Reason: p.Waiting}}
			if p.Missing != "" {
				rep.problem(Problem{Severity: SeverityError, File: p.Missing, Reason: fmt.Sprintf("listed in SRManifest.csv but not present; "+
					"the batch is quarantined if it is still missing %s after the folder arrived or last changed (input.incomplete_after)", a.cfg.IncompleteAfter)})
			}
			pass.Batches = append(pass.Batches, rep)
			waiting(pass, pending[i+1:], Incomplete, fmt.Sprintf("waits for batch %s to be complete", p.Name))
			return nil
		}
		var stillMissing string
		if overdue {
			stillMissing = fmt.Sprintf("%s was still missing %s after the batch folder arrived or last changed (input.incomplete_after)", p.Missing, a.cfg.IncompleteAfter)
		}
		stop, err := a.batch(ctx, p, pass, stillMissing)
		var ie *IncompatibleError
		if stop && (err == nil || errors.As(err, &ie)) {
			waiting(pass, pending[i+1:], Halted, fmt.Sprintf("the chain waits at batch %s", p.Name))
		}
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// future says why a batch stamped ahead of the clock is held, or "".
func (a *Agent) future(p manifest.Pending) string { return Held(p, a.now(), a.cfg.FutureTolerance) }

// waiting reports the batches a chain does not reach in this pass.
func waiting(pass *Pass, rest []manifest.Pending, o Outcome, reason string) {
	for _, p := range rest {
		pass.Batches = append(pass.Batches, BatchReport{Group: p.Group, Batch: p.Name, Result: Result{Outcome: o, Reason: reason}})
	}
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
		b, err := manifest.Load(p.Dir, p.Group, a.cfg.Dialect.Manifest())
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
// stillMissing, when set, says why a batch that lacks a listed file is
// read anyway (to be quarantined).
func (a *Agent) batch(ctx context.Context, p manifest.Pending, pass *Pass, stillMissing string) (stop bool, err error) {
	log := a.log.With("group", p.Group, "batch", p.Name)
	rep := BatchReport{Group: p.Group, Batch: p.Name}
	gone := func() bool {
		// Moved away since it was found (by another agent, or by hand):
		// nothing to publish, archive or quarantine.
		_, serr := os.Stat(filepath.Join(p.Dir, manifest.FileName))
		if errors.Is(serr, fs.ErrNotExist) {
			log.Info("batch folder gone while it was being read; the chain goes on at the next pass")
			return true
		}
		return false
	}
	b, err := manifest.Load(p.Dir, p.Group, a.cfg.Dialect.Manifest())
	if err != nil {
		if gone() {
			return true, nil
		}
		var list manifest.ErrorList
		if !errors.As(err, &list) {
			return true, err
		}
		rep.Result = Result{Outcome: Invalid, Reason: list.Error(), Files: []*FileReport{}}
		if stillMissing != "" {
			rep.Reason = stillMissing + ": " + rep.Reason
		}
		for _, e := range list {
			rep.problem(Problem{Severity: SeverityError, File: e.File, Line: e.Line, Column: e.Column, Reason: e.Err.Error()})
		}
		a.pub.metrics.batch(p.Group, Invalid, 0, time.Time{})
		return true, a.quarantine(ctx, p, &rep, pass, log)
	}
	began := a.now()
	res, err := a.pub.Publish(ctx, b)
	cutoff := b.Manifest.CutOffTime()
	b.Close()
	rep.Result = res
	if (err != nil || res.Outcome == Invalid || res.Outcome == Conflict) && gone() {
		// Another agent archived it while this one read it: its files
		// vanished under the structure pass, which is no fault of theirs.
		return true, nil
	}
	if err != nil {
		if res.Outcome == Blocked {
			pass.Batches = append(pass.Batches, rep)
		}
		return true, err
	}
	a.pub.metrics.batch(p.Group, res.Outcome, a.now().Sub(began), cutoff)
	warnings := 0
	for _, pr := range res.Problems {
		if pr.Severity == SeverityWarning {
			warnings++
			level := slog.LevelDebug // a row's: counted in the batch line
			if pr.Line <= 1 || pr.Rows > 0 {
				level = slog.LevelWarn // a file's: what an operator must know
			}
			log.Log(ctx, level, pr.Reason, "file", pr.File, "line", pr.Line, "column", pr.Column)
		}
	}
	switch res.Outcome {
	case Published, Duplicate:
		if err := a.archive(p, &rep); err != nil {
			if res.Outcome == Duplicate && gone() {
				return true, nil
			}
			rep.NotArchived = err.Error()
			pass.Batches = append(pass.Batches, rep) // it is on the topics: say so
			return true, err
		}
		if len(res.OrganisationsNew) > 0 {
			log.Info("organisations new to the group", "organisations", strings.Join(res.OrganisationsNew, ","))
		}
		log.Info("batch "+res.Outcome.String(), "events", res.Events, "dead_letters", res.DeadLetters, "warnings", warnings, "archived_to", rep.MovedTo)
		pass.Batches = append(pass.Batches, rep)
		return false, nil
	case Blocked: // a dry run's prediction (publishing returned the error)
		pass.Batches = append(pass.Batches, rep)
		return true, nil
	case Halted:
		log.Warn("chain halted", "reason", res.Reason)
		pass.Batches = append(pass.Batches, rep)
		pass.Halted[p.Group] = res.Reason
		return true, a.pub.halt(ctx, p.Group, p.Name, res)
	}
	err = a.quarantine(ctx, p, &rep, pass, log)
	return !rep.givenUp || err != nil, err
}
