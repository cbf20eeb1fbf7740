package codec

import (
	"testing"
	"time"
)

// A row encodes under the generated schemas and decodes back to the same
// typed values; a delete carries the row in before.
func TestTableCodecRoundTrip(t *testing.T) {
	tc, conv := sRCodeCodec(t, "RowIdentifier,IDOrganisationVisibleTo,DateEvent,CTV3Code,IsNumeric,NumericValue,IDPatient,Extra Col,RemovedData")
	from, to := int64(1700000000000), int64(1700086400000)
	for _, tt := range []struct {
		csv string
		op  Op
	}{
		{"20890171236,A81001,29 Sep 2011 14:53:28,XaQVY,TRUE,10.4,-1,£x,0", OpRead},
		{"20890171237,A81001,,,,,,,1", OpDelete},
	} {
		var row Row
		if err := conv.Convert(split(tt.csv), &row); err != nil {
			t.Fatal(err)
		}
		ev := Event{Op: tt.op, Row: &row, TsMs: 5, Source: Source{Version: "v", Name: "systmone", Group: "g", Batch: "20240101_1707",
			Table: "SRCode", File: "SRCode.csv", Line: 2, Snapshot: tt.op == OpRead, ExtractFrom: &from, ExtractTo: &to}}
		k := tc.AppendKey(nil, &row)
		v := tc.AppendValue(nil, &ev)
		kd, err := tc.Key().Decode(k)
		if err != nil {
			t.Fatal(err)
		}
		key := kd.(map[string]any)
		if key["table"] != "SRCode" || key["IDOrganisationVisibleTo"] != "A81001" || key["RowIdentifier"] != row.Values[0].Int {
			t.Errorf("key %v", key)
		}
		vd, err := tc.Value().Decode(v)
		if err != nil {
			t.Fatal(err)
		}
		val := vd.(map[string]any)
		if val["op"] != string(tt.op) || val["ts_ms"] != int64(5) {
			t.Errorf("envelope %v", val)
		}
		src := val["source"].(map[string]any)
		if src["line"] != int64(2) || src["batch"] != "20240101_1707" || src["extract_to"].(map[string]any)["long.timestamp-millis"].(time.Time).UnixMilli() != to {
			t.Errorf("source %v", src)
		}
		image, empty := "after", "before"
		if tt.op == OpDelete {
			image, empty = "before", "after"
		}
		if val[empty] != nil {
			t.Errorf("%s should be null: %v", empty, val[empty])
		}
		r := val[image].(map[string]any)["sragent.SRCode.Value"].(map[string]any)
		if tt.op == OpDelete {
			if r["DateEvent"] != nil || r["RowIdentifier"].(map[string]any)["long"] != int64(20890171237) {
				t.Errorf("deleted row image %v", r)
			}
			continue
		}
		want := map[string]any{
			"RowIdentifier": map[string]any{"long": int64(20890171236)},
			"CTV3Code":      map[string]any{"string": "XaQVY"},
			"IsNumeric":     map[string]any{"boolean": true},
			"NumericValue":  map[string]any{"double": 10.4},
			"IDPatient":     map[string]any{"long": int64(-1)},
			"Extra_Col":     map[string]any{"string": "£x"},
		}
		for f, w := range want {
			got, _ := r[f].(map[string]any)
			for b, wv := range w.(map[string]any) {
				if got[b] != wv {
					t.Errorf("field %s: got %v, want %v", f, r[f], w)
				}
			}
		}
		if d := r["DateEvent"].(map[string]any)["long.timestamp-millis"].(time.Time); !d.Equal(time.Date(2011, 9, 29, 13, 53, 28, 0, time.UTC)) {
			t.Errorf("DateEvent %v", d)
		}
		if r["SNOMEDCode"] != nil {
			t.Errorf("missing column should be null: %v", r["SNOMEDCode"])
		}
	}
}

// Image is exactly the row's Value record inside the envelope: equal
// rows have equal images whatever their source, different rows differ.
func TestImage(t *testing.T) {
	tc, conv := sRCodeCodec(t, "RowIdentifier,IDOrganisationVisibleTo,CTV3Code,RemovedData")
	image := func(csv string, line int64) []byte {
		var row Row
		if err := conv.Convert(split(csv), &row); err != nil {
			t.Fatal(err)
		}
		val := tc.AppendValue(nil, &Event{Op: OpRead, Row: &row, Source: Source{Batch: "b" + csv, Line: line}, TsMs: line})
		img := append([]byte(nil), tc.Image(val)...)
		want := tc.appendRow(nil, &row)
		if string(img) != string(want) {
			t.Fatalf("image % x, the row encodes as % x", img, want)
		}
		return img
	}
	a, b, c := image("1,A1,X,0", 2), image("1,A1,X,0", 9), image("1,A1,Y,0", 2)
	if string(a) != string(b) || string(a) == string(c) {
		t.Errorf("same rows: % x and % x; a changed row: % x", a, b, c)
	}
}

// sRCodeCodec is the codec and converter of an SRCode file with header.
func sRCodeCodec(t *testing.T, header string) (*TableCodec, *Converter) {
	t.Helper()
	l, err := NewLayout("SRCode", split(header))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := NewTableCodec(l)
	if err != nil {
		t.Fatal(err)
	}
	return tc, NewConverter(l)
}
