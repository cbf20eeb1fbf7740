package manifest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// FileName is the name of the manifest in a batch folder.
const FileName = "SRManifest.csv"

// Entry is one manifest row: one table file of the batch.
type Entry struct {
	// FileName is the table name without .csv, e.g. "SRPatient".
	FileName string
	// IsDelta is false for a full ("bulk") file.
	IsDelta bool
	// IsReference is carried but has no documented meaning.
	IsReference bool
	// From is DateExtractFrom: zero on full files and on the undated rows.
	From Stamp
	// To is DateExtractTo, the data cut-off: zero only on undated rows.
	To Stamp
	// Line is the manifest line of this entry.
	Line int64
}

// Undated reports whether the entry is one of the tables SystmOne lists
// with both dates empty even in delta batches.
func (e Entry) Undated() bool { return undatedTables[e.FileName] && e.From.IsZero() && e.To.IsZero() }

// undatedTables usually carry no extract dates (sr-format §4.3).
var undatedTables = map[string]bool{"SRAppointmentAttendees": true, "SRReferralContactEvent": true}

// Manifest is a parsed SRManifest.csv.
type Manifest struct {
	Entries []Entry
}

// Entry returns the entry of a table and whether the manifest lists it.
func (m *Manifest) Entry(fileName string) (Entry, bool) {
	for _, e := range m.Entries {
		if e.FileName == fileName {
			return e, true
		}
	}
	return Entry{}, false
}

// CutOff returns the manifest's DateExtractTo (zero if no row has one).
func (m *Manifest) CutOff() Stamp {
	for _, e := range m.Entries {
		if !e.To.IsZero() {
			return e.To
		}
	}
	return Stamp{}
}

// DeltaFrom returns the DateExtractFrom its deltas share: where the data of
// the batch starts (zero if no delta row is dated, as in a full download).
func (m *Manifest) DeltaFrom() Stamp {
	for _, e := range m.Entries {
		if e.IsDelta && !e.From.IsZero() {
			return e.From
		}
	}
	return Stamp{}
}

// CutOffTime returns the instant of the cut-off (zero if no row has one),
// resolved against the deltas' start by ResolveRange: normally CutOff().Time(),
// but the later instant when the deltas' range crossed the autumn change
// (DateExtractFrom 20241027_0130, DateExtractTo 20241027_0115 is 01:15Z).
// A batch of full files only has no start to resolve against: its cut-off
// in the autumn repeat is the earlier instant.
func (m *Manifest) CutOffTime() time.Time {
	to := m.CutOff()
	if to.IsZero() {
		return time.Time{}
	}
	_, t := ResolveRange(m.DeltaFrom(), to)
	return t
}

// Columns of the manifest, all required.
var columns = []string{"FileName", "IsDelta", "IsReference", "DateExtractFrom", "DateExtractTo"}

var required = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range columns {
		m[c] = true
	}
	return m
}()

