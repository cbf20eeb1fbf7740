package producer

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
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
// to a discarding kfake four ways, one after the other in each
// iteration: without a table state (the baseline), the first time with the
// table state (every key written to the store), and again unchanged in a
// later batch (every row looked up, none published), and the same re-send
// with its rows shuffled (out of the store's key order). Run with
// -benchtime 1x -count N.
func BenchmarkPublishTableState(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 1, Orgs: 1, Batches: 1, Rows: 2 * *benchRows, Tables: []string{"SREvent"}})
	if err := g.Write(in); err != nil {
		b.Fatal(err)
	}
	first := filepath.Join(in, "group1", g.BatchName(0))
	again := copyBatch(b, first, g.BatchName(0), "20990101_0000", false)
	shuffled := copyBatch(b, first, g.BatchName(0), "20990102_0000", true)
	ctx := context.Background()
	// publish publishes dir in a fresh cluster (after first, when given),
	// without or with a table state, and returns its rows per second.
	var storeBytes int64       // of the first publish's store, closed
	peak := map[string]int64{} // by mode: the process's peak RSS while it ran
	publish := func(mode, dir, first string) (Result, float64) {
		resetPeakRSS()
		k := kafkatest.Fake(b, kfake.BlackholeProduce())
		reg, _ := NewRegistry(k.Registry)
		pub, err := New(ctx, Config{Brokers: k.Brokers, TopicPrefix: k.Prefix, Partitions: 6}, reg)
		if err != nil {
			b.Fatal(err)
		}
		state := b.TempDir()
		if mode != "none" {
			if pub.tables, err = openTables(state, true, false, slog.New(slog.DiscardHandler)); err != nil {
				b.Fatal(err)
			}
		}
		if err := pub.Start(ctx, []string{"group1"}); err != nil {
			b.Fatal(err)
		}
		one := func(label, dir string) (Result, time.Duration) {
			batch, err := manifest.Load(dir, "group1", manifest.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer batch.Close()
			start := time.Now()
			var res Result
			pprof.Do(ctx, pprof.Labels("mode", label), func(context.Context) { res, err = pub.Publish(ctx, batch) }) // -tagfocus mode=resend
			if err != nil || res.Outcome != Published {
				b.Fatalf("%+v %v", res, err)
			}
			return res, time.Since(start)
		}
		if first != "" {
			one(mode+"-setup", first)
		}
		res, elapsed := one(mode, dir)
		pub.Close() // the store's close waits for its flush
		peak[mode], _ = peakRSS()
		if mode == "first" {
			storeBytes = dirSize(b, state)
		}
		return res, float64(res.Events+res.Unchanged) / elapsed.Seconds()
	}
	for i := 0; i < b.N; i++ {
		// Interleaved, so that the ratios compare runs of the same moment
		// of a shared machine.
		_, none := publish("none", first, "")
		fres, fst := publish("first", first, "")
		rres, again := publish("resend", again, first)
		sres, shuf := publish("resend-shuffled", shuffled, first)
		for _, res := range []Result{rres, sres} {
			if fres.Events != res.Unchanged || res.Events != 0 {
				b.Fatalf("first published %d events, a re-send %d unchanged and %d events", fres.Events, res.Unchanged, res.Events)
			}
		}
		b.ReportMetric(none, "none-rows/s")
		b.ReportMetric(fst, "first-rows/s")
		b.ReportMetric(again, "resend-rows/s")
		b.ReportMetric(shuf, "shuffled-rows/s")
		b.ReportMetric(fst/none, "first/none")
		b.ReportMetric(float64(storeBytes)/(1<<20)/(float64(fres.Events)/1e6), "store-MiB/M-keys")
		for mode, rss := range peak {
			// The process's (broker and store included) while the mode ran.
			b.ReportMetric(float64(rss)/(1<<20), mode+"-peak-RSS-MiB")
		}
	}
}

// dirSize is the size of the files under dir (pebble's: its tables, log
// and manifest).
func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a file the store's compactions removed meanwhile
		}
		if err != nil || d.IsDir() {
			return err
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// copyBatch copies the batch in dir into a batch named to (its manifest
// renamed from from), linking its files, or rewriting them with their rows
// shuffled.
func copyBatch(b *testing.B, dir, from, to string, shuffle bool) string {
	dst := filepath.Join(filepath.Dir(dir), to)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		src, out := filepath.Join(dir, e.Name()), filepath.Join(dst, e.Name())
		switch {
		case e.Name() == manifest.FileName:
			raw, _ := os.ReadFile(src)
			os.WriteFile(out, []byte(strings.ReplaceAll(string(raw), from, to)), 0o644)
		case shuffle && strings.HasPrefix(e.Name(), "SREvent"):
			shuffleCSV(b, src, out)
		default:
			if err := os.Link(src, out); err != nil {
				b.Fatal(err)
			}
		}
	}
	return dst
}

// shuffleCSV writes the records of src after its header in a random
// order, holding only their offsets in memory.
func shuffleCSV(b *testing.B, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	r := csv.NewReader(bufio.NewReaderSize(in, 1<<20))
	r.ReuseRecord = true
	var ends []int64 // where each record ends (the first: the header)
	for {
		if _, err := r.Read(); err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		ends = append(ends, r.InputOffset())
	}
	order := rand.New(rand.NewPCG(1, 1)).Perm(len(ends) - 1)
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	io.Copy(w, io.NewSectionReader(in, 0, ends[0]))
	for _, i := range order {
		io.Copy(w, io.NewSectionReader(in, ends[i], ends[i+1]-ends[i]))
	}
	if err := errors.Join(w.Flush(), out.Close()); err != nil {
		b.Fatal(err)
	}
}

// repeatFirstRow replaces the CSV file at path (a link to another batch's)
// by a copy of it with its first record (one line) repeated at its end.
func repeatFirstRow(b *testing.B, path string) {
	in, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReaderSize(in, 1<<20)
	header, err := r.ReadString('\n')
	row, err2 := r.ReadString('\n')
	_, err3 := out.WriteString(header + row)
	_, err4 := io.Copy(out, r)
	_, err5 := out.WriteString(row)
	if err := errors.Join(err, err2, err3, err4, err5, out.Close(), os.Rename(tmp, path)); err != nil {
		b.Fatal(err)
	}
}
