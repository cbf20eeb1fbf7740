package producer

import (
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Metrics are sragent's Prometheus metrics. Labels are bounded: group
// (reporting groups), table (SR tables), op, outcome and reason (fixed
// sets); never an organisation, a file or a value.
type Metrics struct {
	reg prometheus.Registerer

	rows        *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	rowWarnings *prometheus.CounterVec
	orgs        *prometheus.GaugeVec
	orgChanges  *prometheus.CounterVec
	unchanged   *prometheus.CounterVec
	vanished    *prometheus.CounterVec
	guarded     *prometheus.CounterVec
	batches     *prometheus.CounterVec
	batchTime   *prometheus.HistogramVec
	readBytes   *prometheus.CounterVec
	ackLatency  prometheus.Histogram
	txns        *prometheus.CounterVec
	passErrors  prometheus.Counter
	lastBatch   *prometheus.GaugeVec
	halted      *prometheus.GaugeVec
	pending     *prometheus.GaugeVec
	waiting     *prometheus.GaugeVec

	mu      sync.Mutex
	cutoffs map[string]time.Time // group → last published cut-off
	now     func() time.Time
}

// NewMetrics creates the metrics on reg, with a build-info series for
// version.
func NewMetrics(reg prometheus.Registerer, version string) *Metrics {
	m := &Metrics{reg: reg, cutoffs: map[string]time.Time{}, now: time.Now}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sragent", Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sragent", Name: name, Help: help}, labels)
		reg.MustRegister(g)
		return g
	}
	m.rows = counter("rows_published_total", "Row events published (committed), by table and op (r, u, d).", "table", "op")
	m.deadLetters = counter("dead_letters_total", "Rows sent to the dead-letter topic, by table and reason.", "table", "reason")
	m.unchanged = counter("rows_unchanged_total", "Rows not published because their image was the one last published for their key (committed), by table.", "table")
	m.vanished = counter("rows_vanished_total", "Keys known for a full file's scope that the file no longer held (committed), by table and "+
		"action: reported (every one) or deleted (removed with a d event and a tombstone, reconcile delete mode).", "table", "action")
	m.rowWarnings = counter("row_warnings_total", "Rows published with a warning (committed), by table and warning: "+
		"delete_cell_null (a deleted row's cell that did not convert, null in its d event: a delete needs only its key), "+
		"key_only_upsert (a row of a delta without RemovedData holding only its key, published as an upsert of an otherwise null record).", "table", "warning")
	m.orgs = gauge("organisations", "Organisations (IDOrganisationVisibleTo) the group's batches hold, as of its last batch.", "group")
	m.orgChanges = counter("organisation_changes_total", "Organisations that appeared in a group's batches (new) or are in none of a "+
		"batch's organisation-scoped full files any more (absent), by group.", "group", "change")
	m.guarded = counter("reconcile_guarded_total", "Full files with vanished keys that held fewer than reconcile.min_ratio of the keys "+
		"known for their scope, so that none was deleted (committed), by table.", "table")
	m.batches = counter("batches_total", "Batches handled, by group and outcome (published, duplicate, conflict, halted, invalid).", "group", "outcome")
	m.readBytes = counter("read_bytes_total", "Bytes of table files read while publishing, by group.", "group")
	m.txns = counter("transactions_total", "Kafka transactions ended, by group and outcome (commit, abort).", "group", "outcome")
	m.lastBatch = gauge("last_batch_timestamp_seconds", "When the group last published a batch (Unix time).", "group")
	m.halted = gauge("chain_halted", "1 when the group's chain is halted (a gap or a quarantined batch), else 0.", "group")
	m.pending = gauge("pending_batches", "Batch folders of the group still in the input folder after the last pass.", "group")
	m.waiting = gauge("waiting_batches", "Batch folders of the group that cannot be published yet, by reason: incomplete (files missing or still "+
		"changing), held (stamped ahead of the clock by more than input.future_tolerance) or unreadable (the group folder).", "group", "reason")
	m.batchTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "sragent", Name: "batch_duration_seconds",
		Help:    "Time to publish one batch, preparation included.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}, []string{"group"})
	m.ackLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "sragent", Name: "produce_ack_latency_seconds",
		Help:    "Time from handing a record to the client until the broker acknowledged it.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)})
	m.passErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "sragent", Name: "pass_errors_total",
		Help: "Publish passes that failed on Kafka, the registry or the disk (retried at the next poll)."})
	reg.MustRegister(m.passErrors)
	build := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "sragent", Name: "build_info",
		Help: "Build information; always 1.", ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	build.Set(1)
	reg.MustRegister(m.batchTime, m.ackLatency, build, cutoffCollector{m})
	return m
}

// waitReasons are the reason label values of waiting_batches.
var waitReasons = []string{"incomplete", "held", "unreadable"}

// clientHooks returns the hooks of one franz-go client: kprom's client
// metrics (labelled with the client's role, "admin" or the group) and the
// ack-latency observer.
func (m *Metrics) clientHooks(role string) []kgo.Hook {
	if m == nil {
		return nil
	}
	k := kprom.NewMetrics("sragent_kafka", kprom.Registerer(m.reg), kprom.WithStaticLabel(prometheus.Labels{"client": role}))
	return []kgo.Hook{k, ackHook{m}}
}

type ackHook struct{ m *Metrics }

