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
