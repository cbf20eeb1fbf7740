package codec

import (
	"bytes"
	"testing"
)

// EventReader reads back what TableCodec wrote: the op, the row image
// (the bytes unchanged suppression hashes), the window column's value and
// the source's group, batch, file and snapshot flag.
func TestEventReaderReadsWhatWasWritten(t *testing.T) {
	tc, conv := sRCodeCodec(t, "RowIdentifier,IDOrganisationVisibleTo,CTV3Code,DateEvent,NumericValue,RemovedData")
	r, err := NewEventReader(tc.Avro.Value)
	if err != nil {
		t.Fatal(err)
	}
	win := r.Field("dateevent")
	if win < 0 {
		t.Fatal("no DateEvent field")
	}
	tests := []struct {
		csv      string
		op       Op
		snapshot bool
		window   bool
	}{
		{"7,A1,X,05 Jul 2023 10:00:00,1.5,0", OpRead, true, true},
		{"8,A1,,,,0", OpUpdate, false, false},
		{"9,B2,Y,01 Jan 2020 00:00:00,,1", OpDelete, false, true},
	}
	for _, tt := range tests {
		var row Row
		if err := conv.Convert(split(tt.csv), &row); err != nil {
			t.Fatal(err)
		}
		src := Source{Version: "v", Name: "p", Group: "g1", Batch: "20240101_0300", Table: "SRCode", File: "SRCode.csv", Line: 3, Snapshot: tt.snapshot}
		val := tc.AppendValue(nil, &Event{Op: tt.op, Row: &row, Source: src, TsMs: 1})
		img := bytes.Clone(tc.Image(val))
		ev, err := r.Read(val, win)
		if err != nil {
			t.Fatalf("%s: %v", tt.csv, err)
		}
		if ev.Op != tt.op || !bytes.Equal(ev.Image, img) || ev.Group != "g1" || ev.Batch != src.Batch || ev.File != src.File ||
			ev.Snapshot != tt.snapshot || ev.HasWindow != tt.window || (tt.window && ev.Window != row.Values[win].Int) {
			t.Errorf("%s: read %+v", tt.csv, ev)
		}
		if _, err := r.Read(val[:len(val)/2], win); err == nil {
			t.Errorf("%s: half an event read without error", tt.csv)
		}
	}
}

// The signature that names a schema for unchanged suppression tells a
// calendar column (local-timestamp-millis) from an instant of the same
// bytes, and nothing else that a registry may change in the text.
func TestSignatureNamesCalendarDates(t *testing.T) {
	schema := func(dateBirth string) string {
		return `{"type":"record","name":"Envelope","fields":[{"name":"op","type":"string"},
			{"name":"before","type":["null",{"type":"record","name":"Value","fields":[
				{"name":"RowIdentifier","type":["null","long"],"default":null},
				{"name":"DateBirth","type":["null",` + dateBirth + `],"default":null,"doc":"any"}]}]}]}`
	}
	sig := func(s string) string {
		r, err := NewEventReader(s)
		if err != nil {
			t.Fatal(err)
		}
		return r.Signature()
	}
	instant := sig(schema(`{"type":"long","logicalType":"timestamp-millis"}`))
	for _, tt := range []struct {
		name, dateBirth string
		same            bool
	}{
		{"no logical type (a registry that dropped it)", `"long"`, true},
		{"reformatted", `{"logicalType": "timestamp-millis", "type": "long"}`, true},
		{"calendar date", `{"type":"long","logicalType":"local-timestamp-millis"}`, false},
		{"string", `"string"`, false},
	} {
		if got := sig(schema(tt.dateBirth)); (got == instant) != tt.same {
			t.Errorf("%s: signature %q, instant's %q, want same=%t", tt.name, got, instant, tt.same)
		}
	}
}
