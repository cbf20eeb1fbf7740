package producer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	e.patientBatch(dstBatches[i].name, dstBatches[i].from, dstBatches[i].to, 1)
}

// patientBatch writes batch g1/name: SRPatient from-to (a full file when
// from is empty) with rows rows, whose FirstName is Pat<name>.
func (e *env) patientBatch(name, from, to string, rows int) {
	e.t.Helper()
	delta := "N"
	if from != "" {
		delta = "Y"
	}
	dir := filepath.Join(e.in, "g1", name)
	os.MkdirAll(dir, 0o755)
	man := "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient," + delta + ",N," + from + "," + to + "\r\n"
	pat := "RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n"
	for r := range rows {
		pat += strconv.Itoa(r+1) + ",A1,Pat" + name + ",0\r\n" // each batch changes every row
	}
	for name, body := range map[string]string{"SRManifest.csv": man, "SRPatient.csv": pat} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// Sub-daily batches across the autumn change publish in chain order, all
// present at once, arriving one by one, or in two deliveries (the second
// read after the committed state), without a gap or a conflict, and their
// events carry the instants of their ranges.
func TestAutumnChangeOrder(t *testing.T) {
	for _, deliveries := range [][]int{{4}, {0, 1, 2, 3, 4}, {2, 4}} {
		oneByOne := fmt.Sprint(deliveries)
		e := newEnv(t)
		ctx := context.Background()
		var order []string
		for i := range dstBatches {
			e.dstBatch(i)
			if !slices.Contains(deliveries, i) {
				continue
			}
			pass := e.mustRun(ctx)
			for _, b := range pass.Batches {
				order = append(order, b.Batch)
				if b.Outcome != Published {
					t.Fatalf("deliveries %v: %s %s: %s", oneByOne, b.Batch, b.Outcome, b.Reason)
				}
			}
		}
		for i, b := range dstBatches {
			if i >= len(order) || order[i] != b.name {
				t.Fatalf("deliveries %v: published %v, want chain order", oneByOne, order)
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

// Daily batches whose cut-offs are not one a day (a full re-send between
// deltas) publish in cut-off order, as they always did.
func TestDailyOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.patientBatch("20240101_0300", "", "20240101_0300", 1)
	e.mustRun(ctx)
	e.patientBatch("20240102_0300", "20240101_0300", "20240102_0300", 1)
	e.patientBatch("20240102_1200", "", "20240102_1200", 1)
	e.patientBatch("20240103_0300", "20240102_0300", "20240103_0300", 1)
	var order []string
	for _, b := range e.mustRun(ctx).Batches {
		if b.Outcome != Published {
			t.Fatalf("%s: %s %s", b.Batch, b.Outcome, b.Reason)
		}
		order = append(order, b.Batch)
	}
	if fmt.Sprint(order) != "[20240102_0300 20240102_1200 20240103_0300]" {
		t.Errorf("published %v", order)
	}
}

// A batch of the repeated hour half-published and resumed keeps the
// instants of its range: its events and its END event name the same
// cut-off as its BEGIN.
func TestResumeInTheRepeatedHour(t *testing.T) {
	ctx := context.Background()
	last := dstBatches[4]
	e := halfPublished(t, "g1", func(e *env) {
		e.cfg.TxnRecords = 10
		for i := range 4 {
			e.dstBatch(i)
		}
		e.mustRun(ctx)
		e.patientBatch(last.name, last.from, last.to, 60)
	})
	if prog := e.state(ctx).Progress("g1"); prog.Batch != last.name {
		t.Fatalf("half-published: %+v", prog)
	}
	if pass := e.mustRun(ctx); len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("resume: %+v", pass)
	}
	want, _ := time.Parse(time.RFC3339, last.cutOff)
	n := 0
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient"), e.cfg.BatchesTopic()) {
		if ev.value == nil || ev.marker != "" {
			continue
		}
		var at time.Time
		if src, ok := ev.value["source"].(map[string]any); ok {
			if src["batch"] != last.name {
				continue
			}
			at = src["extract_to"].(map[string]any)["long.timestamp-millis"].(time.Time)
		} else {
			if ev.value["batch"] != last.name {
				continue
			}
			at = ev.value["cut_off"].(map[string]any)["long.timestamp-millis"].(time.Time)
		}
		n++
		if !at.Equal(want) {
			t.Fatalf("%s: cut-off %s, want %s: %v", ev.topic, at.UTC(), want, ev.value)
		}
	}
	if n != 62 { // 60 rows, BEGIN, END
		t.Errorf("%d events of %s, want 62", n, last.name)
	}
}

// A batch stamped in the future (a typo in the folder name, a wrong
// clock) is held, never published, so the real batch after it still
// publishes and nothing is a conflict.
func TestFutureBatchHeld(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.patientBatch("20240101_0300", "", "20240101_0300", 1)
	e.patientBatch("20990102_0300", "20240101_0300", "20990102_0300", 1) // the year mistyped
	reg := prometheus.NewRegistry()
	pass, err := e.runWith(ctx, WithMetrics(NewMetrics(reg, "test")))
	if err != nil || len(pass.Batches) != 2 || pass.Batches[0].Outcome != Published || pass.Batches[1].Outcome != Incomplete ||
		!strings.Contains(pass.Batches[1].Reason, "ahead of this machine's clock") {
		t.Fatalf("%v %+v", err, pass.Batches)
	}
	if n := sum(t, reg, "sragent_waiting_batches", map[string]string{"group": "g1", "reason": "held"}); n != 1 {
		t.Errorf("sragent_waiting_batches{reason=held} = %v, want 1", n)
	}
	os.RemoveAll(filepath.Join(e.in, "g1", "20990102_0300"))
	e.patientBatch("20240102_0300", "20240101_0300", "20240102_0300", 1) // the real one
	if pass := e.mustRun(ctx); len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("the real batch: %+v", pass.Batches)
	}
}
