package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/schemas"
)

// Outcome is what happened to one batch.
type Outcome int

// Outcomes of Publish.
const (
	// Published: every event is committed.
	Published Outcome = iota
	// Duplicate: the batch was published before with the same manifest;
	// nothing new is produced. Archive it.
	Duplicate
	// Conflict: the folder name was used before with another manifest, or
	// the batch arrived after a newer one. Quarantine it.
	Conflict
	// Halted: a file starts after the previous cut-off of its table
	// (deltas were lost). The chain waits.
	Halted
	// Invalid: the batch is structurally bad. Quarantine it.
	Invalid
)

var outcomeNames = [...]string{"published", "duplicate", "conflict", "halted", "invalid"}

// String returns the outcome's name.
func (o Outcome) String() string { return outcomeNames[o] }

// Result reports one Publish. Reason never quotes a cell.
type Result struct {
	Outcome                      Outcome
	Events, Deletes, DeadLetters int64
	Reason                       string
	// GapTables are the tables with a gap (Halted).
	GapTables []string
}

// Publisher publishes batches. It is used by one goroutine at a time.
type Publisher struct {
	cfg      Config
	reg      *Registry
	admCl    *kgo.Client
	adm      *kadm.Client
	topics   *topics
	state    *State
	stale    bool
	clients  map[string]*kgo.Client
	extra    []kgo.Opt
	metrics  *Metrics
	progress ProgressFunc
	log      *slog.Logger
	dialect  codec.Dialect
	version  string
	now      func() time.Time

	batchKey, batchValue, deadKey, deadValue fixedCodec
}

// Opt configures a Publisher.
type Opt func(*Publisher)

// WithLogger sets the logger, overriding the default discard logger.
func WithLogger(l *slog.Logger) Opt { return func(p *Publisher) { p.log = l } }

// WithDialect sets the CSV dialect, overriding codec.DefaultDialect.
func WithDialect(d codec.Dialect) Opt { return func(p *Publisher) { p.dialect = d } }

// WithVersion sets the version written in every event's source block.
func WithVersion(v string) Opt { return func(p *Publisher) { p.version = v } }

// WithClock sets the clock of ts_ms, overriding time.Now.
func WithClock(now func() time.Time) Opt { return func(p *Publisher) { p.now = now } }

// ProgressFunc is told how far a file is: bytes read of total, rows so
// far, and done at its end. It must be quick.
type ProgressFunc func(group, batch, file string, bytes, total, rows int64, done bool)

// WithProgress reports progress per file, overriding the default of none.
func WithProgress(fn ProgressFunc) Opt { return func(p *Publisher) { p.progress = fn } }

// WithMetrics records Prometheus metrics, franz-go's client metrics
// (kprom) included.
func WithMetrics(m *Metrics) Opt { return func(p *Publisher) { p.metrics = m } }

// WithHooks adds franz-go hooks (metrics, counting) to every client.
func WithHooks(hooks ...kgo.Hook) Opt {
	return func(p *Publisher) { p.extra = append(p.extra, kgo.WithHooks(hooks...)) }
}

// WithClientOpts adds franz-go options to every client (tests: dialers,
// retries).
func WithClientOpts(opts ...kgo.Opt) Opt {
	return func(p *Publisher) { p.extra = append(p.extra, opts...) }
}

