package codec

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// The structure pass (Skim) allocates nothing per record: a file of tens
// of millions of rows must not cost as many allocations (issue 13: two per
// record, from the targets of errors.As).
func TestSkimAllocatesNothingPerRecord(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n")
	for id := 1; id <= 2000; id++ {
		fmt.Fprintf(&in, "%d,A1,\"Name, %d\",0\r\n", id, id)
	}
	file := in.Bytes()
	for _, field := range []bool{false, true} {
		records := 0
		allocs := testing.AllocsPerRun(5, func() {
			sc, err := NewScanner("SRPatient", bytes.NewReader(file), DefaultDialect())
			if err != nil {
				t.Fatal(err)
			}
			records = 0
			if field {
				err = sc.SkimField(1, func([]byte) { records++ })
			} else {
				err = sc.Skim(func([][]byte) { records++ })
			}
			if err != nil {
				t.Fatal(err)
			}
		})
		if records != 2000 || allocs > 200 {
			t.Errorf("SkimField %t: %d records skimmed with %.0f allocations", field, records, allocs)
		}
	}
}

// FuzzReadFieldAgrees: ReadField(col) returns Read's field col (nil when
// the record has fewer), with the same errors, lines and offsets, for any
// input, so that a structure pass that reads one field (an organisation's
// table) sees what the publishing read sees.
func FuzzReadFieldAgrees(f *testing.F) {
	for _, s := range []string{"a,b\r\n1,2\r\n", "\"x\"\"y\",\"l1\r\nl2\"\n", "a,b,c\n\n1\n1,2,3,4\r\n", "\xA3,\xE9\xE9\xE9\n1,\xE9\n", "x\r\r\n,\n", "\xEF\xBB\xBFa,b\nc,d"} {
		f.Add([]byte(s), false, 1)
	}
	f.Fuzz(func(t *testing.T, in []byte, asUTF8 bool, col int) {
		d := DefaultDialect()
		d.MaxRecordBytes = 64
		if asUTF8 {
			d.Encoding = UTF8
		}
		col = col%4 - 1 // -1 (no field) to 2
		one, all := NewReader(bytes.NewReader(in), d), NewReader(bytes.NewReader(in), d)
		for i := 0; ; i++ {
			got, gerr := one.ReadField(col)
			fields, werr := all.Read()
			var want []byte
			if werr == nil && col >= 0 && col < len(fields) {
				want = fields[col]
			}
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("record %d: ReadField error %v, Read error %v", i, gerr, werr)
			}
			if string(got) != string(want) || (got == nil) != (want == nil) || one.Line() != all.Line() || one.Offset() != all.Offset() {
				t.Fatalf("record %d: ReadField %q at line %d offset %d, Read %q at line %d offset %d",
					i, got, one.Line(), one.Offset(), want, all.Line(), all.Offset())
			}
			if gerr != nil {
				var re *RecordError
				if !errors.As(gerr, &re) {
					return
				}
			}
		}
	})
}
