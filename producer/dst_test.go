package producer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// dstBatches are sub-daily SRPatient batches of one chain across the
// autumn change of 2024 (01:00-01:59 is lived twice): folder, From, To
// and the cut-off instant. Folder-name order (0030, 0115, 0130, 0150)
// is not chain order.
var dstBatches = []struct{ name, from, to, cutOff string }{
	{"20241026_1707", "", "20241026_1707", "2024-10-26T16:07:00Z"},
	{"20241027_0030", "20241026_1707", "20241027_0030", "2024-10-26T23:30:00Z"},
	{"20241027_0130", "20241027_0030", "20241027_0130", "2024-10-27T00:30:00Z"}, // BST
	{"20241027_0115", "20241027_0130", "20241027_0115", "2024-10-27T01:15:00Z"}, // GMT, after the change
	{"20241027_0150", "20241027_0115", "20241027_0150", "2024-10-27T01:50:00Z"}, // GMT
}

func (e *env) dstBatch(i int) {
	e.t.Helper()
	b := dstBatches[i]
	delta := "N"
	if b.from != "" {
		delta = "Y"
	}
	dir := filepath.Join(e.in, "g1", b.name)
	os.MkdirAll(dir, 0o755)
	man := "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient," + delta + ",N," + b.from + "," + b.to + "\r\n"
	pat := "RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n" + string(rune('1'+i)) + ",A1,Pat,0\r\n"
	for name, body := range map[string]string{"SRManifest.csv": man, "SRPatient.csv": pat} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// Sub-daily batches across the autumn change publish in chain order, all
// present at once or arriving one by one, without a gap or a conflict,
// and their events carry the instants of their ranges.
func TestAutumnChangeOrder(t *testing.T) {
	for _, oneByOne := range []bool{false, true} {
		e := newEnv(t)
		ctx := context.Background()
		var order []string
		for i := range dstBatches {
			e.dstBatch(i)
			if !oneByOne && i < len(dstBatches)-1 {
				continue
			}
			pass := e.mustRun(ctx)
			for _, b := range pass.Batches {
				order = append(order, b.Batch)
				if b.Outcome != Published {
					t.Fatalf("one by one %v: %s %s: %s", oneByOne, b.Batch, b.Outcome, b.Reason)
				}
			}
		}
		for i, b := range dstBatches {
			if i >= len(order) || order[i] != b.name {
				t.Fatalf("one by one %v: published %v, want chain order", oneByOne, order)
			}
		}
		byLine := map[string]time.Time{}
		for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
			if ev.value != nil && ev.marker == "" {
				src := ev.value["source"].(map[string]any)
				to := src["extract_to"].(map[string]any)["long.timestamp-millis"].(time.Time)
				byLine[src["batch"].(string)] = to
			}
		}
		for _, b := range dstBatches {
			if got := byLine[b.name].UTC().Format(time.RFC3339); got != b.cutOff {
				t.Errorf("%s: extract_to %s, want %s", b.name, got, b.cutOff)
			}
		}
	}
}
