package producer

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
)

// Opt configures a Publisher (and the Agent Open builds over it).
type Opt func(*Publisher)

// WithLogger sets the logger, overriding the default discard logger.
func WithLogger(l *slog.Logger) Opt { return func(p *Publisher) { p.log = l } }

// withDialect sets the dialect of the table files; Open sets it from
// AgentConfig.Dialect, the one value every reader uses.
func withDialect(d codec.Dialect) Opt { return func(p *Publisher) { p.dialect = d } }

// WithVersion sets the version written in every event's source block.
func WithVersion(v string) Opt { return func(p *Publisher) { p.version = v } }

// WithClock sets the clock of ts_ms and of the state's timestamps,
// overriding time.Now. It is called from more than one goroutine (each
// file's read stage reads it once per chunk of rows).
func WithClock(now func() time.Time) Opt { return func(p *Publisher) { p.now = now } }

// ProgressFunc is told how far a file is: bytes read of total, rows so
// far, and done at its end. It must be quick.
type ProgressFunc func(group, batch, file string, bytes, total, rows int64, done bool)

// WithProgress reports progress per file, overriding the default of none.
func WithProgress(fn ProgressFunc) Opt { return func(p *Publisher) { p.progress = fn } }

// WithMetrics records Prometheus metrics, franz-go's client metrics
// (kprom) included. A dry run records none.
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

// DryRun says how a dry run reaches Kafka and the registry.
type DryRun struct {
	// Offline: no Kafka at all. The committed state is taken as empty and
	// every topic as sragent would create it.
	Offline bool
	// CheckRegistry asks the Schema Registry whether each table's schemas
	// would be accepted (a refusal is Blocked); nothing is registered.
	CheckRegistry bool
}

// WithDryRun makes the Publisher predict instead of publish. It runs the
// same pipeline (classify against the committed state, open, scan,
// convert, encode, size-check, count) but reads the state without
// initialising any producer (a running agent is not fenced), creates no
// topic, registers no schema, produces nothing and moves no folder. What
// it would commit it keeps in memory, so that the later batches of a chain
// are classified exactly as publish would classify them.
func WithDryRun(d DryRun) Opt {
	return func(p *Publisher) { p.dry = &d }
}
