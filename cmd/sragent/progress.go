package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// progress shows how far each file is: a bar with bytes, rows, rate and
// ETA redrawn in place when the output is a terminal, otherwise a log line
// every logEvery. It never shows a value, only file names and counts.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	log      *slog.Logger
	now      func() time.Time
	logEvery time.Duration

	file           string
	started, drawn time.Time
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func newProgress(stdout, stderr io.Writer, log *slog.Logger) *progress {
	return &progress{w: stderr, tty: isTerminal(stdout) && isTerminal(stderr), log: log, now: time.Now, logEvery: 10 * time.Second}
}

// update reports the state of one file: bytes read of total, rows so far.
func (p *progress) update(batch, file string, bytes, total, rows int64, done bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	name := batch + "/" + file
	if name != p.file {
		p.file, p.started, p.drawn = name, now, time.Time{}
	}
	elapsed := now.Sub(p.started).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(rows) / elapsed
	}
	if p.tty {
		if !done && now.Sub(p.drawn) < 100*time.Millisecond {
			return
		}
		p.drawn = now
		fmt.Fprintf(p.w, "\r%s", bar(name, bytes, total, rows, rate, elapsed))
		if done {
			fmt.Fprintln(p.w)
		}
		return
	}
	if !done && now.Sub(p.drawn) < p.logEvery {
		return
	}
	p.drawn = now
	p.log.Info("progress", "batch", batch, "file", file, "bytes", bytes, "total_bytes", total, "rows", rows,
		"rows_per_second", int64(rate), "done", done)
}

// bar renders one progress line.
func bar(name string, bytes, total, rows int64, rate, elapsed float64) string {
	const width = 24
	frac := 1.0
	if total > 0 {
		frac = min(float64(bytes)/float64(total), 1)
	}
	fill := int(frac * width)
	eta := "-"
	if frac > 0 && frac < 1 && elapsed > 0 {
		eta = (time.Duration(elapsed/frac*(1-frac)) * time.Second).String()
	}
	return fmt.Sprintf("%-36s [%s%s] %3.0f%% %s/%s %d rows %.0f rows/s ETA %s ",
		shorten(name, 36), strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100,
		mib(bytes), mib(total), rows, rate, eta)
}

func mib(n int64) string { return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20)) }

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}
