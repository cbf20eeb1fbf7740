package producer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer/tablestate"
)

// txn is one open transaction of a group's producer; in a dry run (cl nil)
// it only counts what it would hold.
type txn struct {
	cl      *kgo.Client
	group   string
	records int
	bytes   int
	mu      sync.Mutex
	err     error
	promise func(*kgo.Record, error) // delivered
	// rows and dead count what the transaction holds, for the metrics
	// once it commits.
	rows      map[[2]string]int64 // table, op
	dead      map[[2]string]int64 // table, reason
	unchanged map[string]int64    // table
	vanished  map[[2]string]int64 // table, "reported" or "deleted"
	guarded   map[string]int64    // table: files min_ratio kept from deleting
	warned    map[[2]string]int64 // table, row warning (rowWarning…)
	began     time.Time
	// sb holds the transaction's table-state changes (nil: none kept).
	sb *tablestate.Batch
}

func (t *txn) produce(ctx context.Context, r *kgo.Record) {
	t.count(len(r.Key) + len(r.Value))
	if t.cl == nil {
		return
	}
	if t.promise == nil {
		t.promise = t.delivered // one closure for all of its records
	}
	t.cl.Produce(ctx, r, t.promise)
}

// delivered keeps the first error a record of t was failed with.
func (t *txn) delivered(_ *kgo.Record, err error) {
	if err != nil {
		t.mu.Lock()
		if t.err == nil {
			t.err = err
		}
		t.mu.Unlock()
	}
}

// count adds a record of n bytes to what the transaction holds.
func (t *txn) count(n int) {
	t.records++
	t.bytes += n
}

func (t *txn) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func copyProgress(p *Progress) Progress {
	c := *p
	c.Counts = map[string]*TableCount{}
	for k, v := range p.Counts {
		vc := *v
		c.Counts[k] = &vc
	}
	c.Files = maps.Clone(p.Files)
	c.Organisations = slices.Clone(p.Organisations)
	c.Tables = maps.Clone(p.Tables)
	if c.Tables == nil {
		c.Tables = map[string]Range{}
	}
	return c
}

// begin opens a transaction on the group's producer (a dry run: a
// counting one).
func (p *Publisher) begin(ctx context.Context, group string) (*txn, error) {
	t := &txn{group: group, rows: map[[2]string]int64{}, dead: map[[2]string]int64{}, unchanged: map[string]int64{},
		vanished: map[[2]string]int64{}, guarded: map[string]int64{}, warned: map[[2]string]int64{}, began: time.Now()}
	if p.dry != nil {
		t.sb = p.tables.batch(group)
		return t, nil
	}
	cl, err := p.client(ctx, group)
	if err != nil {
		return nil, err
	}
	if err := cl.BeginTransaction(); err != nil {
		p.stale = true
		err = fmt.Errorf("begin transaction: %w", err)
		if isFenced(err) {
			p.drop(group)
			err = &FencedError{Group: group, TransactionalID: p.cfg.TransactionalID(group), Err: err}
		}
		return nil, err
	}
	t.cl, t.sb = cl, p.tables.batch(group)
	return t, nil
}

// commit closes t with the checkpoint cur; on success the in-memory state
// follows. A dry run commits to memory only.
func (p *Publisher) commit(ctx context.Context, t *txn, cur *Progress) error {
	cur.Updated = p.now().UTC()
	rec, err := progressRecord(p.cfg.StateTopic(), cur)
	if err != nil {
		return p.abort(ctx, t, err)
	}
	t.produce(ctx, rec)
	if t.sb != nil && t.cl != nil {
		// The store writes the transaction's keys while the broker
		// commits it (a first publish: a file of them, synced).
		t.sb.Seal()
	}
	if t.cl != nil {
		if err := p.finish(ctx, t); err != nil {
			return err
		}
	}
	if !p.tables.committed(t, cur) {
		p.stale = true // read the state again, which empties the table state
	}
	c := copyProgress(cur)
	p.state.Groups[cur.Group] = &c
	p.metrics.txn(t.group, "commit")
	for k, n := range t.rows {
		p.metrics.rowsN(k[0], k[1][0], n)
	}
	for k, n := range t.dead {
		p.metrics.deadLettersN(k[0], k[1], n)
	}
	for table, n := range t.unchanged {
		p.metrics.unchangedN(table, n)
	}
	for k, n := range t.vanished {
		p.metrics.vanishedN(k[0], k[1], n)
	}
	for table, n := range t.guarded {
		p.metrics.guardedN(table, n)
	}
	for k, n := range t.warned {
		p.metrics.rowWarningsN(k[0], k[1], n)
	}
	return nil
}

