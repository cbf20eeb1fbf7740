package codec

import (
	"bytes"
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
	records := 0
	allocs := testing.AllocsPerRun(5, func() {
		sc, err := NewScanner("SRPatient", bytes.NewReader(file), DefaultDialect())
		if err != nil {
			t.Fatal(err)
		}
		records = 0
		if err := sc.Skim(func([][]byte) { records++ }); err != nil {
			t.Fatal(err)
		}
	})
	if records != 2000 || allocs > 200 {
		t.Errorf("%d records skimmed with %.0f allocations", records, allocs)
	}
}
