package producer

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas/srgen"
)

// BenchmarkPublishTableState publishes the -publish-rows SREvent full file
// to a discarding kfake three ways, interleaved in one run: without a
// table state (the baseline), the first time with the table state (every
// key written to the store), and again unchanged in a later batch (every
// row looked up, none published). Run with -benchtime 1x -count N.
func BenchmarkPublishTableState(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 1, Orgs: 1, Batches: 1, Rows: 2 * *benchRows, Tables: []string{"SREvent"}})
	if err := g.Write(in); err != nil {
		b.Fatal(err)
	}
	first := filepath.Join(in, "group1", g.BatchName(0))
	again := filepath.Join(in, "group1", "20990101_0000")
	os.MkdirAll(again, 0o755)
	entries, _ := os.ReadDir(first)
	for _, e := range entries {
		src, dst := filepath.Join(first, e.Name()), filepath.Join(again, e.Name())
		if e.Name() == manifest.FileName {
			raw, _ := os.ReadFile(src)
			os.WriteFile(dst, []byte(strings.ReplaceAll(string(raw), g.BatchName(0), "20990101_0000")), 0o644)
			continue
		}
		if err := os.Link(src, dst); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"none", "first", "resend"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				k := kafkatest.Fake(b, kfake.BlackholeProduce())
				ctx := context.Background()
				reg, _ := NewRegistry(k.Registry)
				pub, err := New(ctx, Config{Brokers: k.Brokers, TopicPrefix: k.Prefix, Partitions: 6}, reg)
				if err != nil {
					b.Fatal(err)
				}
				if mode != "none" {
					if pub.tables, err = openTables(b.TempDir(), true, false, slog.New(slog.DiscardHandler)); err != nil {
						b.Fatal(err)
					}
				}
				if err := pub.Start(ctx, []string{"group1"}); err != nil {
					b.Fatal(err)
				}
				publish := func(dir string) (Result, time.Duration) {
					batch, err := manifest.Load(dir, "group1", manifest.Options{})
					if err != nil {
						b.Fatal(err)
					}
					defer batch.Close()
					start := time.Now()
					res, err := pub.Publish(ctx, batch)
					if err != nil || res.Outcome != Published {
						b.Fatalf("%+v %v", res, err)
					}
					return res, time.Since(start)
				}
				if mode == "resend" {
					publish(first)
				}
				b.StartTimer()
				dir := first
				if mode == "resend" {
					dir = again
				}
				var res Result
				var elapsed time.Duration
				pprof.Do(ctx, pprof.Labels("mode", mode), func(context.Context) { res, elapsed = publish(dir) }) // -tagfocus mode=resend
				b.StopTimer()
				b.ReportMetric(float64(res.Events+res.Unchanged)/elapsed.Seconds(), "rows/s")
				b.ReportMetric(float64(res.Events), "events")
				if rss, ok := peakRSS(); ok {
					b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB") // the process's, so far
				}
				pub.Close()
				b.StartTimer()
			}
		})
	}
}
