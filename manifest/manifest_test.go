package manifest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const hdr = "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n"

func TestParse(t *testing.T) {
	m, err := Parse(strings.NewReader("\ufeff"+hdr+
		"SRPatient,Y,N,20240101_1707,20240102_1707\r\n"+
		"SRCode,N,N,,20240102_1707\r\n"+
		"SRAppointmentAttendees,Y,N,,\r\n"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 3 || m.CutOff().String() != "20240102_1707" {
		t.Fatalf("%+v", m)
	}
	p, _ := m.Entry("SRPatient")
	c, _ := m.Entry("SRCode")
	a, _ := m.Entry("SRAppointmentAttendees")
	if !p.IsDelta || p.From.String() != "20240101_1707" || p.Line != 2 || c.IsDelta || !c.From.IsZero() || !a.Undated() || a.Line != 4 {
		t.Errorf("entries %+v", m.Entries)
	}
	// Columns are found by name, in any order.
	m, err = Parse(strings.NewReader("DateExtractTo,FileName,IsDelta,DateExtractFrom,IsReference\n20240102_1707,SRCode,N,,Y\n"), DefaultOptions())
	if err != nil || !m.Entries[0].IsReference {
		t.Fatalf("%+v %v", m, err)
	}
	// Columns other than the five are ignored, even repeated.
	m, err = Parse(strings.NewReader(strings.TrimSuffix(hdr, "\r\n")+",Note,Note\r\nSRCode,N,N,,20240102_1707,a,b\r\n"), DefaultOptions())
	if err != nil || len(m.Entries) != 1 {
		t.Fatalf("%+v %v", m, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int64
		column   string
		want     string
	}{
		{"empty", "", 1, "", "empty file: no header"},
		{"missing column", "FileName,IsDelta,IsReference,DateExtractTo\r\n", 1, "DateExtractFrom", "missing column"},
		{"renamed column", "FileName,Delta,IsReference,DateExtractFrom,DateExtractTo\r\n", 1, "IsDelta", "missing column"},
		{"bad flag", hdr + "SRCode,Yes,N,20240101_1707,20240102_1707\r\n", 2, "IsDelta", "not Y or N"},
		{"bad reference flag", hdr + "SRCode,Y,n,20240101_1707,20240102_1707\r\n", 2, "IsReference", "not Y or N"},
		{"bad date", hdr + "SRCode,Y,N,2024-01-01,20240102_1707\r\n", 2, "DateExtractFrom", "not a yyyyMMdd_HHmm date"},
		{"impossible date", hdr + "SRCode,Y,N,20240231_1707,20240302_1707\r\n", 2, "DateExtractFrom", "not a yyyyMMdd_HHmm date"},
		{"no cut-off", hdr + "SRCode,N,N,,\r\n", 2, "DateExtractTo", "empty"},
		{"from on a full file", hdr + "SRCode,N,N,20240101_1707,20240102_1707\r\n", 2, "DateExtractFrom", "must be empty on a full file"},
		{"delta without from", hdr + "SRCode,Y,N,,20240102_1707\r\n", 2, "DateExtractFrom", "empty on a delta file"},
		{"from after to", hdr + "SRCode,Y,N,20240103_1707,20240102_1707\r\n", 2, "DateExtractFrom", "not before DateExtractTo"},
		{"two cut-offs", hdr + "SRCode,N,N,,20240102_1707\r\nSREvent,N,N,,20240103_1707\r\n", 3, "DateExtractTo", "one cut-off"},
		{"two starts", hdr + "SRCode,Y,N,20240101_1707,20240103_1707\r\nSREvent,Y,N,20240102_1707,20240103_1707\r\n", 3, "DateExtractFrom", "share one start"},
		{"listed twice", hdr + "SRCode,N,N,,20240102_1707\r\nSRCode,N,N,,20240102_1707\r\n", 3, "FileName", "listed again (first on line 2)"},
		{"with .csv", hdr + "SRCode.csv,N,N,,20240102_1707\r\n", 2, "FileName", "must not end in .csv"},
		{"path", hdr + `..\SRCode,N,N,,20240102_1707` + "\r\n", 2, "FileName", "not an SR table name"},
		{"field count", hdr + "SRCode,N,N,,20240102_1707,extra\r\n", 2, "", "6 fields, header has 5"},
		{"bad quoting", hdr + "\"SRCode,N,N,,20240102_1707\r\n", 2, "", "extraneous or missing"},
		{"quote in the middle", hdr + "SR\"Code,N,N,,20240102_1707\r\n", 2, "", "field 1: bare '\"' in unquoted field"},
		{"text after the closing quote", hdr + "\"SRCode\"x,N,N,,20240102_1707\r\n", 2, "", "text after the closing quote"},
		{"quoted newline", hdr + "\"SR\nCode\",N,N,,20240102_1707\r\n", 2, "", "does not close on its line"},
		{"bad quoting in the header", "FileName,\"IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n", 1, "", "field 2: extraneous or missing"},
		{"bare carriage return", hdr + "SRCode,N,N,,20240102_1707\rSREvent,N,N,,20240102_1707\r\n", 2, "", "carriage return inside a line"},
		{"column twice", "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo,IsDelta\r\n", 1, "IsDelta", "appears twice in the header"},
		{"header after blank lines", "\r\n\r\nFileName,IsDelta\r\n", 3, "DateExtractTo", "missing column"},
		{"blank lines only", "\r\n\n", 1, "", "empty file: no header"},
		{"too large", hdr + strings.Repeat("SRCode,N,N,,20240102_1707\r\n", 40000), 0, "", "larger than"},
		{"tab file read with commas", strings.ReplaceAll(hdr, ",", "\t"), 1, "FileName", "missing column"},
		{"to before from across the change", hdr + "SRCode,Y,N,20241027_0200,20241027_0115\r\n", 2, "DateExtractFrom", "not before DateExtractTo"},
		{"to an hour before from", hdr + "SRCode,Y,N,20241027_0130,20241027_0030\r\n", 2, "DateExtractFrom", "not before DateExtractTo"},
		{"from equals to", hdr + "SRCode,Y,N,20240102_1707,20240102_1707\r\n", 2, "DateExtractFrom", "not before DateExtractTo"},
		{"from in the spring gap after to", hdr + "SRCode,Y,N,20240331_0130,20240331_0215\r\n", 2, "DateExtractFrom", "not before DateExtractTo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), DefaultOptions())
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("got %v, want an ErrorList", err)
			}
			for _, e := range list {
				if e.Line == tt.line && e.Column == tt.column && strings.Contains(e.Err.Error(), tt.want) && e.File == FileName {
					return
				}
			}
			t.Errorf("got %v, want line %d column %q: %q", err, tt.line, tt.column, tt.want)
		})
	}
}

// Parse in a dialect it cannot read, or the wrong one for the file.
func TestParseOptionErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int64
		column   string
		want     string
		opt      Options
	}{
		{"delimiter is the quote", hdr, 0, "", "delimiter and quote are both", Options{Delimiter: '"', Quote: '"'}},
		{"line end as delimiter", hdr, 0, "", "a line end cannot be", Options{Delimiter: '\n', Quote: '"'}},
		{"non-ASCII quote", hdr, 0, "", "must be ASCII", Options{Delimiter: ',', Quote: 0xA7}},
		{"comma file read with tabs", hdr, 1, "FileName", "missing column", Options{Delimiter: '\t', Quote: '"'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), tt.opt)
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("got %v, want an ErrorList", err)
			}
			for _, e := range list {
				if e.Line == tt.line && e.Column == tt.column && strings.Contains(e.Err.Error(), tt.want) && e.File == FileName {
					return
				}
			}
			t.Errorf("got %v, want line %d column %q: %q", err, tt.line, tt.column, tt.want)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(hdr + "SRPatient,Y,N,20240101_1707,20240102_1707\r\nSRCode,N,N,,20240102_1707\r\n"))
	f.Add([]byte(hdr + "SRAppointmentAttendees,Y,N,,\r\n"))
	f.Add([]byte("FileName,IsDelta\r\n\"x"))
	f.Add([]byte(hdr + "SRPatient,Y,N,20241027_0130,20241027_0115\r\n\"SRCode\",\"N\",N,,20241027_0115\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(strings.NewReader(string(in)), DefaultOptions())
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty ErrorList", err)
			}
			return
		}
		// Whatever parses satisfies the manifest rules.
		seen := map[string]bool{}
		for _, e := range m.Entries {
			if seen[e.FileName] || !strings.HasPrefix(e.FileName, "SR") {
				t.Fatalf("entry %+v", e)
			}
			seen[e.FileName] = true
			from, to := ResolveRange(e.From, e.To)
			if !e.Undated() && (e.To.IsZero() || (e.IsDelta && !from.Before(to)) || (!e.IsDelta && !e.From.IsZero())) {
				t.Fatalf("entry breaks the date rules: %+v", e)
			}
			if !e.To.IsZero() && (!e.To.Equal(m.CutOff()) || (e.IsDelta && !to.Equal(m.CutOffTime()))) {
				t.Fatalf("two cut-offs")
			}
		}
	})
}