// New connects, ensures the batches, dead-letter and state topics and
// registers their schemas. Call Start before Publish.
func New(ctx context.Context, cfg Config, reg *Registry, opts ...Opt) (*Publisher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	p := &Publisher{cfg: cfg, reg: reg, clients: map[string]*kgo.Client{},
		log: slog.New(slog.DiscardHandler), dialect: codec.DefaultDialect(), version: "dev", now: time.Now}
	for _, o := range opts {
		o(p)
	}
	copts, err := cfg.clientOpts()
	if err != nil {
		return nil, err
	}
	copts = append(copts, kgo.WithHooks(p.metrics.clientHooks("admin")...))
	if p.admCl, err = kgo.NewClient(append(copts, p.extra...)...); err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	p.adm = kadm.NewClient(p.admCl)
	p.topics = newTopics(p.adm, cfg)
	if err := p.topics.ensure(ctx, cfg.BatchesTopic(), cfg.DeadLetterTopic(), cfg.StateTopic()); err != nil {
		p.Close()
		return nil, err
	}
	for _, f := range []struct {
		dst            *fixedCodec
		subject, schem string
	}{
		{&p.batchKey, cfg.BatchesTopic() + "-key", batchKeySchema},
		{&p.batchValue, cfg.BatchesTopic() + "-value", batchValueSchema},
		{&p.deadKey, cfg.DeadLetterTopic() + "-key", deadKeySchema},
		{&p.deadValue, cfg.DeadLetterTopic() + "-value", deadValueSchema},
	} {
		if *f.dst, err = registerFixed(ctx, reg, f.subject, f.schem); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Start initialises the transactional producer of every group named in the
// state topic or in groups (fencing any transaction a crashed agent left
// open) and then reads the committed state.
func (p *Publisher) Start(ctx context.Context, groups []string) error {
	known, err := groupsInState(ctx, p.cfg, p.adm)
	if err != nil {
		return err
	}
	for _, g := range append(known, groups...) {
		if _, err := p.client(ctx, g); err != nil {
			return err
		}
	}
	return p.reload(ctx)
}

func (p *Publisher) reload(ctx context.Context) error {
	st, err := loadState(ctx, p.cfg, p.adm)
	if err != nil {
		return err
	}
	p.state, p.stale = st, false
	return nil
}

// State returns the committed state as last read or written.
func (p *Publisher) State() *State { return p.state }

// Close releases every client.
func (p *Publisher) Close() {
	for _, cl := range p.clients {
		cl.Close()
	}
	if p.admCl != nil {
		p.admCl.Close()
	}
}

// TransactionalID is the stable transactional id of a group's producer.
func (c Config) TransactionalID(group string) string {
	return "sragent." + c.TopicPrefix + "." + group
}

func (p *Publisher) client(ctx context.Context, group string) (*kgo.Client, error) {
	if cl, ok := p.clients[group]; ok {
		return cl, nil
	}
	opts, err := p.cfg.producerOpts(p.cfg.TransactionalID(group))
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.WithHooks(p.metrics.clientHooks(group)...))
	cl, err := kgo.NewClient(append(opts, p.extra...)...)
	if err != nil {
		return nil, fmt.Errorf("producer for group %s: %w", group, err)
	}
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("initialise transactional producer %s: %w", p.cfg.TransactionalID(group), err)
	}
	p.clients[group] = cl
	return cl, nil
}

// work is one batch being published.
type work struct {
	batch *manifest.Batch
	files []*fileWork
}

type fileWork struct {
	file         *manifest.File
	full         bool
	tc           *codec.TableCodec
	keyID, valID int
	topic        string
	parts        int32
	maxRecord    int // largest key + value the topic accepts
	orgs         []string
	src          codec.Source
}

// Publish publishes one loaded batch of its group's chain, resuming after
// the last committed checkpoint when the batch was half-published.
func (p *Publisher) Publish(ctx context.Context, b *manifest.Batch) (Result, error) {
	if p.stale || p.state == nil {
		if err := p.reload(ctx); err != nil {
			return Result{}, err
		}
	}
	g := b.Group
	if pub := p.state.Batch(g, b.Name); pub != nil {
		if pub.Manifest == b.ManifestSHA256 {
			return Result{Outcome: Duplicate, Reason: "published before with the same SRManifest.csv; nothing new was produced"}, nil
		}
		return Result{Outcome: Conflict, Reason: fmt.Sprintf("a batch named %s was published before with a different SRManifest.csv", b.Name)}, nil
	}
	prog := p.state.Progress(g)
	resume := !prog.Done && prog.Batch == b.Name
	switch {
	case !prog.Done && !resume:
		return Result{}, fmt.Errorf("group %s: batch %s is half-published and must be published before %s", g, prog.Batch, b.Name)
	case resume && prog.Manifest != b.ManifestSHA256:
		return Result{Outcome: Conflict, Reason: fmt.Sprintf("SRManifest.csv changed after batch %s was partly published", b.Name)}, nil
	case !resume && prog.Batch != "" && b.Name < prog.Batch:
		return Result{Outcome: Conflict, Reason: fmt.Sprintf("arrived after batch %s, which is newer; batches of a chain publish in folder order", prog.Batch)}, nil
	}
	if !resume && !prog.Resume {
		if gaps, reason := p.gaps(prog, b); len(gaps) > 0 {
			return Result{Outcome: Halted, GapTables: gaps, Reason: reason}, nil
		}
	}
	w, invalid, err := p.prepare(ctx, b)
	if err != nil || invalid != "" {
		return Result{Outcome: Invalid, Reason: invalid}, err
	}
	return p.produce(ctx, w, prog, resume)
}

