package manifest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	_ "time/tzdata" // Windows has no zoneinfo database
)

// FileName is the name of the manifest in a batch folder.
const FileName = "SRManifest.csv"

// Stamp is a `yyyyMMdd_HHmm` wall-clock time (UK local), as used for batch
// folder names and the manifest's extract dates. The zero Stamp is "no date".
type Stamp struct{ t time.Time }

const stampLayout = "20060102_1504"

var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(fmt.Sprintf("load Europe/London: %v", err))
	}
	return l
}()

// ParseStamp parses `yyyyMMdd_HHmm`.
func ParseStamp(s string) (Stamp, error) {
	if len(s) != len(stampLayout) {
		return Stamp{}, fmt.Errorf("not a yyyyMMdd_HHmm date")
	}
	t, err := time.Parse(stampLayout, s)
	if err != nil {
		return Stamp{}, fmt.Errorf("not a yyyyMMdd_HHmm date")
	}
	return Stamp{t}, nil
}

// IsZero reports whether s is "no date".
func (s Stamp) IsZero() bool { return s.t.IsZero() }

// String returns s as `yyyyMMdd_HHmm`, or "" for no date.
func (s Stamp) String() string {
	if s.IsZero() {
		return ""
	}
	return s.t.Format(stampLayout)
}

// Before reports whether s is earlier than o.
func (s Stamp) Before(o Stamp) bool { return s.t.Before(o.t) }

// Equal reports whether s and o are the same wall-clock time.
func (s Stamp) Equal(o Stamp) bool { return s.t.Equal(o.t) }

// Sub returns the wall-clock duration s-o.
func (s Stamp) Sub(o Stamp) time.Duration { return s.t.Sub(o.t) }

// Time returns the instant of s read as UK wall-clock time.
func (s Stamp) Time() time.Time {
	w := s.t
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, london)
}

// MarshalText renders s as `yyyyMMdd_HHmm`.
func (s Stamp) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

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

// Columns of the manifest, all required.
var columns = []string{"FileName", "IsDelta", "IsReference", "DateExtractFrom", "DateExtractTo"}

// Parse reads a manifest strictly: columns by name, Y/N flags,
// `yyyyMMdd_HHmm` dates, an empty DateExtractFrom on full files, one
// DateExtractTo for the batch and one DateExtractFrom for its deltas.
// Every problem is reported, as an ErrorList of *Error.
func Parse(r io.Reader, delimiter rune) (*Manifest, error) {
	cr := csv.NewReader(r)
	cr.Comma = delimiter
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, ErrorList{{File: FileName, Line: 1, Err: errors.New("empty file: no header")}}
	}
	if err != nil {
		return nil, ErrorList{csvError(err)}
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[h] = i
	}
	var errs ErrorList
	for _, c := range columns {
		if _, ok := idx[c]; !ok {
			errs = append(errs, &Error{File: FileName, Line: 1, Column: c, Err: errors.New("missing column")})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	m := &Manifest{}
	seen := map[string]int64{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, csvError(err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			errs = append(errs, &Error{File: FileName, Line: int64(line),
				Err: fmt.Errorf("%d fields, header has %d", len(rec), len(header))})
			continue
		}
		e, rowErrs := parseEntry(rec, idx, int64(line))
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

func csvError(err error) *Error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: FileName, Line: int64(pe.StartLine), Err: pe.Err}
	}
	return &Error{File: FileName, Err: err}
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
	case e.IsDelta && !e.From.Before(e.To):
		bad("DateExtractFrom", errors.New("not before DateExtractTo"))
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