// finish flushes t and commits it on the broker.
func (p *Publisher) finish(ctx context.Context, t *txn) error {
	// Records that cannot reach a broker are not always failed by the
	// delivery timeout while no connection exists: bound the wait here.
	fctx, cancel := context.WithTimeout(ctx, p.cfg.DeliveryTimeout)
	err := t.cl.Flush(fctx)
	cancel()
	if err != nil {
		return p.abort(ctx, t, fmt.Errorf("flush: %w", err))
	}
	if err := t.failed(); err != nil {
		return p.abort(ctx, t, fmt.Errorf("produce: %w", err))
	}
	// A commit that cannot finish (the broker is gone) is bounded like a
	// record's delivery; its outcome is then unknown, which abort handles.
	cctx, cancel := context.WithTimeout(ctx, p.cfg.DeliveryTimeout)
	err = t.cl.EndTransaction(cctx, kgo.TryCommit)
	cancel()
	if err != nil {
		return p.abort(ctx, t, fmt.Errorf("commit transaction: %w", err))
	}
	return nil
}

// abort rolls the open transaction back; the state must be re-read before
// the next batch, because a failed commit's outcome can be unknown. A
// cause that says another producer took the transactional id becomes a
// *FencedError.
func (p *Publisher) abort(ctx context.Context, t *txn, cause error) error {
	if t != nil {
		p.tables.aborted(t)
	}
	if t != nil && isFenced(cause) {
		cause = &FencedError{Group: t.group, TransactionalID: p.cfg.TransactionalID(t.group), Err: cause}
		defer p.drop(t.group) // no producer until the group is taken back
	}
	if t == nil || t.cl == nil {
		if p.dry == nil {
			p.stale = true
		}
		return cause
	}
	p.stale = true
	p.metrics.txn(t.group, "abort")
	limit := p.cfg.DeliveryTimeout
	if ctx.Err() != nil && p.shutdown > 0 {
		limit = min(limit, p.shutdown) // stopping: the process must exit in time
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	err := t.cl.AbortBufferedRecords(actx)
	if err == nil {
		err = t.cl.EndTransaction(actx, kgo.TryAbort)
	}
	if err != nil {
		// The client's transaction state is unknown: drop it. The next
		// attempt initialises the transactional id again, which fences
		// and aborts whatever this client left open.
		for g, cl := range p.clients {
			if cl == t.cl {
				cl.Close()
				delete(p.clients, g)
			}
		}
		return errors.Join(cause, fmt.Errorf("abort transaction: %w", err))
	}
	return cause
}

// drop closes and forgets a group's producer: a refresh for another group
// does not take this one back from the agent that fenced it.
func (p *Publisher) drop(group string) {
	if cl, ok := p.clients[group]; ok {
		cl.Close()
		delete(p.clients, group)
	}
}

// Halt records that a group's chain waits, and why.
func (p *Publisher) Halt(ctx context.Context, group, batch, reason string, gapTables []string) error {
	return p.halt(ctx, group, batch, Result{Reason: reason, GapTables: gapTables})
}

// halt records the halt of a Halted result at batch; the same halt again
// (a changed file still not back) writes nothing. HaltedAt is kept for a
// gap (GapTables) and a quarantine (no Result of its own: Halt), which
// the chain judges again when the batch that can lift them comes; a
// changed file's halt waits for the operator.
func (p *Publisher) halt(ctx context.Context, group, batch string, res Result) error {
	if res.Outcome == Halted && len(res.GapTables) == 0 {
		batch = ""
	}
	if pr := p.state.Progress(group); pr.Halted == res.Reason && pr.Changed == res.changed && pr.HaltedAt == batch && !p.stale {
		return nil
	}
	return p.updateProgress(ctx, group, func(pr *Progress) {
		pr.Halted, pr.GapTables, pr.Changed, pr.Resume, pr.HaltedAt = res.Reason, res.GapTables, res.changed, false, batch
	})
}

// Resume lifts a group's halt: the next batch is published even though it
// does not continue the chain (an operator accepted the gap).
func (p *Publisher) Resume(ctx context.Context, group string) error {
	return p.updateProgress(ctx, group, resume)
}

func (p *Publisher) updateProgress(ctx context.Context, group string, mutate func(*Progress)) error {
	if err := p.refresh(ctx, group); err != nil {
		return err
	}
	cur := copyProgress(p.state.Progress(group))
	mutate(&cur)
	t, err := p.begin(ctx, group)
	if err != nil {
		return err
	}
	return p.commit(ctx, t, &cur)
}
