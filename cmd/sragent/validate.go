package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer"
)

// maxRowProblems bounds the row problems listed per file; the rest are
// counted.
const maxRowProblems = 100

// Verdicts of a batch.
const (
	verdictValid   = "valid"
	verdictRows    = "rows_rejected" // publishable; bad rows go to the dead-letter topic
	verdictHalted  = "halted"        // continuity gap: the chain stops here
	verdictInvalid = "invalid"       // structural: the batch is quarantined whole
	verdictWaiting = "waiting"       // not ready yet
	verdictBlocked = "blocked"       // the registry refuses a schema: publish waits until it is fixed
)

type report struct {
	Batches []*batchReport `json:"batches"`
	Summary summary        `json:"summary"`
}

type summary struct {
	Batches   int   `json:"batches"`
	Blocked   int   `json:"blocked,omitempty"`
	Valid     int   `json:"valid"`
	Rejected  int   `json:"rows_rejected"`
	Halted    int   `json:"halted"`
	Invalid   int   `json:"invalid"`
	Waiting   int   `json:"waiting"`
	Rows      int64 `json:"rows"`
	RowErrors int64 `json:"row_errors"`
}

type batchReport struct {
	Group    string        `json:"group"`
	Batch    string        `json:"batch"`
	Verdict  string        `json:"verdict"`
	Waiting  string        `json:"waiting,omitempty"`
	CutOff   string        `json:"cut_off,omitempty"`
	SinceCut float64       `json:"days_since_previous_cut_off,omitempty"`
	Files    []*fileReport `json:"files"`
	Problems []problem     `json:"problems"`
	Omitted  int64         `json:"problems_omitted"`
}

type fileReport struct {
	File       string   `json:"file"`
	Table      string   `json:"table"`
	Mode       string   `json:"mode"`
	InZip      bool     `json:"in_zip"`
	Bytes      int64    `json:"bytes"`
	Rows       int64    `json:"rows"`
	Deletes    int64    `json:"deletes"`
	RowErrors  int64    `json:"row_errors"`
	Continuity string   `json:"continuity,omitempty"`
	Previous   string   `json:"previous_batch,omitempty"`
	Catalogued bool     `json:"catalogued"`
	Missing    []string `json:"missing_columns,omitempty"`
	Extra      []string `json:"extra_columns,omitempty"`
}

type problem struct {
	Severity string `json:"severity"`
	File     string `json:"file,omitempty"`
	Line     int64  `json:"line,omitempty"`
	Column   string `json:"column,omitempty"`
	Reason   string `json:"reason"`
}

// validator runs validation with one configuration.
type validator struct {
	cfg       Config
	dialect   codec.Dialect
	manifests map[string]*manifest.Manifest // by batch dir; nil when unreadable
	progress  *progress
	// registry, when set, is asked whether each table's schemas would be
	// accepted (validate --check-registry).
	registry *producer.Registry
	topics   producer.Config
	blocked  bool
}

func newValidator(cfg Config) (*validator, error) {
	d, err := cfg.Dialect()
	if err != nil {
		return nil, err
	}
	return &validator{cfg: cfg, dialect: d, manifests: map[string]*manifest.Manifest{}}, nil
}

// target is one batch to validate.
type target struct {
	manifest.Pending
	siblings string // folder whose earlier batches form the chain history
}

// targets lists the pending batches, or the named folders.
func (v *validator) targets(dirs []string, now time.Time) ([]target, error) {
	if len(dirs) == 0 {
		ps, err := manifest.Discover(v.cfg.Input.Dir, v.cfg.Input.Settle, now)
		if err != nil {
			return nil, err
		}
		out := make([]target, len(ps))
		for i, p := range ps {
			out[i] = target{Pending: p, siblings: filepath.Dir(p.Dir)}
		}
		return out, nil
	}
	var out []target
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", d, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s is not a batch folder", d)
		}
		parent := filepath.Dir(abs)
		group := filepath.Base(parent)
		if in, err := filepath.Abs(v.cfg.Input.Dir); err == nil && in == parent {
			group = manifest.DefaultGroup
		}
		s, _ := manifest.ParseStamp(filepath.Base(abs))
		out = append(out, target{Pending: manifest.Pending{Group: group, Name: filepath.Base(abs), Dir: abs, Stamp: s, Ready: true}, siblings: parent})
	}
	return out, nil
}

func (v *validator) run(ctx context.Context, dirs []string, now time.Time) (*report, error) {
	ts, err := v.targets(dirs, now)
	if err != nil {
		return nil, err
	}
	rep := &report{Batches: []*batchReport{}}
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		br := v.batch(ctx, t)
		rep.Batches = append(rep.Batches, br)
		rep.Summary.add(br)
	}
	return rep, nil
}

func (s *summary) add(br *batchReport) {
	s.Batches++
	switch br.Verdict {
	case verdictValid:
		s.Valid++
	case verdictRows:
		s.Rejected++
	case verdictHalted:
		s.Halted++
	case verdictInvalid:
		s.Invalid++
	case verdictWaiting:
		s.Waiting++
	case verdictBlocked:
		s.Blocked++
	}
	for _, f := range br.Files {
		s.Rows += f.Rows
		s.RowErrors += f.RowErrors
	}
}