// The manifest is read in the configured dialect.
func TestParseDialects(t *testing.T) {
	rows := func(sep, q string, fields ...[]string) string {
		var b strings.Builder
		for _, f := range fields {
			for i, v := range f {
				if i > 0 {
					b.WriteString(sep)
				}
				b.WriteString(q + strings.ReplaceAll(v, q, q+q) + q)
			}
			b.WriteString("\r\n")
		}
		return b.String()
	}
	head := []string{"FileName", "IsDelta", "IsReference", "DateExtractFrom", "DateExtractTo"}
	patient := []string{"SRPatient", "Y", "N", "20240101_1707", "20240102_1707"}
	code := []string{"SRCode", "N", "N", "", "20240102_1707"}
	tests := []struct {
		name string
		opt  Options
		in   string
		note string // the Note column of SRCode, when the input has one
	}{
		{"default", Options{}, rows(",", "", head, patient, code), ""},
		{"default, all quoted", Options{}, rows(",", `"`, head, patient, code), ""},
		{"tab", Options{Delimiter: '\t', Quote: '"'}, rows("\t", "", head, patient, code), ""},
		{"tab, quoted", Options{Delimiter: '\t', Quote: '"'}, rows("\t", `"`, head, patient, code), ""},
		{"semicolon", Options{Delimiter: ';', Quote: '"'}, rows(";", "", head, patient, code), ""},
		{"pipe", Options{Delimiter: '|', Quote: '"'}, rows("|", "", head, patient, code), ""},
		{"pipe, quoted", Options{Delimiter: '|', Quote: '"'}, rows("|", `"`, head, patient, code), ""},
		{"quoted delimiter and doubled quote", Options{},
			rows(",", `"`, append(head, "Note"), append(patient, "x"), append(code, `a, "b"`)), `a, "b"`},
		{"single quote", Options{Delimiter: ',', Quote: '\''},
			rows(",", "'", append(head, "Note"), append(patient, "x"), append(code, `it's "so", here`)), `it's "so", here`},
		{"single quote, double quote ordinary", Options{Delimiter: ',', Quote: '\''},
			rows(",", "", append(head, "Note"), append(patient, "x"), append(code, `say "hi"`)), `say "hi"`},
		{"no quoting", Options{Delimiter: ',', Quote: 0},
			rows(",", "", append(head, "Note"), append(patient, "x"), append(code, `"a"b"`)), `"a"b"`},
		{"no quoting, tab", Options{Delimiter: '\t'},
			rows("\t", "", append(head, "Note"), append(patient, "x"), append(code, `"a,b"`)), `"a,b"`},
		{"LF line ends", Options{Delimiter: ';', Quote: '"'}, strings.ReplaceAll(rows(";", `"`, head, patient, code), "\r\n", "\n"), ""},
		{"no final line end", Options{}, strings.TrimSuffix(rows(",", "", head, patient, code), "\r\n"), ""},
		{"byte-order mark before a quoted header", Options{}, "\ufeff" + rows(",", `"`, head, patient, code), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.in), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Entries) != 2 {
				t.Fatalf("%d entries", len(m.Entries))
			}
			p, c := m.Entries[0], m.Entries[1]
			if p.FileName != "SRPatient" || !p.IsDelta || p.From.String() != "20240101_1707" || p.To.String() != "20240102_1707" || p.Line != 2 ||
				c.FileName != "SRCode" || c.IsDelta || !c.From.IsZero() || c.Line != 3 {
				t.Errorf("entries %+v", m.Entries)
			}
		})
	}
	// The Note values are checked through the reader itself.
	for _, tt := range tests {
		if tt.note == "" {
			continue
		}
		lines, err := readLines(strings.NewReader(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := splitFields(lines[2].text, tt.opt.resolved())
		if err != nil || rec[len(rec)-1] != tt.note {
			t.Errorf("%s: note %q, %v; want %q", tt.name, rec, err, tt.note)
		}
	}
	// In the other dialect the same bytes fail.
	if _, err := Parse(strings.NewReader(rows(",", "", append(head, "Note"), append(patient, "x"), append(code, `"a"b"`))), Options{}); err == nil {
		t.Error(`"a"b" read with quoting: want an error`)
	}
	if _, err := Parse(strings.NewReader(rows(",", "", append(head, "Note"), append(patient, "x"), append(code, `"a,b"`))), Options{Delimiter: ',', Quote: 0}); err == nil {
		t.Error(`"a,b" read without quoting: want a field-count error`)
	}
}

func TestDefaultOptions(t *testing.T) {
	if o := DefaultOptions(); o.Delimiter != ',' || o.Quote != '"' || o.Validate() != nil {
		t.Errorf("DefaultOptions() = %+v", o)
	}
	if (Options{}).resolved() != DefaultOptions() || (Options{Quote: '\''}).resolved() != DefaultOptions() {
		t.Error("a zero Delimiter does not mean the defaults")
	}
	if o := (Options{Delimiter: ';'}).resolved(); o.Quote != 0 {
		t.Errorf("Options{Delimiter: ';'} quotes with %q, want no quoting", o.Quote)
	}
}

// A delta's range is ordered as instants: across the autumn change its To
// may read earlier on the wall clock than its From.
func TestParseAcrossTheAutumnChange(t *testing.T) {
	tests := []struct {
		from, to string
		cutOff   string // UTC; "" when Parse must reject the row
	}{
		{"20241027_0130", "20241027_0115", "2024-10-27 01:15:00"}, // 01:30 BST to 01:15 GMT
		{"20241027_0145", "20241027_0100", "2024-10-27 01:00:00"}, // 01:45 BST to 01:00 GMT
		{"20241027_0130", "20241027_0130", "2024-10-27 01:30:00"}, // 01:30 BST to 01:30 GMT: one hour
		{"20241027_0030", "20241027_0130", "2024-10-27 00:30:00"}, // to 01:30 BST
		{"20241027_0115", "20241027_0150", "2024-10-27 00:50:00"}, // both BST, read as written
		{"20241026_1707", "20241027_1707", "2024-10-27 17:07:00"},
		{"20240330_1707", "20240331_0130", "2024-03-31 01:30:00"}, // in the spring gap
		{"20241027_0200", "20241027_0115", ""},                    // 02:00 GMT is after 01:15 GMT
		{"20241027_0130", "20241027_0030", ""},                    // 00:30 exists once
		{"20241027_0159", "20241026_0130", ""},
		{"20241028_0130", "20241027_0115", ""},
	}
	for _, tt := range tests {
		t.Run(tt.from+"-"+tt.to, func(t *testing.T) {
			m, err := Parse(strings.NewReader(hdr+
				"SRPatient,Y,N,"+tt.from+","+tt.to+"\r\n"+
				"SRCode,N,N,,"+tt.to+"\r\n"+
				"SRAppointmentAttendees,Y,N,,\r\n"), Options{})
			if tt.cutOff == "" {
				var list ErrorList
				if !errors.As(err, &list) || len(list) != 1 || list[0].Column != "DateExtractFrom" || !strings.Contains(list[0].Err.Error(), "not before DateExtractTo") {
					t.Fatalf("got %v, want DateExtractFrom not before DateExtractTo", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := time.Parse("2006-01-02 15:04:05", tt.cutOff)
			if got := m.CutOffTime(); !got.Equal(want) {
				t.Errorf("CutOffTime %s, want %s", got.UTC(), want)
			}
			if m.DeltaFrom().String() != tt.from || m.CutOff().String() != tt.to {
				t.Errorf("DeltaFrom %s CutOff %s", m.DeltaFrom(), m.CutOff())
			}
			from, to := ResolveRange(m.DeltaFrom(), m.CutOff())
			if !from.Equal(m.DeltaFrom().Time()) || !to.Equal(want) || !from.Before(to) {
				t.Errorf("ResolveRange %s %s", from.UTC(), to.UTC())
			}
		})
	}
}

func TestCutOffTime(t *testing.T) {
	tests := []struct {
		name string
		rows string
		want string // UTC, "" for zero
	}{
		{"undated", "SRAppointmentAttendees,Y,N,,\r\n", ""},
		{"full files", "SRCode,N,N,,20240102_1707\r\n", "2024-01-02 17:07:00"},
		{"full files in the repeat: the earlier instant", "SRCode,N,N,,20241027_0115\r\n", "2024-10-27 00:15:00"},
		{"a delta decides for the full file", "SRCode,N,N,,20241027_0115\r\nSREvent,Y,N,20241027_0130,20241027_0115\r\n", "2024-10-27 01:15:00"},
		{"summer", "SRPatient,Y,N,20240701_1707,20240702_1707\r\n", "2024-07-02 16:07:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(hdr+tt.rows), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := m.CutOffTime()
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("got %s, want zero", got)
				}
				return
			}
			if want, _ := time.Parse("2006-01-02 15:04:05", tt.want); !got.Equal(want) {
				t.Errorf("got %s, want %s", got.UTC(), want)
			}
		})
	}
}

// Fields joined in a dialect split back into the same fields.
func FuzzSplitFields(f *testing.F) {
	f.Add("a", "b,c", `d"e`, byte(','), byte('"'))
	f.Add("", "\t", "'", byte('\t'), byte('\''))
	f.Add(`"x"`, "", "y", byte(';'), byte(0))
	f.Fuzz(func(t *testing.T, a, b, c string, delim, quote byte) {
		opt := Options{Delimiter: delim, Quote: quote}
		if delim == 0 || opt.Validate() != nil {
			return
		}
		fields := []string{a, b, c}
		var line []byte
		for i, v := range fields {
			if strings.ContainsAny(v, "\r\n") {
				return
			}
			if i > 0 {
				line = append(line, delim)
			}
			switch {
			case quote != 0:
				q := string(quote)
				line = append(line, q+strings.ReplaceAll(v, q, q+q)+q...)
			case strings.IndexByte(v, delim) >= 0:
				return // not representable without quoting
			default:
				line = append(line, v...)
			}
		}
		got, err := splitFields(line, opt)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if strings.Join(got, "\x00") != strings.Join(fields, "\x00") {
			t.Fatalf("%q split into %q, want %q", line, got, fields)
		}
	})
}
