package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer/tablestate"
	"github.com/sragent/sragent/schemas"
)

// work is one batch being published.
type work struct {
	batch *manifest.Batch
	files []*fileWork
	res   *Result
	// from and cutOff are the batch's extract range as instants of its
	// chain (manifest.ChainRange).
	from, cutOff time.Time
	// orgsNew and orgsAbsent are the organisations the batch brings to
	// its group and those it no longer holds (see orgChanges).
	orgsNew, orgsAbsent []string
	// lists are the group's lists as the batch leaves them, which label
	// its rows when lists.labels is on.
	lists *batchLists
	// listsSHA is the lists' SHA-256 once computed (listsSum).
	listsSHA []byte
}

type fileWork struct {
	file         *manifest.File
	report       *FileReport
	full         bool
	tc           *codec.TableCodec
	keyID, valID int
	topic        string
	parts        int32
	maxRecord    int      // largest key + value the topic accepts
	orgs         []string // a full file's organisations: its scope
	seen         []string // the organisations an organisation-scoped file holds
	orgsCapped   bool     // it holds more than maxOrgs: seen is not all
	src          codec.Source
	fresh        bool // the table state holds no key of the table yet
	keeps        bool // rows go through the table state (see keeps)
	table        *schemas.Table
	hbuf         []byte                 // scratch for image hashes
	cursor       *tablestate.Cursor     // the table state's walk alongside a reconciled full file
	scope        scope                  // how a full file is reconciled
	schemaSum    uint64                 // names the value schema in image hashes
	cannotDelete bool                   // a delta without RemovedData: its sparse rows blank records
	pins         schemas.Pins           // the field types the table's subjects hold
	header       []string               // the file's header, decoded (kept with dead letters)
	stamp        time.Time              // the record time of the events produced (zero: chunkAt; a replay's)
	chunkAt      time.Time              // the clock when the chunk being published was read (chunk.tsMs)
	chunk        *chunk                 // the chunk being published, whose records record gives
	unlabelled   map[string]*unlabelled // list columns whose ids the lists lack, by column
	// sum is the file's bytes as the structure pass read them: publishing
	// reads the same bytes (check) or commits nothing that ends it.
	sum   FileDigest
	check checkSum
	recs  []kgo.Record // a slab of records (record)
	rows  int64        // the data rows the structure pass read
	// again: reading the full file again would publish or report what
	// its skip would not (a delete row, a key twice), so it is not
	// recorded as applied; keySums are its keys, hashed, while it may be,
	// and ascending says each key came after the one before (lastKey),
	// so none came twice.
	again     bool
	keySums   []uint64
	ascending bool
	lastKey   []byte
}

