package manifest

import (
	"strings"
	"testing"
	"time"
)

func mustManifest(t *testing.T, rows ...string) *Manifest {
	t.Helper()
	m, err := Parse(strings.NewReader(hdr+strings.Join(rows, "\r\n")+"\r\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClassify(t *testing.T) {
	history := []Link{
		{"20240101_1707", mustManifest(t, "SRPatient,N,N,,20240101_1707", "SRCode,N,N,,20240101_1707", "SREvent,N,N,,20240101_1707", "SRVisit,N,N,,20240101_1707")},
		{"20240102_1707", mustManifest(t, "SRPatient,Y,N,20240101_1707,20240102_1707", "SRVisit,Y,N,20240101_1707,20240102_1707", "SRAppointmentAttendees,Y,N,,")},
		{"20240103_1707", mustManifest(t, "SRCode,Y,N,20240102_1707,20240103_1707")},
	}
	cur := mustManifest(t,
		"SRPatient,Y,N,20240102_1707,20240104_1707", // continuous after batch 0102
		"SRCode,Y,N,20240102_1707,20240104_1707",    // batch 0103 already reached 0103: gone back
		"SREvent,Y,N,20240102_1707,20240104_1707",   // last SREvent ended 0101: gap
		"SRVisit,Y,N,20240102_1707,20240104_1707",   // continuous
		"SRRecall,Y,N,20240102_1707,20240104_1707",  // never seen
		"SRProblem,N,N,,20240104_1707",              // full
		"SRAppointmentAttendees,Y,N,,",              // undated
	)
	want := map[string]Continuity{"SRPatient": Continuous, "SRCode": Overlap, "SREvent": Gap, "SRVisit": Continuous,
		"SRRecall": First, "SRProblem": Full, "SRAppointmentAttendees": Undated}
	for _, fc := range Classify(history, cur) {
		if fc.Kind != want[fc.Table] {
			t.Errorf("%s: %s, want %s", fc.Table, fc.Kind, want[fc.Table])
		}
		if fc.Table == "SREvent" && (fc.Prev != "20240101_1707" || fc.PrevTo.String() != "20240101_1707") {
			t.Errorf("gap compared with %s %s", fc.Prev, fc.PrevTo)
		}
	}
	dup := mustManifest(t, "SRCode,Y,N,20240102_1707,20240103_1707")
	if got := Classify(history, dup)[0].Kind; got != Duplicate {
		t.Errorf("same range again: %s, want duplicate", got)
	}
}

func TestStaleness(t *testing.T) {
	history := []Link{{"20240101_1707", mustManifest(t, "SRPatient,N,N,,20240101_1707")}}
	deltas := mustManifest(t, "SRPatient,Y,N,20240101_1707,20240125_1707")
	fulls := mustManifest(t, "SRPatient,N,N,,20240125_1707")
	at := func(s string) Stamp { st, _ := ParseStamp(s); return st }
	if age, stale := Staleness(history, at("20240125_1707"), deltas); !stale || age != 24*24*time.Hour {
		t.Errorf("24 days of deltas: age %s stale %v", age, stale)
	}
	if _, stale := Staleness(history, at("20240125_1707"), fulls); stale {
		t.Error("a full download after 24 days is what SystmOne sends; not stale")
	}
	if _, stale := Staleness(history, at("20240121_1707"), deltas); stale {
		t.Error("20 days is within the limit")
	}
	if age, stale := Staleness(nil, at("20240121_1707"), deltas); stale || age != 0 {
		t.Error("no history: nothing to compare")
	}
}
