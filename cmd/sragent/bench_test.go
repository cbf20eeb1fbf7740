package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/sragent/sragent/producer"
	"github.com/sragent/sragent/schemas/srgen"
)

// BenchmarkValidate measures the whole dry run over one generated full
// batch (SREvent and SRCode, loose files): discovery, manifest, reading,
// conversion, encoding and size checks of every row, offline.
func BenchmarkValidate(b *testing.B) {
	in := filepath.Join(b.TempDir(), "in")
	g := srgen.New(srgen.Options{Seed: 1, Orgs: 1, Batches: 1, Rows: 100_000, Tables: []string{"SREvent", "SRCode"}})
	if err := g.Write(in); err != nil {
		b.Fatal(err)
	}
	cfg, err := loadConfig("", nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Input.Dir, cfg.Input.Settle = in, 0
	b.ResetTimer()
	var rows int64
	for i := 0; i < b.N; i++ {
		rep, err := (&app{stdout: io.Discard, stderr: io.Discard}).validate(context.Background(), cfg, nil, producer.DryRun{Offline: true})
		if err != nil || !rep.ok() {
			b.Fatalf("%v %+v", err, rep.Summary)
		}
		rows += rep.Summary.Events
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
