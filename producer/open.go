package producer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sragent/sragent/codec"
)

// AgentConfig is everything an Agent needs: where batches come from and
// go, how their files are written, and the Kafka cluster and Schema
// Registry they are published to. cmd/sragent decodes it from its YAML
// configuration; the mapstructure tags are those keys.
type AgentConfig struct {
	// InputDir is where SystmOne drops batch folders; published batches
	// move to ArchiveDir, bad ones to QuarantineDir.
	InputDir, ArchiveDir, QuarantineDir string
	// Settle is how long a batch folder must be unchanged to be ready.
	Settle time.Duration
	// IncompleteAfter is how long a batch folder that lacks a file its
	// manifest lists may stay unchanged before it is quarantined (with
	// the file named); until then it waits as incomplete. The default is
	// one hour.
	IncompleteAfter time.Duration
	// FutureTolerance is how far ahead of this machine's clock a batch's
	// folder stamp or cut-off may be; a batch further ahead (a typo, a
	// wrong clock) is held, never published. The default is one hour.
	FutureTolerance time.Duration
	// ShutdownTimeout bounds the abort of the open transaction once the
	// context is cancelled (SIGTERM); the default is 15 seconds.
	ShutdownTimeout time.Duration
	// FencedBackoff is how long a group waits, at first, after another
	// sragent fenced this one from it (doubling up to ten times that);
	// the default is 30 seconds.
	FencedBackoff time.Duration
	// Dialect is how the manifest, the list files and the table files are
	// written; the one value every reader of the batch uses.
	Dialect codec.Dialect
	// StateDir holds the table-state store ("" for none: every row is
	// published, as with SuppressUnchanged off).
	StateDir string
	// SuppressUnchanged skips a row whose image equals the last one
	// published for its key (unchanged.suppress).
	SuppressUnchanged bool
	// Reconcile says what happens to rows that vanish from full files
	// (zero: DefaultReconcile).
	Reconcile ReconcileConfig
	// Labels gives every list column a label field with the text of its
	// id from the group's latest lists (lists.labels).
	Labels bool
	// Kafka and Registry are where events go.
	Kafka    Config
	Registry RegistryConfig
}

// RegistryConfig is the Confluent-compatible Schema Registry.
type RegistryConfig struct {
	URL      string `mapstructure:"url"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
}

// Client returns a Registry client for c.
func (c RegistryConfig) Client() (*Registry, error) {
	var opts []sr.ClientOpt
	if c.Username != "" {
		opts = append(opts, sr.BasicAuth(c.Username, c.Password))
	}
	return NewRegistry(c.URL, opts...)
}

// Open starts an agent in one call: it connects to the registry and Kafka,
// ensures sragent's own topics, initialises the transactional producer of
// every group in the state topic or the input folder (fencing whatever a
// crashed agent left open, and refusing a second agent's transactions
// from then on), reads the committed state and primes the metrics. With
// WithDryRun it only reads. Close the agent when done.
func Open(ctx context.Context, cfg AgentConfig, opts ...Opt) (*Agent, error) {
	if cfg.Dialect.Delimiter == 0 {
		cfg.Dialect = codec.DefaultDialect()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.FutureTolerance <= 0 {
		cfg.FutureTolerance = time.Hour
	}
	if cfg.IncompleteAfter <= 0 {
		cfg.IncompleteAfter = time.Hour
	}
	if cfg.FencedBackoff <= 0 {
		cfg.FencedBackoff = 30 * time.Second
	}
	reg, err := cfg.Registry.Client()
	if err != nil {
		return nil, err
	}
	pub, err := New(ctx, cfg.Kafka, reg, append(opts, withDialect(cfg.Dialect), func(p *Publisher) { p.shutdown = cfg.ShutdownTimeout })...)
	if err != nil {
		return nil, err
	}
	pub.reconcile, pub.labels = cfg.Reconcile, cfg.Labels
	if pub.reconcile.Mode == "" {
		pub.reconcile = DefaultReconcile()
	}
	if err := pub.reconcile.Validate(); err != nil {
		pub.Close()
		return nil, err
	}
	if pub.tables, err = openTables(cfg.StateDir, cfg.SuppressUnchanged, pub.dry != nil, pub.log); err != nil {
		pub.Close()
		return nil, err
	}
	a := &Agent{pub: pub, reg: reg, cfg: cfg, log: pub.log, now: pub.now, fenced: map[string]backoff{}}
	if pub.dry == nil && cfg.StateDir != "" {
		// A chain that failed before a restart goes on counting.
		a.failing, _, _ = ReadFailing(cfg.StateDir)
	}
	if pub.dry != nil {
		// A dry run reports; it does not log what it did not do.
		a.log, pub.log = slog.New(slog.DiscardHandler), slog.New(slog.DiscardHandler)
		err = pub.Start(ctx, nil)
	} else {
		var groups []string
		if groups, err = a.groups(); err == nil {
			err = pub.Start(ctx, groups)
		}
	}
	if err != nil {
		pub.Close()
		return nil, err
	}
	a.primeMetrics()
	return a, nil
}

// Close disconnects.
func (a *Agent) Close() { a.pub.Close() }

// State returns the committed state as last read or written.
func (a *Agent) State() *State { return a.pub.State() }

// Resume lifts a group's halt: its next batch is published although it
// does not continue the chain (an operator accepted the gap).
func (a *Agent) Resume(ctx context.Context, group string) error { return a.pub.Resume(ctx, group) }

// Ping checks that Kafka and the Schema Registry answer, naming which
// failed.
func (a *Agent) Ping(ctx context.Context) (kafka, registry error) {
	kafka = a.pub.Ping(ctx)
	if a.reg == nil {
		return kafka, errors.New("schema registry: not configured")
	}
	return kafka, a.reg.Ping(ctx)
}

// Logger returns the agent's logger.
func (a *Agent) Logger() *slog.Logger { return a.log }
