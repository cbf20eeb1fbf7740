package producer

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas/srgen"
)

var benchRows = flag.Int("publish-rows", 1_000_000, "rows of the SREvent full file BenchmarkPublish publishes")

// BenchmarkPublish publishes one SREvent full file of -publish-rows rows
// end to end (read, convert, encode, transactions with checkpoints,
// markers) to an in-process kfake that discards what it is sent
// (BlackholeProduce: no storage, so memory and CPU are the agent's), or
// to the real broker named by KAFKATEST_BROKERS, and in the same run a
// bare franz-go producer sending the same number of records of the same
// sizes to the same broker. Run with -benchtime 1x.
func BenchmarkPublish(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in")
	// SREvent gets Rows/2 rows per organisation.
	g := srgen.New(srgen.Options{Seed: 1, Orgs: 1, Batches: 1, Rows: 2 * *benchRows, Tables: []string{"SREvent"}})
	if err := g.Write(in); err != nil {
		b.Fatal(err)
	}
	batchDir := filepath.Join(in, "group1", g.BatchName(0))
	var keyBytes, valBytes int64
	var records int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var k *kafkatest.Env
		if os.Getenv(kafkatest.EnvBrokers) != "" {
			k = kafkatest.New(b) // the real broker
		} else {
			k = kafkatest.Fake(b, kfake.BlackholeProduce())
		}
		ctx := context.Background()
		reg, _ := NewRegistry(k.Registry)
		cfg := Config{Brokers: k.Brokers, TopicPrefix: k.Prefix, Partitions: 6}
		var sizes sizeHook
		pub, err := New(ctx, cfg, reg, WithHooks(&sizes))
		if err != nil {
			b.Fatal(err)
		}
		if err := pub.Start(ctx, []string{"group1"}); err != nil {
			b.Fatal(err)
		}
		batch, err := manifest.Load(batchDir, "group1", manifest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := pub.Publish(ctx, batch)
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil || res.Outcome != Published || res.Events < int64(*benchRows) {
			b.Fatalf("%+v %v", res, err)
		}
		b.ReportMetric(float64(res.Events)/elapsed.Seconds(), "rows/s")
		records, keyBytes, valBytes = sizes.records, sizes.keys, sizes.values
		batch.Close()
		pub.Close()
		b.ReportMetric(bareProducer(b, k.Brokers, k.Prefix+".bare", records, keyBytes, valBytes), "bare-franz-go-records/s")
		b.StartTimer()
	}
	b.StopTimer()
	if rss, ok := peakRSS(); ok {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

// sizeHook counts what the agent produced, to replay the same volume.
type sizeHook struct{ records, keys, values int64 }

func (h *sizeHook) OnProduceRecordBuffered(r *kgo.Record) {
	h.records++
	h.keys += int64(len(r.Key))
	h.values += int64(len(r.Value))
}

// bareProducer sends n records of the agent's average key and value sizes
// with a plain idempotent franz-go producer and returns records/s.
func bareProducer(b *testing.B, brokers []string, topic string, n, keyBytes, valBytes int64) float64 {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.SnappyCompression()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 6, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	key := make([]byte, keyBytes/max(n, 1))
	val := []byte(strings.Repeat("x", int(valBytes/max(n, 1))))
	ctx := context.Background()
	start := time.Now()
	for i := int64(0); i < n; i++ {
		k := strconv.AppendInt(key[:0:0], i, 10)
		cl.Produce(ctx, &kgo.Record{Key: append(k, key[len(k)%max(len(key), 1):]...), Value: val}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// resetPeakRSS returns what the process no longer uses to the operating
// system and starts its peak resident set again from now (Linux), so
// that a benchmark's setup does not count.
func resetPeakRSS() {
	debug.FreeOSMemory()
	if runtime.GOOS == "linux" {
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	}
}

// peakRSS reads the process's peak resident set (Linux).
func peakRSS() (int64, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
