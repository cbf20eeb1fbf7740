package codec

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sragent/sragent/schemas"
)

func split(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Split(s, ",") {
		out = append(out, []byte(f))
	}
	return out
}

func TestNewLayoutErrors(t *testing.T) {
	tests := []struct {
		table, header, want string
	}{
		{"SRPatient", "IDOrganisationVisibleTo,Title", "no RowIdentifier column"},
		{"SRPatient", "RowIdentifier,IDOrganisationVisibleTo,Title,Title", "header field 4: column Title repeats field 3"},
		{"SRPatient", "RowIdentifier,,Title", "header field 2: empty column name"},
		{"SRPatient", "RowIdentifier,Title", "no IDOrganisationVisibleTo column, which SRPatient is keyed by"},
		{"SRCtv3", "RowIdentifier,IDOrganisationVisibleTo,Ctv3Text", "no Ctv3Code column"},
		{"SRNew", "RowIdentifier,a b,a-b", "map to the same field name a_b"},
	}
	for _, tt := range tests {
		_, err := NewLayout(tt.table, split(tt.header))
		var he *HeaderError
		if !errors.As(err, &he) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: got %v, want a HeaderError containing %q", tt.table, tt.header, err, tt.want)
		}
	}
}

func TestNewLayoutMapsByName(t *testing.T) {
	// Columns moved, one missing, one unknown, RemovedData absent.
	l, err := NewLayout("SRPatient", split("Surname,RowIdentifier,IDOrganisationVisibleTo,Shoe Size,DateBirth"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Extra, ","); got != "Shoe Size" {
		t.Errorf("extra %q", got)
	}
	if l.Renamed["Shoe Size"] != "Shoe_Size" {
		t.Errorf("renamed %v", l.Renamed)
	}
	if len(l.Missing) != 13 || l.Missing[0] != "Title" {
		t.Errorf("missing %v", l.Missing)
	}
	if l.HasRemovedData {
		t.Error("no RemovedData column, yet HasRemovedData")
	}
	c := NewConverter(l)
	var row Row
	if err := c.Convert(split("Brontë,42,A81001,11,12 Jun 1987 08:45"), &row); err != nil {
		t.Fatal(err)
	}
	get := func(name string) Value { return field(t, l, &row, name) }
	if v := get("RowIdentifier"); v.Kind != Int || v.Int != 42 {
		t.Errorf("RowIdentifier %+v", v)
	}
	if v := get("Surname"); v.Kind != Str || string(v.Bytes) != "Brontë" {
		t.Errorf("Surname %+v", v)
	}
	if v := get("Shoe_Size"); v.Kind != Str || string(v.Bytes) != "11" {
		t.Errorf("extra column %+v", v)
	}
	// A date of birth is its UK calendar date and time, with no zone.
	if v := get("DateBirth"); v.Kind != Time || v.Int != time.Date(1987, 6, 12, 8, 45, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("DateBirth %+v", v)
	}
	if v := get("Title"); v.Kind != Null {
		t.Errorf("missing column should be null, got %+v", v)
	}
}

func TestDynamicLayout(t *testing.T) {
	l, err := NewLayout("SRAppointmentAttendees", split("RowIdentifier,IDOrganisationVisibleTo,IDAppointment,RemovedData"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Table.Known || len(l.Table.Columns) != 3 || strings.Join(l.Table.Key, ",") != "IDOrganisationVisibleTo,RowIdentifier" {
		t.Fatalf("dynamic table %+v", l.Table)
	}
	// Text but the key's RowIdentifier, a long as in every catalogued
	// table, so that the key keeps its type when the table is catalogued.
	c := NewConverter(l)
	var row Row
	if err := c.Convert(split("7,A81001,not-a-number,1"), &row); err != nil {
		t.Fatal(err)
	}
	if !row.Removed || row.Values[0].Kind != Int || row.Values[1].Kind != Str || row.Values[2].Kind != Str {
		t.Errorf("dynamic row %+v", row)
	}
	var ce *CellError
	if err := c.Convert(split("x7,A81001,,0"), &row); !errors.As(err, &ce) || ce.Column != "RowIdentifier" {
		t.Errorf("a RowIdentifier that is no integer: %v", err)
	}
	// Over a subject that registered RowIdentifier as a string, it stays one.
	old, err := schemas.Build(&schemas.Table{Name: "SRAppointmentAttendees", Scope: schemas.Organisation, Key: l.Table.Key,
		Columns: []schemas.Column{{Name: "RowIdentifier"}, {Name: "IDOrganisationVisibleTo"}, {Name: "IDAppointment"}}})
	if err != nil {
		t.Fatal(err)
	}
	pins, err := PinsOf(old.Key, old.Value)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := NewLayoutWith("SRAppointmentAttendees", split("RowIdentifier,IDOrganisationVisibleTo,IDAppointment,RemovedData"), Options{Pins: pins})
	if err != nil || strings.Join(pl.Pinned, ",") != "RowIdentifier" {
		t.Fatalf("%v: pinned %v", err, pl.Pinned)
	}
	if err := NewConverter(pl).Convert(split("x7,A81001,,0"), &row); err != nil || row.Values[0].Kind != Str {
		t.Errorf("pinned RowIdentifier: %v %+v", err, row.Values[0])
	}
}

func TestConvertErrors(t *testing.T) {
	l, err := NewLayout("SREvent", split("RowIdentifier,IDOrganisationVisibleTo,DateEvent,EventIncomplete,IDPatient,RemovedData"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		row, col, want string
	}{
		{"1,A1,01 Jan 2024 10:00:00,TRUE,5", "", "5 fields, header has 6"},
		{"1,A1,01 Jan 2024 10:00:00,TRUE,5,0,9", "", "7 fields, header has 6"},
		{"1x,A1,,,,", "RowIdentifier", "not an integer"},
		{"9223372036854775808,A1,,,,", "RowIdentifier", "integer out of int64 range"},
		{"1,A1,31 Feb 2023 10:00:00,,,", "DateEvent", "no such calendar date"},
		{"1,A1,,yes,,", "EventIncomplete", "not TRUE, FALSE, 1 or 0"},
		{"1,A1,,,,2", "RemovedData", "not 1, 0 or empty"},
		{",A1,,,,", "RowIdentifier", "key column is empty"},
		{"1,,,,,", "IDOrganisationVisibleTo", "key column is empty"},
	}
	c := NewConverter(l)
	for _, tt := range tests {
		var row Row
		err := c.Convert(split(tt.row), &row)
		var ce *CellError
		if !errors.As(err, &ce) || ce.Column != tt.col || !strings.Contains(ce.Err.Error(), tt.want) {
			t.Errorf("%q: got %v, want column %q: %q", tt.row, err, tt.col, tt.want)
		}
	}
	var row Row
	if err := c.Convert(split("-9223372036854775808,A1,,false,-1,"), &row); err != nil {
		t.Fatal(err)
	}
	id, pat, inc := field(t, l, &row, "RowIdentifier"), field(t, l, &row, "IDPatient"), field(t, l, &row, "EventIncomplete")
	if id.Int != math.MinInt64 || pat.Int != -1 || inc.Kind != Bool || inc.Int != 0 || row.Removed {
		t.Errorf("row %+v", row)
	}
}

// Typed cells ignore surrounding spaces (a string keeps them); numbers are
// plain decimals; year 0000 is no date.
func TestCellQuirks(t *testing.T) {
	l, err := NewLayout("SRCode", split("RowIdentifier,IDOrganisationVisibleTo,DateEvent,NumericValue,IsNumeric,CTV3Text,RemovedData"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewConverter(l)
	tests := []struct {
		row      string
		errCol   string // "" for a row that converts
		reason   string
		numeric  float64
		text     string
		dateNull bool
	}{
		{" 7 ,A1, 01 Jan 2024 10:00:00 ,\t10.4 , TRUE , x ,0 ", "", "", 10.4, " x ", false},
		{"7,A1,   ,-1,,,", "", "", -1, "", true},
		{"7,A1,,.5,,,", "", "", 0.5, "", true},
		{"7,A1,,5.,,,", "", "", 5, "", true},
		{"7,A1,,+0.0,,,", "", "", 0, "", true},
		{"7,A1,,0x1p4,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,1_000,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,1.0E-5,,,", "", "", 1e-5, "", true},
		{"7,A1,,1e5,,,", "", "", 1e5, "", true},
		{"7,A1,,1e,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,e5,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,1e5.2,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,Inf,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,NaN,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,.,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,,1.2.3,,,", "NumericValue", "not a decimal number", 0, "", true},
		{"7,A1,01 Jan 0000 10:00:00,,,,", "DateEvent", "no such calendar date", 0, "", true},
		{"7,A1,29 Feb 2023 10:00:00,,,,", "DateEvent", "no such calendar date", 0, "", true},
		{"7,A1,01 Jan 2024 1 0:00:00,,,,", "DateEvent", "not a date-time", 0, "", true},
		{"1 2,A1,,,,,", "RowIdentifier", "not an integer", 0, "", true},
	}
	for _, tt := range tests {
		var row Row
		err := c.Convert(split(tt.row), &row)
		var ce *CellError
		if tt.errCol != "" {
			if !errors.As(err, &ce) || ce.Column != tt.errCol || !strings.Contains(ce.Err.Error(), tt.reason) {
				t.Errorf("%q: %v, want column %s: %s", tt.row, err, tt.errCol, tt.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.row, err)
			continue
		}
		id, num, text, date := field(t, l, &row, "RowIdentifier"), field(t, l, &row, "NumericValue"), field(t, l, &row, "CTV3Text"), field(t, l, &row, "DateEvent")
		if id.Int != 7 || num.Float != tt.numeric || string(text.Bytes) != tt.text || (date.Kind == Null) != tt.dateNull {
			t.Errorf("%q: id %+v numeric %+v text %q date %+v", tt.row, id, num, text.Bytes, date)
		}
	}
}

// A delete needs only its key: a deleted row's bad non-key cells are null
// and listed, not a reason to lose the delete; a bad key still is.
func TestDeleteNeedsOnlyItsKey(t *testing.T) {
	l, err := NewLayout("SREvent", split("RowIdentifier,IDOrganisationVisibleTo,DateEvent,EventIncomplete,IDPatient,RemovedData"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewConverter(l)
	tests := []struct {
		row     string
		errCol  string   // the column of the row's error ("" for none)
		nulled  []string // columns published as null
		removed bool
	}{
		{"1,A1,31 Feb 2023 10:00:00,yes,12x,1", "", []string{"DateEvent", "EventIncomplete", "IDPatient"}, true},
		{"1,A1,31 Feb 2023 10:00:00,,,0", "DateEvent", nil, false},
		{"1,A1,31 Feb 2023 10:00:00,,,", "DateEvent", nil, false},
		{"1x,A1,31 Feb 2023 10:00:00,,,1", "RowIdentifier", nil, true},
		{"1,A1,,,7,1", "", nil, true},
		// An unquoted comma somewhere after the key: still a delete of it.
		{"1,A1,01 Jan 2024 10:00:00,x,y,7,1", "", []string{""}, true},
		{"1,A1,7,1", "(row)", nil, false},                          // too few fields: perhaps a record cut by a newline
		{"1,A1,01 Jan 2024 10:00:00,x,y,7,0", "(row)", nil, false}, // not a delete: a dead letter
	}
	for _, tt := range tests {
		var row Row
		err := c.Convert(split(tt.row), &row)
		var ce *CellError
		switch {
		case tt.errCol == "(row)" && (!errors.As(err, &ce) || ce.Column != ""):
			t.Errorf("%q: error %v, want one of the whole row", tt.row, err)
		case tt.errCol == "(row)":
		case tt.errCol != "" && (!errors.As(err, &ce) || ce.Column != tt.errCol):
			t.Errorf("%q: error %v, want one in column %s", tt.row, err, tt.errCol)
		case tt.errCol == "" && err != nil:
			t.Errorf("%q: %v", tt.row, err)
		case tt.errCol == "":
			var cols []string
			for _, n := range row.Nulled {
				cols = append(cols, n.Column)
				if n.Column == "" {
					continue // the whole row's: every cell but the key is null
				}
				if v := field(t, l, &row, n.Column); v.Kind != Null {
					t.Errorf("%q: %s is %+v, want null", tt.row, n.Column, v)
				}
			}
			if strings.Join(cols, ",") != strings.Join(tt.nulled, ",") || row.Removed != tt.removed {
				t.Errorf("%q: nulled %v removed %t, want %v %t", tt.row, cols, row.Removed, tt.nulled, tt.removed)
			}
			if id := field(t, l, &row, "RowIdentifier"); id.Int != 1 {
				t.Errorf("%q: RowIdentifier %+v", tt.row, id)
			}
		}
	}
	// A key after a cell where a stray comma could be is not certain.
	late, err := NewLayout("SREvent", split("DateEvent,RowIdentifier,IDOrganisationVisibleTo,IDPatient,RemovedData"))
	if err != nil {
		t.Fatal(err)
	}
	var row Row
	if err := NewConverter(late).Convert(split("01 Jan 2024,10:00:00,1,A1,7,1"), &row); err == nil {
		t.Errorf("a delete whose key may have shifted was salvaged: %+v", row)
	}
}

func field(t *testing.T, l *Layout, row *Row, name string) Value {
	t.Helper()
	for i, c := range l.Table.Columns {
		if c.Name == name {
			return row.Values[i]
		}
	}
	t.Fatalf("no field %s", name)
	return Value{}
}

func TestParseInt(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "-1": -1, "+7": 7, " 20890171236 ": 20890171236, "9223372036854775807": math.MaxInt64} {
		if got, err := ParseInt([]byte(in)); err != nil || got != want {
			t.Errorf("%q: got %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-", "1.0", "1e3", "99999999999999999999", "0x10"} {
		if _, err := ParseInt([]byte(in)); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

func TestReason(t *testing.T) {
	l, err := NewLayout("SREvent", split("RowIdentifier,IDOrganisationVisibleTo,DateEvent,EventIncomplete,RemovedData"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewConverter(l)
	for row, want := range map[string]string{
		"x,A1,,,0": ReasonNotInteger, "99999999999999999999,A1,,,0": ReasonOverflow, "1,A1,,maybe,0": ReasonNotBoolean,
		"1,A1,31 Feb 2023 10:00:00,,0": ReasonNoSuchDate, "1,A1,2023-02-01,,0": ReasonDateFormat, "1,A1,,,7": ReasonRemovedData,
		",A1,,,0": ReasonEmptyKey, "1,A1": ReasonFieldCount,
	} {
		var r Row
		if got := Reason(c.Convert(split(row), &r)); got != want {
			t.Errorf("%q: reason %s, want %s", row, got, want)
		}
	}
	if Reason(errors.New("x")) != ReasonOther {
		t.Error("unknown errors are other")
	}
}