// ok reports whether every batch is valid (waiting batches are not
// failures: they have not arrived completely yet).
func (r *report) ok() bool {
	return r.Summary.Batches == r.Summary.Valid+r.Summary.Waiting
}

func (br *batchReport) add(p problem) {
	br.Problems = append(br.Problems, p)
}

func (v *validator) batch(ctx context.Context, t target) *batchReport {
	br := &batchReport{Group: t.Group, Batch: t.Name, Files: []*fileReport{}, Problems: []problem{}}
	if !t.Ready {
		br.Verdict, br.Waiting = verdictWaiting, t.Waiting
		return br
	}
	b, err := manifest.Load(t.Dir, t.Group, manifest.Options{Delimiter: rune(v.dialect.Delimiter)})
	if err != nil {
		v.manifests[t.Dir] = nil
		br.Verdict = verdictInvalid
		var list manifest.ErrorList
		if !errors.As(err, &list) {
			list = manifest.ErrorList{{Err: err}}
		}
		for _, e := range list {
			br.add(problem{Severity: "error", File: e.File, Line: e.Line, Column: e.Column, Reason: e.Err.Error()})
		}
		return br
	}
	defer b.Close()
	v.blocked = false
	v.manifests[t.Dir] = b.Manifest
	br.CutOff = b.Manifest.CutOff().String()
	history := v.history(t)
	cont := map[string]manifest.FileContinuity{}
	gap := false
	for _, fc := range manifest.Classify(history, b.Manifest) {
		cont[fc.Table] = fc
		gap = v.continuityProblem(br, fc) || gap
	}
	if age, stale := manifest.Staleness(history, b.Stamp, b.Manifest); age > 0 {
		br.SinceCut = math.Round(age.Hours()/24*10) / 10
		if stale {
			br.add(problem{Severity: "warning", File: manifest.FileName, Reason: fmt.Sprintf(
				"the chain's previous cut-off is %.1f days before this batch, more than the 21 days after which SystmOne sends a full download, yet this batch holds deltas", age.Hours()/24)})
		}
	}
	structural := false
	for _, f := range b.Files {
		fr := &fileReport{File: f.Name, Table: f.Table, Mode: mode(f), InZip: f.InZip, Bytes: f.Size}
		if fc, ok := cont[f.Table]; ok {
			fr.Continuity, fr.Previous = fc.Kind.String(), fc.Prev
		}
		br.Files = append(br.Files, fr)
		if v.file(ctx, br, b, f, fr) {
			structural = true
		}
	}
	switch {
	case structural:
		br.Verdict = verdictInvalid
	case v.blocked:
		br.Verdict = verdictBlocked
	case gap:
		br.Verdict = verdictHalted
	case rowErrors(br) > 0:
		br.Verdict = verdictRows
	default:
		br.Verdict = verdictValid
	}
	return br
}

func rowErrors(br *batchReport) (n int64) {
	for _, f := range br.Files {
		n += f.RowErrors
	}
	return n
}

func mode(f *manifest.File) string {
	switch {
	case !f.Listed:
		return "list"
	case f.Entry.IsDelta:
		return "delta"
	}
	return "full"
}

// continuityProblem reports fc's problem, if any, and whether it is a gap.
func (v *validator) continuityProblem(br *batchReport, fc manifest.FileContinuity) bool {
	file := fc.Table + ".csv"
	switch fc.Kind {
	case manifest.Gap:
		br.add(problem{Severity: "error", File: file, Reason: fmt.Sprintf(
			"gap: DateExtractFrom %s is after DateExtractTo %s of batch %s; deltas were lost and the chain halts until a full file or an operator resumes it",
			fc.From, fc.PrevTo, fc.Prev)})
		return true
	case manifest.Overlap:
		br.add(problem{Severity: "warning", File: file, Reason: fmt.Sprintf(
			"overlap: DateExtractFrom %s is before DateExtractTo %s of batch %s; rows in the overlap are sent again", fc.From, fc.PrevTo, fc.Prev)})
	case manifest.Duplicate:
		br.add(problem{Severity: "warning", File: file, Reason: fmt.Sprintf(
			"duplicate: the same date range as batch %s", fc.Prev)})
	}
	return false
}

// history returns the earlier batches of t's chain: archived ones, then
// those beside it in its folder.
func (v *validator) history(t target) []manifest.Link {
	var links []manifest.Link
	for _, dir := range []string{filepath.Join(v.cfg.Archive.Dir, t.Group), t.siblings} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, de := range entries {
			s, err := manifest.ParseStamp(de.Name())
			if err != nil || !de.IsDir() || !s.Before(t.Stamp) {
				continue
			}
			bdir := filepath.Join(dir, de.Name())
			if m := v.readManifest(bdir); m != nil {
				links = append(links, manifest.Link{Batch: de.Name(), Manifest: m})
			}
		}
	}
	sort.SliceStable(links, func(i, j int) bool { return links[i].Batch < links[j].Batch })
	return links
}