// gaps classifies the batch's files against the tables' last ranges.
func (p *Publisher) gaps(prog *Progress, b *manifest.Batch) ([]string, string) {
	byBatch := map[string]*manifest.Manifest{}
	for table, r := range prog.Tables {
		m := byBatch[r.Batch]
		if m == nil {
			m = &manifest.Manifest{}
			byBatch[r.Batch] = m
		}
		from, _ := manifest.ParseStamp(r.From)
		to, _ := manifest.ParseStamp(r.To)
		m.Entries = append(m.Entries, manifest.Entry{FileName: table, IsDelta: r.From != "", From: from, To: to})
	}
	var history []manifest.Link
	for batch, m := range byBatch {
		history = append(history, manifest.Link{Batch: batch, Manifest: m})
	}
	sort.Slice(history, func(i, j int) bool { return history[i].Batch < history[j].Batch })
	var gaps, why []string
	for _, fc := range manifest.Classify(history, b.Manifest) {
		if fc.Kind == manifest.Gap {
			gaps = append(gaps, fc.Table)
			why = append(why, fmt.Sprintf("%s starts %s, after %s's cut-off %s", fc.Table, fc.From, fc.Prev, fc.PrevTo))
		}
	}
	if len(gaps) == 0 {
		return nil, ""
	}
	return gaps, "gap: deltas were lost (" + strings.Join(why, "; ") + "); the chain waits for a full batch or `sragent chain resume`"
}

// prepare checks the whole batch before anything is produced: every
// file's header maps, every file reads to its end (zip CRC, quoting), the
// schemas are registered (and compatible) and the topics exist. A
// structural problem is returned as invalid, an infrastructure one as err.
func (p *Publisher) prepare(ctx context.Context, b *manifest.Batch) (*work, string, error) {
	w := &work{batch: b}
	var topicNames []string
	for _, f := range b.Files {
		fw, invalid, err := p.prepareFile(ctx, b, f)
		if err != nil || invalid != "" {
			return nil, invalid, err
		}
		w.files = append(w.files, fw)
		topicNames = append(topicNames, fw.topic)
	}
	if err := p.topics.ensure(ctx, topicNames...); err != nil {
		return nil, "", err
	}
	for _, fw := range w.files {
		fw.parts, fw.maxRecord = p.topics.partitionsOf(fw.topic), p.topics.maxRecord(fw.topic)
	}
	return w, "", nil
}

