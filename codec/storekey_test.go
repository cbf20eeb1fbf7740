package codec

import (
	"bytes"
	"slices"
	"testing"

	"github.com/sragent/sragent/schemas"
)

// A store key decodes back to the row's key, StoreKey gives it from the
// Avro key a topic holds (what the table state's rebuild reads), and
// store keys sort as their values do: a file in key order looks the store
// up in its order.
func TestStoreKeys(t *testing.T) {
	tc, conv := sRCodeCodec(t, "RowIdentifier,IDOrganisationVisibleTo,CTV3Code,RemovedData")
	rows := []string{ // in key order: organisation, then RowIdentifier
		"-9223372036854775808,A1,X,0",
		"-1,A1,X,0",
		"0,A1,X,0",
		"1,A1,X,0",
		"127,A1,X,0",
		"128,A1,X,0",
		"9223372036854775807,A1,X,0",
		"5,A1\x00,X,0", // an organisation with a zero byte sorts after A1
		"5,A1\x00\x01,X,0",
		"5,A2,X,0",
		"5,B,X,0",
	}
	types, err := KeyTypes(tc.Avro.Key)
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	for _, csv := range rows {
		var row Row
		if err := conv.Convert(split(csv), &row); err != nil {
			t.Fatalf("%q: %v", csv, err)
		}
		skey := tc.AppendStoreKey(nil, &row)
		keys = append(keys, skey)
		var back Row
		if err := tc.KeyRow(skey, &back); err != nil {
			t.Fatalf("%q: %v", csv, err)
		}
		if again := tc.AppendStoreKey(nil, &back); !bytes.Equal(again, skey) {
			t.Errorf("%q: store key % x decodes to a row whose key is % x", csv, skey, again)
		}
		if avro, back := tc.AppendKey(nil, &row), tc.AppendKey(nil, &back); !bytes.Equal(avro, back) {
			t.Errorf("%q: Avro key % x, from the decoded store key % x", csv, avro, back)
		}
		table, fromAvro, err := StoreKey(nil, tc.AppendKey(nil, &row), types)
		if err != nil || table != "SRCode" || !bytes.Equal(fromAvro, skey) {
			t.Errorf("%q: StoreKey of the Avro key = %s % x %v, want SRCode % x", csv, table, fromAvro, err, skey)
		}
		prefix := tc.AppendStorePrefix(nil, row.Values[tc.l.keyFields[0]].Bytes)
		if !bytes.HasPrefix(skey, prefix) {
			t.Errorf("%q: store key % x does not start with its organisation's prefix % x", csv, skey, prefix)
		}
	}
	if !slices.IsSortedFunc(keys, bytes.Compare) {
		t.Errorf("store keys do not sort as their rows:\n% x", keys)
	}
	if p := tc.AppendStorePrefix(nil, []byte("A1")); bytes.HasPrefix(keys[7], p) {
		t.Errorf("organisation A1's prefix % x also starts A1\\x00's key % x", p, keys[7])
	}
	for _, bad := range [][]byte{{1, 2, 3}, append(tc.AppendStorePrefix(nil, []byte("A1")), 1, 2), {'A', 0}} {
		if err := tc.KeyRow(bad, &Row{}); err == nil {
			t.Errorf("% x decoded as a store key", bad)
		}
	}
	for _, bad := range [][]byte{{2, 'X'}, {12, 'S', 'R', 'C', 'o', 'd', 'e'}, {1}} {
		if _, _, err := StoreKey(nil, bad, types); err == nil {
			t.Errorf("% x read as an Avro key", bad)
		}
	}
}

// The rebuild reads each key with the types its own schema gives: the key
// of a table the catalogue does not know (RowIdentifier a long, or keyed
// by its row hash), and a key whose subject pinned a string RowIdentifier,
// convert back to the store key the publish wrote.
func TestStoreKeyReadsWithTheKeysSchema(t *testing.T) {
	stringKey, err := schemas.Build(&schemas.Table{Name: "SRPatient", Scope: schemas.Organisation,
		Key: []string{"IDOrganisationVisibleTo", "RowIdentifier"}, Columns: []schemas.Column{{Name: "IDOrganisationVisibleTo"}, {Name: "RowIdentifier"}}})
	if err != nil {
		t.Fatal(err)
	}
	pins, err := PinsOf(stringKey.Key, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, table, header, row string
		pins                     schemas.Pins
	}{
		{"uncatalogued", "SRUnknownThing", "RowIdentifier,Name", "5,x", schemas.Pins{}},
		{"uncatalogued, organisation-scoped", "SRUnknownThing", "RowIdentifier,IDOrganisationVisibleTo", "123456,ABC", schemas.Pins{}},
		{"keyed by row hash", "SRUnknownList", "Code,Name", "7,x", schemas.Pins{}},
		{"a string key pinned", "SRPatient", "RowIdentifier,IDOrganisationVisibleTo,FirstName", "x12,A1,Ann", pins},
	} {
		l, err := NewLayoutWith(tt.table, split(tt.header), Options{Pins: tt.pins})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		tc, err := NewTableCodec(l)
		if err != nil {
			t.Fatal(err)
		}
		var row Row
		if err := NewConverter(l).Convert(split(tt.row), &row); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		types, err := KeyTypes(tc.Avro.Key)
		if err != nil {
			t.Fatal(err)
		}
		table, skey, err := StoreKey(nil, tc.AppendKey(nil, &row), types)
		if err != nil || table != tt.table || !bytes.Equal(skey, tc.AppendStoreKey(nil, &row)) {
			t.Errorf("%s: StoreKey = %s % x %v, want % x", tt.name, table, skey, err, tc.AppendStoreKey(nil, &row))
		}
	}
}

// Numbers of every kind a key can hold encode in their order and decode
// back: longs and date-times as signed 64-bit numbers, doubles by value.
func TestOrderedValues(t *testing.T) {
	tests := []struct {
		kind Kind
		vals []Value
	}{
		{Int, []Value{{Kind: Int, Int: -1 << 63}, {Kind: Int, Int: -1}, {Kind: Int}, {Kind: Int, Int: 1}, {Kind: Int, Int: 1<<63 - 1}}},
		{Time, []Value{{Kind: Time, Int: -86400000}, {Kind: Time}, {Kind: Time, Int: 1700000000000}}},
		{Float, []Value{{Kind: Float, Float: -1e300}, {Kind: Float, Float: -1}, {Kind: Float, Float: -0.5}, {Kind: Float}, {Kind: Float, Float: 0.5}, {Kind: Float, Float: 2}, {Kind: Float, Float: 1e300}}},
		{Bool, []Value{{Kind: Bool}, {Kind: Bool, Int: 1}}},
	}
	for _, tt := range tests {
		var encs [][]byte
		for _, v := range tt.vals {
			enc := appendOrdered(nil, v)
			back, n, ok := readOrdered(enc, tt.kind)
			if !ok || n != len(enc) || back.Kind != v.Kind || back.Int != v.Int || back.Float != v.Float {
				t.Errorf("%+v encodes as % x, which decodes as %+v (%d bytes, %v)", v, enc, back, n, ok)
			}
			encs = append(encs, enc)
		}
		if !slices.IsSortedFunc(encs, bytes.Compare) {
			t.Errorf("kind %v: encodings out of order: % x", tt.kind, encs)
		}
	}
}
