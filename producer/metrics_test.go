package producer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sragent/sragent/schemas/srgen"
)

// sum adds the values of a metric family's samples whose labels match.
func sum(t *testing.T, reg *prometheus.Registry, name string, match map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	samples:
		for _, m := range mf.GetMetric() {
			for k, v := range match {
				if label(m, k) != v {
					continue samples
				}
			}
			switch {
			case m.Counter != nil:
				total += m.Counter.GetValue()
			case m.Gauge != nil:
				total += m.Gauge.GetValue()
			case m.Histogram != nil:
				total += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return total
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// The metrics count exactly what was committed, with bounded labels, and
// pass promlint; franz-go's client metrics are on the same registry.
func TestMetrics(t *testing.T) {
	e := newFakeEnv(t)
	e.cfg.TxnRecords = 50
	g := e.chain(srgen.Options{Seed: 41, Groups: 2, Orgs: 2, Batches: 3, Rows: 40})
	bad := filepath.Join(e.in, "group2", g.BatchName(1), "SRPatient.csv")
	raw, _ := os.ReadFile(bad)
	os.WriteFile(bad, append(raw, []byte("x1,A1,,,,,,,,,,,,,,,,0\r\n")...), 0o644)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, "test")
	failProduce(e.k.Fake, 6) // one aborted transaction on the way
	ctx := context.Background()
	if _, err := e.runWith(ctx, WithMetrics(m)); err == nil {
		t.Fatal("no injected failure")
	}
	err := e.withAgent(ctx, []Opt{WithMetrics(m)}, func(a *Agent) error {
		if _, err := a.RunOnce(ctx); err != nil {
			return err
		}
		// franz-go's client metrics live as long as the clients.
		if got := sum(t, reg, "sragent_kafka_produce_bytes_total", map[string]string{"client": "group1"}); got == 0 {
			t.Error("no franz-go client metrics for group1's producer")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, ev := range e.consume(allTopics(g, e.cfg)...) {
		if ev.value != nil && ev.value["op"] != "m" {
			published++
		}
	}
	if got := sum(t, reg, "sragent_rows_published_total", nil); got != float64(published) {
		t.Errorf("rows_published_total %v, topics hold %d row events", got, published)
	}
	if got := sum(t, reg, "sragent_dead_letters_total", map[string]string{"table": "SRPatient", "reason": "not_integer"}); got != 1 {
		t.Errorf("dead letters: metric %v, want 1 (counted once although its first transaction may have aborted)", got)
	}
	if got := sum(t, reg, "sragent_transactions_total", map[string]string{"outcome": "abort"}); got < 1 {
		t.Errorf("aborted transactions %v", got)
	}
	if got := sum(t, reg, "sragent_batches_total", map[string]string{"outcome": "published"}); got != 6 {
		t.Errorf("published batches %v, want 6", got)
	}
	if got := sum(t, reg, "sragent_last_cutoff_timestamp_seconds", map[string]string{"group": "group1"}); got == 0 {
		t.Error("no cut-off for group1")
	}
	if got := sum(t, reg, "sragent_produce_ack_latency_seconds", nil); got == 0 {
		t.Error("no ack latency observed")
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "sragent_kafka_buffered_") {
			continue // kprom's own gauges named _total (a known kprom naming issue)
		}
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