// prepare checks the whole batch before anything is produced: every
// file's header maps and every file reads to its end (zip CRC, quoting);
// then the schemas are registered (a dry run: checked) and the topics
// exist. A structural problem makes the batch Invalid and a refused schema
// Blocked (w is nil for both; publishing returns the refusal as err too);
// an infrastructure failure is err.
func (p *Publisher) prepare(ctx context.Context, w *work) (*work, error) {
	b, res := w.batch, w.res
	// The lists are kept whether or not labels are on, so that turning
	// them on labels with the group's lists from the first batch.
	if bl := p.dryLists[b.Group]; bl != nil {
		w.lists = bl.copy()
	} else {
		var err error
		if w.lists, err = p.tables.lists(b.Group); err != nil {
			return nil, err
		}
	}
	var invalid []string
	for i, f := range b.Files {
		pins, err := p.pins(ctx, p.cfg.TopicFor(f.Table))
		switch {
		case err != nil && p.dry == nil:
			return nil, err
		case err != nil:
			res.problem(Problem{Severity: SeverityWarning, File: f.Name, Reason: "the schema registry could not be read (" + err.Error() +
				"): the prediction does not keep the types the table's subjects registered"})
		}
		fw, problem := p.prepareFile(w, f, res.Files[i], pins)
		switch {
		case problem != nil && !f.Listed:
			// A list file the manifest does not list: it never stops
			// the batch, it is left out.
			problem.Severity, problem.Reason = SeverityWarning, problem.Reason+": the list file is not published"
			res.Files[i].Mode = "skipped"
			res.problem(*problem)
		case problem != nil:
			res.problem(*problem)
			invalid = append(invalid, problem.String())
		default:
			w.files = append(w.files, fw)
		}
	}
	if len(invalid) > 0 {
		res.Outcome, res.Reason = Invalid, strings.Join(invalid, "; ")
		return nil, nil
	}
	var refused []string
	var first error // the first refusal, publish's error
	var topicNames []string
	for _, fw := range w.files {
		for _, s := range []struct {
			id             *int
			subject, schem string
		}{{&fw.keyID, fw.topic + "-key", fw.tc.Avro.Key}, {&fw.valID, fw.topic + "-value", fw.tc.Avro.Value}} {
			var err error
			*s.id, err = p.register(ctx, s.subject, s.schem)
			var ie *IncompatibleError
			switch {
			case errors.As(err, &ie):
				res.problem(Problem{Severity: SeverityError, File: fw.file.Name, Reason: "schema registry: " + ie.Error()})
				refused = append(refused, ie.Error())
				if first == nil {
					first = err
				}
			case err != nil:
				return nil, err
			}
		}
		topicNames = append(topicNames, fw.topic)
	}
	if len(refused) > 0 {
		// Publishing fails the pass (it retries); a dry run predicts.
		res.Outcome, res.Reason = Blocked, strings.Join(refused, "; ")
		if p.dry != nil {
			first = nil
		}
		return nil, first
	}
	if err := p.topics.ensure(ctx, topicNames...); err != nil {
		return nil, err
	}
	for _, fw := range w.files {
		fw.parts, fw.maxRecord = p.topics.partitionsOf(fw.topic), p.topics.maxRecord(fw.topic)
		fw.keeps = keeps(fw.table, p.topics.expiring[fw.topic])
		var err error
		if fw.schemaSum, err = schemaSum(fw.tc.Avro.Value); err != nil {
			return nil, err
		}
		fw.scope = p.newScope(w, fw)
	}
	return w, nil
}

// fileProblem turns a structural error of f into a Problem.
func fileProblem(f *manifest.File, err error) *Problem {
	pr := &Problem{Severity: SeverityError, File: f.Name, Reason: err.Error()}
	var fe *codec.FileError
	if errors.As(err, &fe) {
		pr.Line, pr.Column, pr.Reason = fe.Line, fe.Column, fe.Err.Error()
	}
	return pr
}

