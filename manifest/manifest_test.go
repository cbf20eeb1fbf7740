package manifest

import (
	"errors"
	"strings"
	"testing"
)

const hdr = "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n"

func TestParse(t *testing.T) {
	m, err := Parse(strings.NewReader("\ufeff"+hdr+
		"SRPatient,Y,N,20240101_1707,20240102_1707\r\n"+
		"SRCode,N,N,,20240102_1707\r\n"+
		"SRAppointmentAttendees,Y,N,,\r\n"), ',')
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
	m, err = Parse(strings.NewReader("DateExtractTo,FileName,IsDelta,DateExtractFrom,IsReference\n20240102_1707,SRCode,N,,Y\n"), ',')
	if err != nil || !m.Entries[0].IsReference {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), ',')
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
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(strings.NewReader(string(in)), ',')
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
			if !e.Undated() && (e.To.IsZero() || (e.IsDelta && !e.From.Before(e.To)) || (!e.IsDelta && !e.From.IsZero())) {
				t.Fatalf("entry breaks the date rules: %+v", e)
			}
			if !e.To.IsZero() && !e.To.Equal(m.CutOff()) {
				t.Fatalf("two cut-offs")
			}
		}
	})
}