func (v *validator) readManifest(dir string) *manifest.Manifest {
	if m, ok := v.manifests[dir]; ok {
		return m
	}
	f, err := os.Open(filepath.Join(dir, manifest.FileName))
	if err != nil {
		v.manifests[dir] = nil
		return nil
	}
	defer f.Close()
	m, err := manifest.Parse(f, rune(v.dialect.Delimiter))
	if err != nil {
		m = nil
	}
	v.manifests[dir] = m
	return m
}

// file reads, converts and encodes every row of f. It returns true when the
// file is structurally bad.
func (v *validator) file(ctx context.Context, br *batchReport, b *manifest.Batch, f *manifest.File, fr *fileReport) bool {
	fail := func(line int64, col string, err error) bool {
		br.add(problem{Severity: "error", File: f.Name, Line: line, Column: col, Reason: err.Error()})
		return true
	}
	rc, err := b.Open(f)
	if err != nil {
		return fail(0, "", err)
	}
	defer rc.Close()
	sc, err := codec.NewScanner(f.Table, rc, v.dialect)
	if err != nil {
		var fe *codec.FileError
		if errors.As(err, &fe) {
			return fail(fe.Line, fe.Column, fe.Err)
		}
		return fail(0, "", err)
	}
	l := sc.Layout
	fr.Catalogued = l.Table.Known
	fr.Missing, fr.Extra = l.Missing, l.Extra
	if len(l.Missing) > 0 {
		br.add(problem{Severity: "warning", File: f.Name, Line: 1, Reason: fmt.Sprintf(
			"%d catalogued columns missing from the header, null in every row: %s", len(l.Missing), strings.Join(l.Missing, ", "))})
	}
	for _, e := range l.Extra {
		reason := "column not in the catalogue; published as an optional string"
		if r, ok := l.Renamed[e]; ok {
			reason += " named " + r
		}
		if l.Table.Known {
			br.add(problem{Severity: "warning", File: f.Name, Line: 1, Column: e, Reason: reason})
		}
	}
	if !l.Table.Known {
		br.add(problem{Severity: "warning", File: f.Name, Line: 1, Reason: "table not in the catalogue; every column is published as an optional string"})
	}
	tc, err := codec.NewTableCodec(l)
	if err != nil {
		return fail(1, "", err)
	}
	if v.registry != nil {
		topic := v.topics.TopicFor(f.Table)
		for subject, schema := range map[string]string{topic + "-key": tc.Avro.Key, topic + "-value": tc.Avro.Value} {
			if err := v.registry.Check(ctx, subject, schema); err != nil {
				v.blocked = true
				br.add(problem{Severity: "error", File: f.Name, Reason: "schema registry: " + err.Error()})
			}
		}
	}
	src := codec.Source{Group: b.Group, Batch: b.Name, Table: f.Table, File: f.Name, Snapshot: f.Listed && !f.Entry.IsDelta}
	ev := codec.Event{Op: codec.OpCreate, Source: src}
	if src.Snapshot {
		ev.Op = codec.OpRead
	}
	var kbuf, vbuf []byte
	for n := 0; ; n++ {
		if n%8192 == 0 {
			if ctx.Err() != nil {
				return fail(0, "", ctx.Err())
			}
			v.progress.update(b.Name, f.Name, sc.Offset(), f.Size, fr.Rows, false)
		}
		row, err := sc.Scan()
		if errors.Is(err, io.EOF) {
			v.progress.update(b.Name, f.Name, sc.Offset(), f.Size, fr.Rows, true)
			return false
		}
		var re *codec.RowError
		if errors.As(err, &re) {
			v.rowProblem(br, fr, f.Name, re.Line, re.Column, re.Err.Error())
			continue
		}
		if err != nil {
			var fe *codec.FileError
			if errors.As(err, &fe) {
				return fail(fe.Line, fe.Column, fe.Err)
			}
			return fail(sc.Line(), "", err)
		}
		ev.Row, ev.Source.Line = row, sc.Line()
		ev.Op = codec.OpFor(src.Snapshot, row.Removed)
		if kbuf, err = tc.AppendKey(kbuf[:0], row); err == nil {
			vbuf, err = tc.AppendValue(vbuf[:0], &ev)
		}
		if err != nil {
			// goavro's messages can quote values: report only the fact.
			v.rowProblem(br, fr, f.Name, sc.Line(), "", "row does not encode under the table's Avro schema")
			continue
		}
		fr.Rows++
		if row.Removed {
			fr.Deletes++
		}
	}
}

func (v *validator) rowProblem(br *batchReport, fr *fileReport, file string, line int64, col, reason string) {
	fr.RowErrors++
	if fr.RowErrors > maxRowProblems {
		br.Omitted++
		return
	}
	br.add(problem{Severity: "error", File: file, Line: line, Column: col, Reason: reason})
}