// prepareFile reads f once to its end (its structure, and the
// organisations of a full file), builds its codec and records the layout's
// drift from the catalogue as warnings.
func (p *Publisher) prepareFile(w *work, f *manifest.File, fr *FileReport, pins schemas.Pins) (*fileWork, *Problem) {
	b, res := w.batch, w.res
	rc, err := b.Open(f)
	if err != nil {
		return nil, fileProblem(f, err)
	}
	defer rc.Close()
	dg := newDigest(rc)
	defer dg.close()
	sc, err := codec.NewScannerWith(f.Table, dg, p.dialect, codec.Options{Pins: pins, Labels: p.labels})
	if err != nil {
		return nil, fileProblem(f, err)
	}
	l := sc.Layout
	fr.Catalogued, fr.Missing, fr.Extra = l.Table.Known, l.Missing, l.Extra
	layoutWarnings(res, f, l)
	if sc.BOM() && p.dialect.Encoding != codec.UTF8 {
		res.problem(Problem{Severity: SeverityWarning, File: f.Name, Line: 1, Reason: fmt.Sprintf(
			"the file starts with a UTF-8 byte order mark: read as UTF-8, not %s (input.encoding)", p.dialect.Encoding)})
	}
	fw := &fileWork{file: f, report: fr, full: f.Full(), topic: p.cfg.TopicFor(f.Table), table: l.Table, pins: pins, header: l.Header}
	if f.Listed && f.Entry.IsDelta && !l.HasRemovedData && len(l.Table.Key) > 0 {
		fw.cannotDelete = true
		res.problem(Problem{Severity: SeverityWarning, File: f.Name, Line: 1, Column: schemas.RemovedData, Reason: "the delta file has no " +
			"RemovedData column, so it cannot delete: a row with only its key filled is published as an upsert with every other field null"})
	}
	orgCol := -1
	if l.Table.Scope == schemas.Organisation {
		for i, h := range l.Header {
			if h == schemas.OrgColumn {
				orgCol = i
			}
		}
	}
	var fold func([][]byte)
	var folded func()
	if w.lists != nil {
		fold, folded = w.lists.reader(f, l)
	}
	orgs := map[string]bool{}
	org := func(field []byte) { // a record's organisation (nil: none)
		fw.rows++
		if field != nil && !orgs[string(field)] {
			if len(orgs) < maxOrgs {
				orgs[string(field)] = true
			} else {
				fw.orgsCapped = true
			}
		}
	}
	if fold != nil { // a list file: every field
		err = sc.Skim(func(fields [][]byte) {
			fold(fields)
			var field []byte
			if orgCol >= 0 && orgCol < len(fields) {
				field = fields[orgCol]
			}
			org(field)
		})
	} else {
		err = sc.SkimField(orgCol, org)
	}
	if err != nil {
		return nil, fileProblem(f, err)
	}
	io.Copy(io.Discard, dg) // whatever the scanner left unread
	fw.sum, fw.check = dg.digest(), dg.sum()
	fr.SHA256 = fw.sum.SHA256
	for o := range orgs {
		if o != "" {
			fw.seen = append(fw.seen, o)
		}
	}
	sort.Strings(fw.seen)
	if fw.full {
		fw.orgs = fw.seen
	}
	if fw.tc, err = codec.NewTableCodec(l); err != nil {
		return nil, fileProblem(f, err)
	}
	fw.src = codec.Source{Version: p.version, Name: p.cfg.TopicPrefix, Group: b.Group, Batch: b.Name,
		Table: f.Table, File: f.Name, Snapshot: fw.full}
	if f.Listed && !f.Entry.From.IsZero() {
		fw.src.ExtractFrom = millis(w.from)
	}
	if f.Listed && !f.Entry.To.IsZero() {
		fw.src.ExtractTo = millis(w.cutOff)
	}
	fw.src.CutOff = millis(w.cutOff)
	if folded != nil {
		folded() // the file is published: its rows are the group's list
	}
	return fw, nil
}

// layoutWarnings notes how a file's header differs from the catalogue.
func layoutWarnings(res *Result, f *manifest.File, l *codec.Layout) {
	for _, c := range l.Pinned {
		col, _ := l.Table.Column(c)
		res.problem(Problem{Severity: SeverityWarning, File: f.Name, Line: 1, Column: c, Reason: fmt.Sprintf("published as %s, "+
			"the type its field was first registered with (a field never changes type; schemas/README.md, \"Schema evolution\")", col.Type)})
	}
	if len(l.Missing) > 0 {
		res.problem(Problem{Severity: SeverityWarning, File: f.Name, Line: 1, Reason: fmt.Sprintf(
			"%d catalogued columns missing from the header, null in every row: %s", len(l.Missing), strings.Join(l.Missing, ", "))})
	}
	if !l.Table.Known {
		res.problem(Problem{Severity: SeverityWarning, File: f.Name, Line: 1, Reason: "table not in the catalogue; every column is published as an optional string but RowIdentifier (a long)"})
		if l.KeyedByRowHash() {
			res.problem(Problem{Severity: SeverityWarning, File: f.Name, Line: 1, Column: schemas.RowIdentifier, Reason: "rows are keyed by " +
				schemas.RowHash + ", a hash of their cells: the file has no RowIdentifier column, or the table was first registered without one " +
				"(an edited row is a new key; see schemas/README.md)"})
		}
		return
	}
	for _, e := range l.Extra {
		reason := "column not in the catalogue; published as an optional string"
		if r, ok := l.Renamed[e]; ok {
			reason += " named " + r
		}
		res.problem(Problem{Severity: SeverityWarning, File: f.Name, Line: 1, Column: e, Reason: reason})
	}
}

// millis is an instant in Unix milliseconds, nil for none.
func millis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}