func (p *Publisher) prepareFile(ctx context.Context, b *manifest.Batch, f *manifest.File) (*fileWork, string, error) {
	invalid := func(err error) string {
		var fe *codec.FileError
		if errors.As(err, &fe) && fe.Line > 0 {
			col := ""
			if fe.Column != "" {
				col = " column " + fe.Column
			}
			return fmt.Sprintf("%s line %d%s: %v", f.Name, fe.Line, col, fe.Err)
		}
		return fmt.Sprintf("%s: %v", f.Name, err)
	}
	rc, err := b.Open(f)
	if err != nil {
		return nil, invalid(err), nil
	}
	defer rc.Close()
	sc, err := codec.NewScanner(f.Table, rc, p.dialect)
	if err != nil {
		return nil, invalid(err), nil
	}
	fw := &fileWork{file: f, full: f.Listed && !f.Entry.IsDelta, topic: p.cfg.TopicFor(f.Table)}
	orgCol := -1
	if fw.full && sc.Layout.Table.Scope == schemas.Organisation {
		for i, h := range sc.Layout.Header {
			if h == schemas.OrgColumn {
				orgCol = i
			}
		}
	}
	orgs := map[string]bool{}
	err = sc.Skim(func(fields [][]byte) {
		if orgCol >= 0 && orgCol < len(fields) && len(orgs) < 10_000 && !orgs[string(fields[orgCol])] {
			orgs[string(fields[orgCol])] = true
		}
	})
	if err != nil {
		return nil, invalid(err), nil
	}
	for o := range orgs {
		if o != "" {
			fw.orgs = append(fw.orgs, o)
		}
	}
	sort.Strings(fw.orgs)
	if fw.tc, err = codec.NewTableCodec(sc.Layout); err != nil {
		return nil, invalid(err), nil
	}
	if fw.keyID, err = p.reg.Register(ctx, fw.topic+"-key", fw.tc.Avro.Key); err != nil {
		return nil, "", err
	}
	if fw.valID, err = p.reg.Register(ctx, fw.topic+"-value", fw.tc.Avro.Value); err != nil {
		return nil, "", err
	}
	fw.src = codec.Source{Version: p.version, Name: p.cfg.TopicPrefix, Group: b.Group, Batch: b.Name,
		Table: f.Table, File: f.Name, Snapshot: fw.full}
	if f.Listed {
		fw.src.ExtractFrom, fw.src.ExtractTo = stampMillis(f.Entry.From), stampMillis(f.Entry.To)
	}
	return fw, "", nil
}

func stampMillis(s manifest.Stamp) *int64 {
	if s.IsZero() {
		return nil
	}
	ms := s.Time().UnixMilli()
	return &ms
}

// txn is one open transaction of a group's producer.
type txn struct {
	cl      *kgo.Client
	group   string
	records int
	bytes   int
	mu      sync.Mutex
	err     error
	// rows and dead count what the transaction holds, for the metrics
	// once it commits.
	rows map[[2]string]int64 // table, op
	dead map[[2]string]int64 // table, reason
}

func (t *txn) produce(ctx context.Context, r *kgo.Record) {
	t.records++
	t.bytes += len(r.Key) + len(r.Value)
	t.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		if err != nil {
			t.mu.Lock()
			if t.err == nil {
				t.err = err
			}
			t.mu.Unlock()
		}
	})
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
	c.Tables = maps.Clone(p.Tables)
	if c.Tables == nil {
		c.Tables = map[string]Range{}
	}
	return c
}

// produce writes the batch in transactions, each closed by a checkpoint.
func (p *Publisher) produce(ctx context.Context, w *work, prog *Progress, resume bool) (Result, error) {
	b := w.batch
	cl, err := p.client(ctx, b.Group)
	if err != nil {
		return Result{}, err
	}
	cur := copyProgress(prog)
	if !resume {
		cur.Batch, cur.Manifest, cur.File, cur.Line, cur.FileEvents = b.Name, b.ManifestSHA256, 0, 0, 0
		cur.Counts = map[string]*TableCount{}
	}
	cur.Done, cur.Resume, cur.Halted = false, false, ""
	t, err := p.begin(cl, b.Group)
	if err != nil {
		return Result{}, err
	}
	if !resume {
		rec, err := p.batchEvent("BEGIN", w, nil)
		if err != nil {
			return Result{}, p.abort(ctx, t, err)
		}
		t.produce(ctx, rec)
	}
	for fi := cur.File; fi < len(w.files); fi++ {
		if t, err = p.produceFile(ctx, t, w, w.files[fi], &cur); err != nil {
			return Result{}, p.abort(ctx, t, err)
		}
		cur.File, cur.Line, cur.FileEvents = fi+1, 0, 0
	}
	end, err := p.batchEvent("END", w, cur.Counts)
	if err != nil {
		return Result{}, p.abort(ctx, t, err)
	}
	t.produce(ctx, end)
	res := Result{Outcome: Published}
	for _, f := range b.Files {
		if f.Listed && !f.Entry.Undated() {
			cur.Tables[f.Table] = Range{From: f.Entry.From.String(), To: f.Entry.To.String(), Batch: b.Name}
		}
		if c := cur.Counts[f.Table]; c != nil {
			res.Events += c.Events
			res.Deletes += c.Deletes
			res.DeadLetters += c.DeadLetters
		}
	}
	cur.Done = true
	pub := &PublishedBatch{Group: b.Group, Batch: b.Name, Manifest: b.ManifestSHA256, Events: res.Events, At: p.now().UTC()}
	rec, err := publishedRecord(p.cfg.StateTopic(), pub)
	if err != nil {
		return Result{}, p.abort(ctx, t, err)
	}
	t.produce(ctx, rec)
	if err := p.commit(ctx, t, &cur); err != nil {
		return Result{}, err
	}
	p.state.Published[b.Group+"/"+b.Name] = pub
	return res, nil
}

