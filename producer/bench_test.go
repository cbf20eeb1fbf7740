package producer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas/srgen"
)

var (
	benchRows  = flag.Int("publish-rows", 1_000_000, "rows of the full file BenchmarkPublish publishes")
	benchTable = flag.String("publish-table", "SREvent", "the table of that file: SREvent or SRCode")
)

// TestMain lets the test binary be the broker process of
// kafkatest.Process.
func TestMain(m *testing.M) {
	kafkatest.ServeChild()
	os.Exit(m.Run())
}

// BenchmarkPublish measures the agent against the floor that franz-go sets
// on the very records the agent sent. Each iteration, on one broker (kfake
// in a process of its own, discarding what it is sent, or the real one
// KAFKATEST_BROKERS names), one after the other:
//
//   - first: publish of a -publish-rows full file of -publish-table with
//     the table state (every key written to the store), end to end (read,
//     convert, encode, transactions with checkpoints, markers);
//   - resend: the same file again in a later batch (the structure pass
//     reads it and finds it is the last file the table state holds: not
//     read again, every row unchanged, none published);
//   - resend-rows: the file again with its first row repeated at its end
//     (bytes of its own: every row read, converted and found unchanged,
//     none published);
//   - floor: a bare idempotent franz-go producer sending the records the
//     agent sent, captured to a file by an untimed publish of the same
//     file before first (the same keys and values, the agent's compression, linger
//     and partitioner) from memory, without transactions.
//
// It reports rows/s, the process's CPU-seconds per million rows and its
// peak resident set while each ran (the broker's are its own process's),
// and the ratios of README's table. Run with -benchtime 1x -count N.
func BenchmarkPublish(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in")
	rows := *benchRows // SRCode gets Rows, SREvent Rows/2 per organisation
	if *benchTable == "SREvent" {
		rows *= 2
	}
	g := srgen.New(srgen.Options{Seed: 1, Orgs: 1, Batches: 1, Rows: rows, Tables: []string{*benchTable}})
	if err := g.Write(in); err != nil {
		b.Fatal(err)
	}
	first := filepath.Join(in, "group1", g.BatchName(0))
	again := copyBatch(b, first, g.BatchName(0), "20990101_0000", false)
	rowsAgain := copyBatch(b, first, g.BatchName(0), "20990102_0000", false)
	repeatFirstRow(b, filepath.Join(rowsAgain, *benchTable+".csv"))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var k *kafkatest.Env
		if os.Getenv(kafkatest.EnvBrokers) != "" {
			k = kafkatest.New(b) // the real broker
		} else {
			k = kafkatest.Process(b)
		}
		reg, _ := NewRegistry(k.Registry)
		cfg := Config{Brokers: k.Brokers, TopicPrefix: k.Prefix, Partitions: 6}
		records := capture(b, k, first)
		pub, err := New(ctx, cfg, reg)
		if err != nil {
			b.Fatal(err)
		}
		// As OpenAgent sets them up by default.
		pub.reconcile = DefaultReconcile()
		if pub.tables, err = openTables(b.TempDir(), true, false, slog.New(slog.DiscardHandler)); err != nil {
			b.Fatal(err)
		}
		if err := pub.Start(ctx, []string{"group1"}); err != nil {
			b.Fatal(err)
		}
		one := func(mode, dir string) (Result, measure) {
			var m measure
			res := publishBatch(b, pub, dir, mode, func(timed bool) {
				if timed {
					m = startMeasure()
					b.StartTimer()
				} else {
					b.StopTimer()
				}
			})
			return res, m.stop(res.Events + res.Unchanged)
		}
		fres, fm := one("first", first)
		rres, rm := one("resend", again)
		wres, wm := one("resend-rows", rowsAgain)
		pub.Close()
		ff, rf, wf := tableReport(b, fres), tableReport(b, rres), tableReport(b, wres)
		if ff.Events < int64(*benchRows) || rf.Unchanged != ff.Events || rf.Events != 0 || rf.SameAs == "" {
			b.Fatalf("first published %d events, the re-send %d (%d unchanged, same as %q)", ff.Events, rf.Events, rf.Unchanged, rf.SameAs)
		}
		if wf.Unchanged != ff.Events+1 || wf.Events != 0 || wf.SameAs != "" {
			b.Fatalf("the re-send of the rows published %d events (%d unchanged, same as %q)", wf.Events, wf.Unchanged, wf.SameAs)
		}
		floor := floorProducer(b, k.Brokers, k.Prefix+".floor", records)
		fm.report(b, "first")
		rm.report(b, "resend")
		wm.report(b, "resend-rows")
		floor.report(b, "floor")
		b.ReportMetric(fm.rate/floor.rate, "first/floor")
		b.ReportMetric(fm.cpu/floor.cpu, "first-cpu/floor-cpu")
		b.ReportMetric(rm.rate/fm.rate, "resend/first")
		b.ReportMetric(wm.rate/fm.rate, "resend-rows/first")
		b.StartTimer()
	}
}

// tableReport is the report of res's -publish-table file.
func tableReport(b *testing.B, res Result) *FileReport {
	for _, f := range res.Files {
		if f.Table == *benchTable {
			return f
		}
	}
	b.Fatalf("no %s file in %+v", *benchTable, res)
	return nil
}

