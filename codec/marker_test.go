package codec

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sragent/sragent/schemas"
)

// Marker keys are valid keys of every table's key schema that no row key
// can equal, whatever its key cells hold (the values the old reserved
// keys used included), and they differ per group and per type, so that
// compaction keeps each group's latest begin and end marker.
func TestMarkerKeysAreReserved(t *testing.T) {
	cells := []string{"-9223372036854775808", "-9223372036854775807", "0", "1",
		"__sragent_snapshot_begin__", "__sragent_snapshot_end__", "SRPatient/snapshot_begin/g1", ""}
	for _, tab := range schemas.Tables() {
		var header []string
		for _, c := range tab.Columns {
			header = append(header, c.Name)
		}
		l, err := NewLayout(tab.Name, split(strings.Join(header, ",")))
		if err != nil {
			t.Fatal(err)
		}
		tc, err := NewTableCodec(l)
		if err != nil {
			t.Fatal(err)
		}
		markers := map[string]string{}
		for _, g := range []string{"g1", "g2"} {
			for _, typ := range []string{MarkerBegin, MarkerEnd} {
				k, err := tc.AppendMarkerKey(nil, typ, g)
				if err != nil {
					t.Fatalf("%s: %v", tab.Name, err)
				}
				if _, err := tc.Key().Decode(k); err != nil {
					t.Fatalf("%s: marker key does not decode under the key schema: %v", tab.Name, err)
				}
				if other, dup := markers[string(k)]; dup {
					t.Errorf("%s: %s/%s has the key of %s", tab.Name, typ, g, other)
				}
				markers[string(k)] = typ + "/" + g
			}
		}
		conv := NewConverter(l)
		compared := 0
		for _, c := range cells {
			row := make([]string, len(header))
			for i, h := range header {
				if slices.Contains(tab.Key, h) {
					row[i] = c
				}
			}
			var r Row
			if err := conv.Convert(split(strings.Join(row, ",")), &r); err != nil {
				continue // not a value of this key's type
			}
			k := tc.AppendKey(nil, &r)
			compared++
			for mk, which := range markers {
				if bytes.Equal(k, []byte(mk)) {
					t.Errorf("%s: a row with key cells %s has the key of marker %s", tab.Name, strconv.Quote(c), which)
				}
			}
		}
		if compared < 2 {
			t.Errorf("%s: only %d row keys compared", tab.Name, compared)
		}
	}
}
