package codec

import (
	"slices"
	"strings"
	"testing"

	"github.com/sragent/sragent/schemas"
)

// lists is a Labels of fixed rows: ref → id → text.
type lists map[string]map[int64]string

func (l lists) Label(ref string, id int64) ([]byte, bool) {
	s, ok := l[ref][id]
	return []byte(s), ok
}

func TestLabels(t *testing.T) {
	mapping := lists{schemas.Mapping: {4: "Yes", 5: "No"}, schemas.ConfiguredOption: {4: "Home visit"}}
	const header = "RowIdentifier,IDOrganisationVisibleTo,SpeaksEnglish,RemovedData"
	tests := []struct {
		name, header, row string
		labels            Labels
		want              any // the label: a string, or nil for null
		unlabelled        string
	}{
		{"id in the lists", header, "1,A1,4,0", mapping, "Yes", ""},
		{"the id's own list", "RowIdentifier,IDOrganisationVisibleTo,IDPatient,ContactMethod,RemovedData", "1,A1,2,4,0", mapping, "Home visit", ""},
		{"id in no list", header, "1,A1,6,0", mapping, nil, "SpeaksEnglish"},
		{"no lists at all", header, "1,A1,4,0", nil, nil, "SpeaksEnglish"},
		{"empty cell", header, "1,A1,,0", mapping, nil, ""},
		{"zero: no value", header, "1,A1,0,0", mapping, nil, ""},
		{"minus one: no value", header, "1,A1,-1,0", mapping, nil, ""},
		{"a delete", header, "1,A1,5,1", mapping, "No", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, col := "SRPatient", "SpeaksEnglish"
			if strings.Contains(tt.header, "ContactMethod") {
				table, col = "SREvent", "ContactMethod"
			}
			l, err := NewLayoutWith(table, split(tt.header), Options{Labels: true})
			if err != nil {
				t.Fatal(err)
			}
			fi := fieldIndex(l.Table, col+schemas.LabelSuffix)
			if fi < 0 || l.Table.Columns[fi-1].Name != col || !slices.Contains(l.Labelled, col) {
				t.Fatalf("no label field right after %s: %v", col, l.Table.Columns)
			}
			c := NewConverter(l)
			c.SetLabels(tt.labels)
			var row Row
			if err := c.Convert(split(tt.row), &row); err != nil {
				t.Fatal(err)
			}
			got := any(nil)
			if v := row.Values[fi]; v.Kind == Str {
				got = string(v.Bytes)
			}
			if got != tt.want || strings.Join(row.Unlabelled, ",") != tt.unlabelled {
				t.Errorf("label %v, unlabelled %v; want %v, %q", got, row.Unlabelled, tt.want, tt.unlabelled)
			}
		})
	}
}

func fieldIndex(t *schemas.Table, name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func TestLabelFieldsOnlyWhenAsked(t *testing.T) {
	h := split("RowIdentifier,IDOrganisationVisibleTo,SpeaksEnglish,RemovedData")
	l, err := NewLayout("SRPatient", h)
	if err != nil || fieldIndex(l.Table, "SpeaksEnglish_label") >= 0 || len(l.Missing) != len(mustTable(t, "SRPatient").Columns)-3 {
		t.Fatalf("%v: labels without Options.Labels, or missing %v", err, l.Missing)
	}
	// Missing columns are the catalogue's, not the label fields.
	l, err = NewLayoutWith("SRPatient", h, Options{Labels: true})
	if err != nil || len(l.Missing) != len(mustTable(t, "SRPatient").Columns)-3 {
		t.Fatalf("%v: missing %v", err, l.Missing)
	}
	for _, m := range l.Missing {
		if strings.HasSuffix(m, schemas.LabelSuffix) {
			t.Errorf("label field %s reported missing", m)
		}
	}
	// A header that already has the label's name keeps its own column.
	l, err = NewLayoutWith("SRPatient", split("RowIdentifier,IDOrganisationVisibleTo,SpeaksEnglish,SpeaksEnglish_label"), Options{Labels: true})
	if err != nil || len(l.Labelled) != 0 {
		t.Fatalf("%v: labelled %v", err, l.Labelled)
	}
	var row Row
	if err := NewConverter(l).Convert(split("1,A1,4,theirs"), &row); err != nil || string(row.Values[fieldIndex(l.Table, "SpeaksEnglish_label")].Bytes) != "theirs" {
		t.Errorf("%v: %+v", err, row.Values)
	}
	// A list column whose field was registered as a string has no label.
	pins := schemas.Pins{Value: map[string]schemas.Type{"SpeaksEnglish": schemas.String}}
	l, err = NewLayoutWith("SRPatient", h, Options{Labels: true, Pins: pins})
	if err != nil || len(l.Labelled) != 0 {
		t.Fatalf("%v: labelled %v", err, l.Labelled)
	}
	c := NewConverter(l)
	c.SetLabels(lists{schemas.Mapping: {4: "Yes"}})
	if err := c.Convert(split("1,A1,4,0"), &row); err != nil || row.Values[fieldIndex(l.Table, "SpeaksEnglish_label")].Kind != Null || len(row.Unlabelled) != 0 {
		t.Errorf("%v: %+v %v", err, row.Values, row.Unlabelled)
	}
}

func mustTable(t *testing.T, name string) *schemas.Table {
	t.Helper()
	tb, ok := schemas.Lookup(name)
	if !ok {
		t.Fatalf("%s not catalogued", name)
	}
	return tb
}