// measure is what one mode of BenchmarkPublish took.
type measure struct {
	start          time.Time
	cpu0           time.Duration
	rate, cpu, rss float64 // rows/s, CPU-seconds per million rows, MiB
}

func startMeasure() measure {
	resetPeakRSS()
	cpu, _ := cpuTime()
	return measure{start: time.Now(), cpu0: cpu}
}

// stop ends m after n rows.
func (m measure) stop(n int64) measure {
	elapsed := time.Since(m.start)
	cpu, _ := cpuTime()
	rss, _ := peakRSS()
	m.rate = float64(n) / elapsed.Seconds()
	m.cpu = (cpu - m.cpu0).Seconds() / (float64(n) / 1e6)
	m.rss = float64(rss) / (1 << 20)
	return m
}

func (m measure) report(b *testing.B, mode string) {
	b.ReportMetric(m.rate, mode+"-rows/s")
	b.ReportMetric(m.cpu, mode+"-CPU-s/M-rows")
	b.ReportMetric(m.rss, mode+"-peak-RSS-MiB")
}

// capture publishes the batch in dir under a topic prefix of its own and
// returns the file its table's records were captured to.
func capture(b *testing.B, k *kafkatest.Env, dir string) string {
	path := filepath.Join(b.TempDir(), "records")
	reg, _ := NewRegistry(k.Registry)
	cfg := Config{Brokers: k.Brokers, TopicPrefix: k.Prefix + "capture", Partitions: 6}
	h := newCaptureHook(b, path, cfg.TopicFor(*benchTable))
	pub, err := New(context.Background(), cfg, reg, WithHooks(h))
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Start(context.Background(), []string{"group1"}); err != nil {
		b.Fatal(err)
	}
	publishBatch(b, pub, dir, "capture", func(bool) {})
	h.close()
	return path
}

// publishBatch publishes group1's batch in dir with pub, labelled mode in
// CPU profiles (-tagfocus mode=first), calling timer(true) just before
// and timer(false) just after, and fails b unless it was published.
func publishBatch(b *testing.B, pub *Publisher, dir, mode string, timer func(bool)) Result {
	batch, err := manifest.Load(dir, "group1", manifest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer batch.Close()
	var res Result
	ctx := context.Background()
	timer(true)
	pprof.Do(ctx, pprof.Labels("mode", mode), func(ctx context.Context) { res, err = pub.Publish(ctx, batch) })
	timer(false)
	if err != nil || res.Outcome != Published {
		b.Fatalf("%s: %+v %v", mode, res, err)
	}
	return res
}

// captureHook writes the table's records as they are produced (markers
// left out) to a file: a uvarint length and the bytes of the key, then of
// the value (length 0: a tombstone's null).
type captureHook struct {
	b     *testing.B
	topic string
	path  string
	f     *os.File
	w     *bufio.Writer
	n     [2 * binary.MaxVarintLen64]byte
}

func newCaptureHook(b *testing.B, path, topic string) *captureHook {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	return &captureHook{b: b, topic: topic, path: path, f: f, w: bufio.NewWriterSize(f, 1<<20)}
}

func (h *captureHook) OnProduceRecordBuffered(r *kgo.Record) {
	if h.w == nil || r.Topic != h.topic || isMarker(r) {
		return
	}
	h.w.Write(binary.AppendUvarint(h.n[:0], uint64(len(r.Key))))
	h.w.Write(r.Key)
	h.w.Write(binary.AppendUvarint(h.n[:0], uint64(len(r.Value))))
	h.w.Write(r.Value)
}

func (h *captureHook) close() {
	if err := errors.Join(h.w.Flush(), h.f.Close()); err != nil {
		h.b.Fatal(err)
	}
	h.w = nil
}

// floorProducer sends the records captured in path from memory with a
// plain idempotent franz-go producer configured as the agent's (no
// transactions, no reading, no encoding) and measures it.
func floorProducer(b *testing.B, brokers []string, topic, path string) measure {
	b.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var recs [][2][]byte
	for rest := raw; len(rest) > 0; {
		var kv [2][]byte
		for i := range kv {
			n, w := binary.Uvarint(rest)
			kv[i], rest = rest[w:w+int(n):w+int(n)], rest[w+int(n):]
		}
		if len(kv[1]) == 0 {
			kv[1] = nil
		}
		recs = append(recs, kv)
	}
	def := Config{}.withDefaults()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.SnappyCompression()), kgo.ProducerLinger(def.Linger),
		kgo.ProducerBatchMaxBytes(def.BatchMaxBytes), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 6, -1, nil, topic); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	m := startMeasure()
	for _, kv := range recs {
		cl.Produce(ctx, &kgo.Record{Key: kv[0], Value: kv[1]}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return m.stop(int64(len(recs)))
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

// cpuTime is the user and system CPU time the process has used (Linux).
func cpuTime() (time.Duration, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command's closing parenthesis: utime and stime
	// are the 12th and 13th, in clock ticks (100 a second).
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, err1 == nil && err2 == nil
}
