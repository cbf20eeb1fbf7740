package codec

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/sragent/sragent/schemas/srgen"
)

var (
	benchMu    sync.Mutex
	benchFiles = map[string][]byte{}
)

// benchFile returns a generated full file of table (200,000 rows, built
// once per process).
func benchFile(b *testing.B, table string) []byte {
	benchMu.Lock()
	defer benchMu.Unlock()
	if f, ok := benchFiles[table]; ok {
		return f
	}
	var buf bytes.Buffer
	if err := srgen.New(srgen.Options{Seed: 1, Orgs: 1}).WriteTable(&buf, table, 200_000); err != nil {
		b.Fatal(err)
	}
	benchFiles[table] = buf.Bytes()
	return buf.Bytes()
}

// BenchmarkReadConvert measures the whole reading side of one file: CSV
// parsing, Windows-1252 decoding, header mapping and typed conversion of
// every cell. Run with -cpu 1 for the one-core figure.
func BenchmarkReadConvert(b *testing.B) {
	for _, table := range []string{"SREvent", "SRCode"} {
		b.Run(table, func(b *testing.B) {
			data := benchFile(b, table)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			b.ReportAllocs()
			rows := 0
			for i := 0; i < b.N; i++ {
				sc, err := NewScanner(table, bytes.NewReader(data), DefaultDialect())
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := sc.Scan()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					rows++
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkEncodingCSV is the baseline: Go's encoding/csv parsing the same
// bytes with no decoding or conversion.
func BenchmarkEncodingCSV(b *testing.B) {
	for _, table := range []string{"SREvent", "SRCode"} {
		b.Run(table, func(b *testing.B) {
			data := benchFile(b, table)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			rows := 0
			for i := 0; i < b.N; i++ {
				r := csv.NewReader(bytes.NewReader(data))
				r.ReuseRecord = true
				r.LazyQuotes = true
				for {
					if _, err := r.Read(); err != nil {
						break
					}
					rows++
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkEncode measures Avro encoding of key and value per row with the
// goavro-backed TableCodec (what validate adds on top of read + convert).
func BenchmarkEncode(b *testing.B) {
	data := benchFile(b, "SREvent")
	sc, err := NewScanner("SREvent", bytes.NewReader(data), DefaultDialect())
	if err != nil {
		b.Fatal(err)
	}
	tc, err := NewTableCodec(sc.Layout)
	if err != nil {
		b.Fatal(err)
	}
	row, err := sc.Scan()
	if err != nil {
		b.Fatal(err)
	}
	ev := Event{Op: OpRead, Row: row, Source: Source{Batch: "20240101_1707", Table: "SREvent", File: "SREvent.csv", Line: 2}}
	var k, v []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k = tc.AppendKey(k[:0], row)
		v = tc.AppendValue(v[:0], &ev)
	}
}
