package producer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/schemas"
)

// Publisher is the Kafka side: clients, topics, schemas, the committed
// state and the transactions that move it. It publishes one batch at a
// time (Publish); the Agent decides which. It is used by one goroutine at
// a time.
type Publisher struct {
	cfg Config
	reg *Registry // nil in a dry run without CheckRegistry
	// pinReg is where the types of registered fields are read (pins):
	// the registry, also in a dry run, unless offline.
	pinReg   *Registry
	admCl    *kgo.Client
	adm      *kadm.Client // nil when offline
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
	dry      *DryRun       // nil: publish for real
	shutdown time.Duration // bounds an abort after the context ended
	tables   *tables       // the table state (nil: none)
	// reconcile says what happens to rows that vanish from full files.
	reconcile ReconcileConfig
	// labels gives list columns label fields (lists.labels).
	labels bool
	// dryLists are the lists a dry run's batches left each group, which
	// it writes nowhere: its next batch of the group starts from them.
	dryLists map[string]*batchLists
	// code identifies the running build (codeID; nil: unknown), in the
	// fingerprint of a file's conversion.
	code []byte
	// followedTo is the state topic's offset up to which follow read it.
	followedTo int64

	batchKey, batchValue, deadKey, deadValue fixedCodec
}

// New connects, ensures the batches, dead-letter and state topics and
// registers their schemas (a dry run only describes and checks). Call
// Start before Publish.
func New(ctx context.Context, cfg Config, reg *Registry, opts ...Opt) (*Publisher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Publisher{cfg: cfg, reg: reg, clients: map[string]*kgo.Client{},
		log: slog.New(slog.DiscardHandler), dialect: codec.DefaultDialect(), version: "dev", now: time.Now, reconcile: DefaultReconcile()}
	for _, o := range opts {
		o(p)
	}
	p.pinReg, p.code = reg, codeID()
	if p.dry != nil {
		p.metrics = nil
		if !p.dry.CheckRegistry {
			p.reg = nil
		}
		if p.dry.Offline {
			p.pinReg = nil
		}
	}
	if p.dry == nil || !p.dry.Offline {
		copts, err := cfg.clientOpts()
		if err != nil {
			return nil, err
		}
		copts = append(copts, kgo.WithHooks(p.metrics.clientHooks("admin")...))
		if p.admCl, err = kgo.NewClient(append(copts, p.extra...)...); err != nil {
			return nil, fmt.Errorf("kafka client: %w", err)
		}
		p.adm = kadm.NewClient(p.admCl)
	}
	p.topics = newTopics(p.adm, cfg)
	p.topics.dry = p.dry != nil
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
		var err error
		if *f.dst, err = p.registerFixed(ctx, f.subject, f.schem); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Start initialises the transactional producer of every group named in the
// state topic or in groups (fencing any transaction a crashed agent left
// open) and then reads the committed state. A dry run fences nothing: it
// reads what is committed (offline: nothing).
func (p *Publisher) Start(ctx context.Context, groups []string) error {
	if p.dry != nil {
		return p.reload(ctx)
	}
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

// refresh makes the publisher the one writer again after a failure (or
// before the first write) and then reads what is committed, in that order
// (as Kafka Streams does): it initialises the producers of groups, and of
// every group it has a producer for, anew, which fences whatever another
// agent has open and stops it committing more; only then is the state
// read, so no commit can land between the read and the next write. A dry
// run only reads.
func (p *Publisher) refresh(ctx context.Context, groups ...string) error {
	if !p.stale && p.state != nil {
		if p.dry != nil {
			return nil
		}
		missing := false
		for _, g := range groups {
			_, ok := p.clients[g]
			missing = missing || !ok
		}
		if !missing {
			return nil
		}
	}
	if p.dry == nil {
		for g := range p.clients {
			groups = append(groups, g)
		}
		for g, cl := range p.clients {
			cl.Close()
			delete(p.clients, g)
		}
		for _, g := range groups {
			if _, err := p.client(ctx, g); err != nil {
				return err
			}
		}
	}
	return p.reload(ctx)
}

func (p *Publisher) reload(ctx context.Context) error {
	var st *State
	var err error
	switch {
	case p.dry == nil:
		st, err = loadState(ctx, p.cfg, p.adm)
	case p.adm == nil:
		st = newState()
	default:
		st = newState()
		err = scanState(ctx, p.cfg, p.adm, true, st.apply)
		if isUnknownTopic(err) {
			st, err = newState(), nil
		}
	}
	if err != nil {
		return err
	}
	want, err := p.tables.check(st)
	if err != nil {
		return err
	}
	if want != nil {
		if err := p.tables.rebuilt(ctx, want, st, p.rebuildTables(ctx, want, st)); err != nil {
			return err
		}
	}
	p.state, p.stale = st, false
	return nil
}

// State returns the committed state as last read or written (in a dry run:
// as the batches so far would have left it).
func (p *Publisher) State() *State { return p.state }

// Close releases every client.
func (p *Publisher) Close() {
	for _, cl := range p.clients {
		cl.Close()
	}
	if p.admCl != nil {
		p.admCl.Close()
	}
	p.tables.close()
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

// register returns the registry id of schema under subject. A dry run
// registers nothing: it checks (CheckRegistry) and uses id 0.
func (p *Publisher) register(ctx context.Context, subject, schema string) (int, error) {
	switch {
	case p.dry == nil:
		return p.reg.Register(ctx, subject, schema)
	case p.reg != nil:
		return 0, p.reg.Check(ctx, subject, schema)
	}
	return 0, nil
}

// pins returns the fields the subjects of topic already hold, with the
// types they were registered with, so that no field changes type (none
// without a registry: an offline dry run predicts without).
func (p *Publisher) pins(ctx context.Context, topic string) (schemas.Pins, error) {
	if p.pinReg == nil {
		return schemas.Pins{}, nil
	}
	// Every version, newest first: a field keeps the type of the latest
	// version that has it, also after versions without it (the one a
	// registry under BACKWARD compares with; under BACKWARD_TRANSITIVE
	// every version that has it agrees).
	var pins schemas.Pins
	var err error
	if pins.Key, err = p.registeredFields(ctx, topic+"-key", true); err != nil {
		return schemas.Pins{}, err
	}
	if pins.Value, err = p.registeredFields(ctx, topic+"-value", false); err != nil {
		return schemas.Pins{}, err
	}
	if len(pins.Key) == 0 {
		pins.Key = nil // no key registered: nothing pins its shape
	}
	return pins, nil
}

// registeredFields merges the fields of every version of subject (a key
// subject's key columns, a value subject's row fields), newest first.
func (p *Publisher) registeredFields(ctx context.Context, subject string, key bool) (map[string]schemas.Type, error) {
	versions, err := p.pinReg.Versions(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := map[string]schemas.Type{}
	for _, text := range slices.Backward(versions) {
		var v schemas.Pins
		if key {
			v, err = codec.PinsOf(text, "")
		} else {
			v, err = codec.PinsOf("", text)
		}
		if err != nil {
			return nil, fmt.Errorf("the registered schemas of %s: %w", subject, err)
		}
		for name, t := range v.Key {
			if _, newer := out[name]; !newer {
				out[name] = t
			}
		}
		for name, t := range v.Value {
			if _, newer := out[name]; !newer {
				out[name] = t
			}
		}
	}
	return out, nil
}

// Ping checks that a broker answers.
func (p *Publisher) Ping(ctx context.Context) error {
	if p.admCl == nil {
		return nil
	}
	if err := p.admCl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}
