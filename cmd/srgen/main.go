// Command srgen writes synthetic SystmOne SR extract batches: several
// reporting groups, each a chain of a full batch followed by deltas with
// inserts, updates and deletes, in the layout a Gateway PC receives
// (<out>/<group>/<yyyyMMdd_HHmm>/SRManifest.csv + table files). Output is
// deterministic for a seed and streamed, so --rows can be any size.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sragent/sragent/schemas"
	"github.com/sragent/sragent/schemas/srgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("srgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "srgen writes synthetic SystmOne SR extract batches (manifest, list files, table CSVs) for tests and demos.\n\nUsage: srgen --out DIR [flags]")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output folder (required); batches go to <out>/<group>/<yyyyMMdd_HHmm>")
	seed := fs.Uint64("seed", 1, "random seed: the same seed writes the same bytes")
	groups := fs.Int("groups", 2, "reporting groups (chains)")
	orgs := fs.Int("orgs", 3, "organisations per group")
	batches := fs.Int("batches", 4, "batches per chain: a full one, then deltas (the third re-sends SRCode in full)")
	rows := fs.Int("rows", 200, "SRCode rows per organisation in the full batch; other tables scale from it")
	tables := fs.String("tables", "", "comma-separated tables (default: a representative set; \"all\": every catalogued table)")
	zipped := fs.Bool("zip", true, "pack table files into SRExtract.zip")
	utf8 := fs.Bool("utf8", false, "write UTF-8 instead of Windows-1252")
	start := fs.String("start", "20240329_1707", "cut-off of the first batch, yyyyMMdd_HHmm")
	expected := fs.String("expected", "", "also write every table's final state as JSON to this file: "+
		"{group: {table: {RowIdentifier: {column: cell}}}}, what a consumer applying every event must hold (small data sets only)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0 // -h, --help: the usage was printed
	} else if err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "srgen: --out is required")
		return 2
	}
	st, err := time.Parse("20060102_1504", *start)
	if err != nil {
		fmt.Fprintln(stderr, "srgen: --start: not yyyyMMdd_HHmm")
		return 2
	}
	opt := srgen.Options{Seed: *seed, Groups: *groups, Orgs: *orgs, Batches: *batches, Rows: *rows,
		Zip: *zipped, UTF8: *utf8, Start: st}
	switch *tables {
	case "":
	case "all":
		for _, t := range schemas.Tables() {
			opt.Tables = append(opt.Tables, t.Name)
		}
	default:
		opt.Tables = strings.Split(*tables, ",")
	}
	for _, t := range opt.Tables {
		if _, ok := schemas.Lookup(t); !ok && t != "SRAppointmentAttendees" {
			fmt.Fprintf(stderr, "srgen: unknown table %s\n", t)
			return 2
		}
	}
	g := srgen.New(opt)
	if err := g.Write(*out); err != nil {
		fmt.Fprintln(stderr, "srgen:", err)
		return 1
	}
	if *expected != "" {
		if err := writeExpected(g, *expected); err != nil {
			fmt.Fprintln(stderr, "srgen:", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "srgen: wrote %d groups x %d batches to %s\n", len(g.Groups()), *batches, *out)
	return 0
}

// writeExpected writes the final state of every group's tables to path.
func writeExpected(g *srgen.Generator, path string) error {
	all := map[string]map[string]map[int64]map[string]string{}
	for _, group := range g.Groups() {
		all[group] = map[string]map[int64]map[string]string{}
		for _, table := range g.Tables() {
			all[group][table] = g.Expected(group, table)
		}
	}
	raw, err := json.Marshal(all)
	if err != nil {
		return fmt.Errorf("expected state: %w", err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return fmt.Errorf("expected state: %w", err)
	}
	return nil
}