func (p *Publisher) begin(cl *kgo.Client, group string) (*txn, error) {
	if err := cl.BeginTransaction(); err != nil {
		p.stale = true
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	return &txn{cl: cl, group: group, rows: map[[2]string]int64{}, dead: map[[2]string]int64{}}, nil
}

// commit closes t with the checkpoint cur; on success the in-memory state
// follows.
func (p *Publisher) commit(ctx context.Context, t *txn, cur *Progress) error {
	cur.Updated = p.now().UTC()
	rec, err := progressRecord(p.cfg.StateTopic(), cur)
	if err != nil {
		return p.abort(ctx, t, err)
	}
	t.produce(ctx, rec)
	// Records that cannot reach a broker are not always failed by the
	// delivery timeout while no connection exists: bound the wait here.
	fctx, cancel := context.WithTimeout(ctx, p.cfg.DeliveryTimeout)
	err = t.cl.Flush(fctx)
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
	c := copyProgress(cur)
	p.state.Groups[cur.Group] = &c
	p.metrics.txn(t.group, "commit")
	for k, n := range t.rows {
		p.metrics.rowsN(k[0], k[1][0], n)
	}
	for k, n := range t.dead {
		p.metrics.deadLettersN(k[0], k[1], n)
	}
	return nil
}

// abort rolls the open transaction back; the state must be re-read before
// the next batch, because a failed commit's outcome can be unknown.
func (p *Publisher) abort(ctx context.Context, t *txn, cause error) error {
	p.stale = true
	if t == nil {
		return cause
	}
	p.metrics.txn(t.group, "abort")
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.DeliveryTimeout)
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

// produceFile publishes one file's rows (after cur.Line when resuming),
// committing whenever the transaction is full. It returns the transaction
// that is open at the end.
func (p *Publisher) produceFile(ctx context.Context, t *txn, w *work, fw *fileWork, cur *Progress) (*txn, error) {
	rc, err := w.batch.Open(fw.file)
	if err != nil {
		return t, err
	}
	defer rc.Close()
	sc, err := codec.NewScanner(fw.file.Table, rc, p.dialect)
	if err != nil {
		return t, fmt.Errorf("%s: %w", fw.file.Name, err)
	}
	tc := fw.tc // the same header as in prepare, so the same layout
	count := cur.Counts[fw.file.Table]
	if count == nil {
		count = &TableCount{}
		cur.Counts[fw.file.Table] = count
	}
	if fw.full && cur.Line == 0 {
		if err := p.markers(ctx, t, fw, tc, codec.MarkerBegin, nil); err != nil {
			return t, err
		}
	}
	ev := codec.Event{Source: fw.src}
	report := func(n int64, done bool) {
		if p.progress != nil {
			p.progress(w.batch.Group, w.batch.Name, fw.file.Name, sc.Offset(), fw.file.Size, n, done)
		}
	}
	// Events per op since the last commit, added to the transaction's
	// metric counts when it commits (no map work per row).
	var byOp [256]int64
	flush := func() {
		for op, k := range byOp {
			if k > 0 {
				t.rows[[2]string{fw.file.Table, string(rune(op))}] += k
				byOp[op] = 0
			}
		}
	}
	var n int64
	for ; ; n++ {
		if n%8192 == 0 {
			report(n, false)
		}
		row, err := sc.Scan()
		if errors.Is(err, io.EOF) {
			break
		}
		line := sc.Line()
		var re *codec.RowError
		switch {
		case line < cur.Line:
			continue // committed before a restart
		case errors.As(err, &re):
			if err := p.deadLetter(ctx, t, w, fw, count, re, sc.Fields()); err != nil {
				return t, err
			}
		case err != nil:
			return t, fmt.Errorf("%s: %w", fw.file.Name, err)
		default:
			ev.Op, ev.Row, ev.Source.Line, ev.TsMs = codec.OpFor(fw.full, row.Removed), row, line, p.now().UnixMilli()
			err := p.event(ctx, t, fw, tc, &ev)
			if errors.As(err, &re) {
				// Too large for the broker: a dead letter, without its
				// cells, which would be too large as well.
				if err := p.deadLetter(ctx, t, w, fw, count, re, nil); err != nil {
					return t, err
				}
				break
			}
			if err != nil {
				return t, fmt.Errorf("%s line %d: %w", fw.file.Name, line, err)
			}
			count.Events++
			cur.FileEvents++
			byOp[ev.Op]++
			if row.Removed {
				count.Deletes++
			}
		}
		cur.Line = line + 1
		if t.records >= p.cfg.TxnRecords || t.bytes >= p.cfg.TxnBytes {
			flush()
			if err := p.commit(ctx, t, cur); err != nil {
				return nil, err
			}
			if t, err = p.begin(t.cl, t.group); err != nil {
				return nil, err
			}
		}
	}
	flush()
	p.metrics.read(w.batch.Group, sc.Offset())
	report(n, true)
	if fw.full {
		n := cur.FileEvents
		if err := p.markers(ctx, t, fw, tc, codec.MarkerEnd, &n); err != nil {
			return t, err
		}
	}
	return t, nil
}

// event produces a row's event, and after a delete its tombstone. An
// event larger than the topic accepts is not produced: it returns a
// *codec.RowError for the dead-letter topic.
func (p *Publisher) event(ctx context.Context, t *txn, fw *fileWork, tc *codec.TableCodec, ev *codec.Event) error {
	key, err := tc.AppendKey(frame(make([]byte, 0, 48), fw.keyID), ev.Row)
	if err != nil {
		return errors.New("key does not encode under the table's key schema")
	}
	val, err := tc.AppendValue(frame(make([]byte, 0, 512), fw.valID), ev)
	if err != nil {
		return errors.New("row does not encode under the table's value schema")
	}
	if n := len(key) + len(val); n > fw.maxRecord {
		return &codec.RowError{Line: ev.Source.Line, Err: codec.ErrTooLarge(n, fw.maxRecord)}
	}
	t.produce(ctx, &kgo.Record{Topic: fw.topic, Key: key, Value: val})
	if ev.Op == codec.OpDelete {
		t.produce(ctx, &kgo.Record{Topic: fw.topic, Key: key}) // tombstone: a real null value
	}
	return nil
}

// markers produces a snapshot marker on every partition of the topic.
func (p *Publisher) markers(ctx context.Context, t *txn, fw *fileWork, tc *codec.TableCodec, typ string, rows *int64) error {
	m := codec.Marker{Type: typ, SnapshotID: fw.src.Group + "/" + fw.src.Batch + "/" + fw.file.Table, Organisations: fw.orgs, RowCount: rows}
	key, err := tc.AppendMarkerKey(frame(nil, fw.keyID), typ == codec.MarkerBegin)
	if err != nil {
		return fmt.Errorf("encode marker key of %s: %w", fw.file.Table, err)
	}
	val, err := tc.AppendMarkerValue(frame(nil, fw.valID), m, fw.src, p.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("encode marker of %s: %w", fw.file.Table, err)
	}
	for part := int32(0); part < fw.parts; part++ {
		t.produce(ctx, &kgo.Record{Topic: fw.topic, Partition: part, Key: key, Value: val,
			Headers: []kgo.RecordHeader{{Key: MarkerHeader, Value: []byte(typ)}}})
	}
	return nil
}

// Ping checks that a broker answers.
func (p *Publisher) Ping(ctx context.Context) error {
	if err := p.admCl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}