// OnProduceRecordUnbuffered observes the record's time to acknowledgement.
func (h ackHook) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if err == nil && !r.Timestamp.IsZero() {
		h.m.ackLatency.Observe(h.m.now().Sub(r.Timestamp).Seconds())
	}
}

// primeRows creates the row counters of the tables at 0, so that a
// dashboard's rate() sees a table's first batch (a series that appears
// with its first count has no earlier sample to rise from).
func (m *Metrics) primeRows(tables []string) {
	if m == nil {
		return
	}
	for _, t := range tables {
		for _, op := range []string{"r", "u", "d"} {
			m.rows.WithLabelValues(t, op)
		}
	}
}

func (m *Metrics) rowsN(table string, op byte, n int64) {
	if m != nil && n > 0 {
		m.rows.WithLabelValues(table, string(op)).Add(float64(n))
	}
}

func (m *Metrics) unchangedN(table string, n int64) {
	if m != nil && n > 0 {
		m.unchanged.WithLabelValues(table).Add(float64(n))
	}
}

func (m *Metrics) vanishedN(table, action string, n int64) {
	if m != nil && n > 0 {
		m.vanished.WithLabelValues(table, action).Add(float64(n))
	}
}

func (m *Metrics) guardedN(table string, n int64) {
	if m != nil && n > 0 {
		m.guarded.WithLabelValues(table).Add(float64(n))
	}
}

func (m *Metrics) organisations(group string, known, appeared, absent int) {
	if m == nil {
		return
	}
	m.orgs.WithLabelValues(group).Set(float64(known))
	m.orgChanges.WithLabelValues(group, "new").Add(float64(appeared))
	m.orgChanges.WithLabelValues(group, "absent").Add(float64(absent))
}

func (m *Metrics) rowWarningsN(table, warning string, n int64) {
	if m != nil && n > 0 {
		m.rowWarnings.WithLabelValues(table, warning).Add(float64(n))
	}
}

func (m *Metrics) deadLettersN(table, reason string, n int64) {
	if m != nil && n > 0 {
		m.deadLetters.WithLabelValues(table, reason).Add(float64(n))
	}
}

func (m *Metrics) passError() {
	if m != nil {
		m.passErrors.Inc()
	}
}

func (m *Metrics) txn(group, outcome string) {
	if m != nil {
		m.txns.WithLabelValues(group, outcome).Inc()
	}
}

func (m *Metrics) read(group string, n int64) {
	if m != nil && n > 0 {
		m.readBytes.WithLabelValues(group).Add(float64(n))
	}
}

// batch records a batch's outcome and, when published, its time and cut-off.
func (m *Metrics) batch(group string, o Outcome, took time.Duration, cutoff time.Time) {
	if m == nil {
		return
	}
	m.batches.WithLabelValues(group, o.String()).Inc()
	if o != Published && o != Duplicate {
		return
	}
	if o == Published {
		m.batchTime.WithLabelValues(group).Observe(took.Seconds())
		m.lastBatch.WithLabelValues(group).Set(float64(m.now().Unix()))
	}
	m.setCutoff(group, cutoff)
}

func (m *Metrics) setCutoff(group string, cutoff time.Time) {
	if m == nil || cutoff.IsZero() {
		return
	}
	m.mu.Lock()
	if cutoff.After(m.cutoffs[group]) {
		m.cutoffs[group] = cutoff
	}
	m.mu.Unlock()
}

func (m *Metrics) chain(group string, halted bool, pending int, waiting map[string]int) {
	if m == nil {
		return
	}
	for _, r := range waitReasons {
		m.waiting.WithLabelValues(group, r).Set(float64(waiting[r]))
	}
	h := 0.0
	if halted {
		h = 1
	}
	m.halted.WithLabelValues(group).Set(h)
	m.pending.WithLabelValues(group).Set(float64(pending))
	m.primeGroup(group)
}

// primeGroup creates the group's counters that may not have moved yet at
// 0, so that rate() and alerts see them from the start: before the
// group's first batch is published, not after.
func (m *Metrics) primeGroup(group string) {
	if m == nil {
		return
	}
	for _, o := range outcomeNames {
		m.batches.WithLabelValues(group, o).Add(0)
	}
	m.txns.WithLabelValues(group, "commit").Add(0)
	m.txns.WithLabelValues(group, "abort").Add(0)
	m.readBytes.WithLabelValues(group).Add(0)
}

// cutoffCollector exports each group's last cut-off and its age, computed
// at scrape time: the 21-day rule counts from the last delta's cut-off.
type cutoffCollector struct{ m *Metrics }

var (
	cutoffDesc = prometheus.NewDesc("sragent_last_cutoff_timestamp_seconds",
		"DateExtractTo of the last batch the group published (Unix time).", []string{"group"}, nil)
	cutoffAgeDesc = prometheus.NewDesc("sragent_last_cutoff_age_seconds",
		"Seconds since the group's last published cut-off; SystmOne sends a full download after 21 days.", []string{"group"}, nil)
)

// Describe sends both descriptors.
func (c cutoffCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cutoffDesc
	ch <- cutoffAgeDesc
}

// Collect sends one sample of each per group.
func (c cutoffCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	now := c.m.now()
	for g, t := range c.m.cutoffs {
		ch <- prometheus.MustNewConstMetric(cutoffDesc, prometheus.GaugeValue, float64(t.Unix()), g)
		ch <- prometheus.MustNewConstMetric(cutoffAgeDesc, prometheus.GaugeValue, now.Sub(t).Seconds(), g)
	}
}