// Parse reads a manifest strictly: the dialect of opt (see Options; lines
// end in CRLF or LF, empty lines are skipped, a byte-order mark before the
// header is dropped), columns by name, Y/N flags, `yyyyMMdd_HHmm` dates,
// an empty DateExtractFrom on full files, one DateExtractTo for the batch
// and one DateExtractFrom for its deltas, which must be before it as
// instants (ResolveRange). Every problem is reported, as an ErrorList of
// *Error.
func Parse(r io.Reader, opt Options) (*Manifest, error) {
	if err := opt.Validate(); err != nil {
		return nil, ErrorList{{File: FileName, Err: fmt.Errorf("options: %w", err)}}
	}
	opt = opt.resolved()
	lines, err := readLines(r)
	if err != nil {
		return nil, ErrorList{{File: FileName, Err: err}}
	}
	if len(lines) == 0 {
		return nil, ErrorList{{File: FileName, Line: 1, Err: errors.New("empty file: no header")}}
	}
	head := lines[0]
	var header []string
	err = head.err
	if err == nil {
		header, err = splitFields(head.text, opt)
	}
	if err != nil {
		return nil, ErrorList{{File: FileName, Line: head.num, Err: err}}
	}
	var errs ErrorList
	idx := map[string]int{}
	for i, h := range header {
		if _, dup := idx[h]; dup && required[h] {
			errs = append(errs, &Error{File: FileName, Line: head.num, Column: h, Err: errors.New("appears twice in the header")})
		}
		idx[h] = i
	}
	for _, c := range columns {
		if _, ok := idx[c]; !ok {
			errs = append(errs, &Error{File: FileName, Line: head.num, Column: c, Err: errors.New("missing column")})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	m := &Manifest{}
	seen := map[string]int64{}
	for _, l := range lines[1:] {
		rec, err := []string(nil), l.err
		if err == nil {
			rec, err = splitFields(l.text, opt)
		}
		if err != nil {
			errs = append(errs, &Error{File: FileName, Line: l.num, Err: err})
			continue
		}
		if len(rec) != len(header) {
			errs = append(errs, &Error{File: FileName, Line: l.num,
				Err: fmt.Errorf("%d fields, header has %d", len(rec), len(header))})
			continue
		}
		e, rowErrs := parseEntry(rec, idx, l.num)
		errs = append(errs, rowErrs...)
		if prev, dup := seen[e.FileName]; dup && e.FileName != "" {
			errs = append(errs, &Error{File: FileName, Line: e.Line, Column: "FileName",
				Err: fmt.Errorf("%s is listed again (first on line %d)", e.FileName, prev)})
		}
		seen[e.FileName] = e.Line
		m.Entries = append(m.Entries, e)
	}
	errs = append(errs, checkDates(m)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

func parseEntry(rec []string, idx map[string]int, line int64) (Entry, ErrorList) {
	var errs ErrorList
	bad := func(col string, err error) {
		errs = append(errs, &Error{File: FileName, Line: line, Column: col, Err: err})
	}
	e := Entry{FileName: rec[idx["FileName"]], Line: line}
	switch {
	case e.FileName == "":
		bad("FileName", errors.New("empty"))
	case strings.HasSuffix(strings.ToLower(e.FileName), ".csv"):
		bad("FileName", errors.New("must not end in .csv"))
	case !strings.HasPrefix(e.FileName, "SR") || strings.ContainsAny(e.FileName, `/\:*?"<>|. `):
		bad("FileName", errors.New("not an SR table name"))
	}
	flag := func(col string) bool {
		switch rec[idx[col]] {
		case "Y":
			return true
		case "N":
			return false
		}
		bad(col, errors.New("not Y or N"))
		return false
	}
	e.IsDelta, e.IsReference = flag("IsDelta"), flag("IsReference")
	stamp := func(col string) Stamp {
		v := rec[idx[col]]
		if v == "" {
			return Stamp{}
		}
		s, err := ParseStamp(v)
		if err != nil {
			bad(col, err)
		}
		return s
	}
	e.From, e.To = stamp("DateExtractFrom"), stamp("DateExtractTo")
	if len(errs) > 0 || e.Undated() {
		return e, errs
	}
	switch {
	case e.To.IsZero():
		bad("DateExtractTo", errors.New("empty"))
	case !e.IsDelta && !e.From.IsZero():
		bad("DateExtractFrom", errors.New("must be empty on a full file (IsDelta=N)"))
	case e.IsDelta && e.From.IsZero():
		bad("DateExtractFrom", errors.New("empty on a delta file (IsDelta=Y)"))
	case e.IsDelta:
		// As instants: across the autumn change a To may read earlier
		// than its From on the wall clock (see ResolveRange).
		if from, to := ResolveRange(e.From, e.To); !from.Before(to) {
			bad("DateExtractFrom", errors.New("not before DateExtractTo"))
		}
	}
	return e, errs
}

// checkDates enforces one cut-off per batch and one start for its deltas.
func checkDates(m *Manifest) ErrorList {
	var errs ErrorList
	var to, from *Entry
	for i := range m.Entries {
		e := &m.Entries[i]
		if !e.To.IsZero() {
			if to == nil {
				to = e
			} else if !e.To.Equal(to.To) {
				errs = append(errs, &Error{File: FileName, Line: e.Line, Column: "DateExtractTo",
					Err: fmt.Errorf("differs from line %d; a batch has one cut-off", to.Line)})
			}
		}
		if e.IsDelta && !e.From.IsZero() {
			if from == nil {
				from = e
			} else if !e.From.Equal(from.From) {
				errs = append(errs, &Error{File: FileName, Line: e.Line, Column: "DateExtractFrom",
					Err: fmt.Errorf("differs from line %d; the deltas of a batch share one start", from.Line)})
			}
		}
	}
	return errs
}
