package manifest

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

func utcAt(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// The London clock resolves the changeover hours like java.time: the gap
// with the offset before the change, the repeat to the earlier instant
// (UnixMilli) or the later one (UnixMilliLater).
func TestClockChangeovers(t *testing.T) {
	tests := []struct {
		name         string
		wall         [6]int
		early, later string // UTC
	}{
		{"GMT", [6]int{2024, 1, 15, 12, 0, 0}, "2024-01-15 12:00:00", "2024-01-15 12:00:00"},
		{"BST", [6]int{2024, 7, 15, 12, 0, 0}, "2024-07-15 11:00:00", "2024-07-15 11:00:00"},
		{"before spring forward", [6]int{2024, 3, 31, 0, 59, 59}, "2024-03-31 00:59:59", "2024-03-31 00:59:59"},
		{"spring gap start", [6]int{2024, 3, 31, 1, 0, 0}, "2024-03-31 01:00:00", "2024-03-31 01:00:00"},
		{"spring gap", [6]int{2024, 3, 31, 1, 30, 0}, "2024-03-31 01:30:00", "2024-03-31 01:30:00"},
		{"first BST minute", [6]int{2024, 3, 31, 2, 0, 0}, "2024-03-31 01:00:00", "2024-03-31 01:00:00"},
		{"before the repeat", [6]int{2024, 10, 27, 0, 59, 59}, "2024-10-26 23:59:59", "2024-10-26 23:59:59"},
		{"repeat start", [6]int{2024, 10, 27, 1, 0, 0}, "2024-10-27 00:00:00", "2024-10-27 01:00:00"},
		{"repeat", [6]int{2024, 10, 27, 1, 30, 0}, "2024-10-27 00:30:00", "2024-10-27 01:30:00"},
		{"repeat end", [6]int{2024, 10, 27, 1, 59, 59}, "2024-10-27 00:59:59", "2024-10-27 01:59:59"},
		{"GMT again", [6]int{2024, 10, 27, 2, 0, 0}, "2024-10-27 02:00:00", "2024-10-27 02:00:00"},
		{"British Standard Time 1968-71", [6]int{1970, 1, 15, 12, 0, 0}, "1970-01-15 11:00:00", "1970-01-15 11:00:00"},
		{"double summer time repeat 1947", [6]int{1947, 8, 10, 2, 30, 0}, "1947-08-10 00:30:00", "1947-08-10 01:30:00"},
		{"uncached year", [6]int{2300, 10, 28, 1, 30, 0}, "2300-10-28 00:30:00", "2300-10-28 01:30:00"},
	}
	// The system's zone data (Linux: a table of every transition), and
	// Go's own (what time/tzdata embeds and a Windows PC uses: later years
	// are a rule), on which the clock once looped for ever.
	for _, zone := range []struct {
		name string
		loc  *time.Location
	}{{"system", London}, {"go", goLondon(t)}} {
		c := NewClock(zone.loc)
		for _, tt := range tests {
			t.Run(zone.name+"/"+tt.name, func(t *testing.T) {
				w := tt.wall
				var early, later int64
				done := make(chan struct{})
				go func() {
					defer close(done)
					early, later = c.UnixMilli(w[0], w[1], w[2], w[3], w[4], w[5]), c.UnixMilliLater(w[0], w[1], w[2], w[3], w[4], w[5])
				}()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Fatal("the conversion does not end") // the goroutine leaks; the process ends with the test
				}
				if want := utcAt(t, tt.early).UnixMilli(); early != want {
					t.Errorf("UnixMilli: got %s, want %s", time.UnixMilli(early).UTC(), time.UnixMilli(want).UTC())
				}
				if want := utcAt(t, tt.later).UnixMilli(); later != want {
					t.Errorf("UnixMilliLater: got %s, want %s", time.UnixMilli(later).UTC(), time.UnixMilli(want).UTC())
				}
			})
		}
	}
}

// goLondon loads Europe/London from Go's own zone data
// ($GOROOT/lib/time/zoneinfo.zip, the data time/tzdata embeds); on
// Windows, London already is that data.
func goLondon(t *testing.T) *time.Location {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(runtime.GOROOT(), "lib", "time", "zoneinfo.zip"))
	if os.IsNotExist(err) && runtime.GOOS == "windows" {
		return London
	}
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocationFromTZData("Europe/London", data)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// The cached conversion agrees with time.Date for every hour of every day
// from 1900 to 2040: outside the changeovers both ways, and in a repeated
// hour UnixMilliLater agrees (time.Date takes the later instant) while
// UnixMilli is the one before.
func TestClockMatchesTimeDate(t *testing.T) {
	for _, loc := range []*time.Location{London, goLondon(t)} {
		clockMatchesTimeDate(t, loc)
	}
}

func clockMatchesTimeDate(t *testing.T, loc *time.Location) {
	c := NewClock(loc)
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2040; d = d.AddDate(0, 0, 1) {
		for h := 0; h < 24; h++ {
			want := time.Date(d.Year(), d.Month(), d.Day(), h, 17, 42, 0, loc)
			early := c.UnixMilli(d.Year(), int(d.Month()), d.Day(), h, 17, 42)
			later := c.UnixMilliLater(d.Year(), int(d.Month()), d.Day(), h, 17, 42)
			switch {
			case want.Hour() != h || want.Add(time.Hour).Hour() == h: // a gap, or time.Date chose the earlier
				continue
			case want.Add(-time.Hour).Hour() == h: // repeated: time.Date chose the later
				if later != want.UnixMilli() || early != want.Add(-time.Hour).UnixMilli() {
					t.Fatalf("%s %02d:17:42 (repeated): got %s and %s, want %s and %s", d.Format("2006-01-02"), h,
						time.UnixMilli(early).UTC(), time.UnixMilli(later).UTC(), want.Add(-time.Hour).UTC(), want.UTC())
				}
			case early != want.UnixMilli() || later != early:
				t.Fatalf("%s %02d:17:42: got %s and %s, want %s", d.Format("2006-01-02"), h,
					time.UnixMilli(early).UTC(), time.UnixMilli(later).UTC(), want.UTC())
			}
		}
	}
}

func TestStampTime(t *testing.T) {
	tests := []struct {
		stamp        string
		early, later string // UTC, "" for the zero time
	}{
		{"20240102_1707", "2024-01-02 17:07:00", "2024-01-02 17:07:00"},
		{"20240702_1707", "2024-07-02 16:07:00", "2024-07-02 16:07:00"},
		{"20241027_0030", "2024-10-26 23:30:00", "2024-10-26 23:30:00"},
		{"20241027_0130", "2024-10-27 00:30:00", "2024-10-27 01:30:00"}, // time.Date gives 01:30Z
		{"20241027_0115", "2024-10-27 00:15:00", "2024-10-27 01:15:00"},
		{"20241027_0200", "2024-10-27 02:00:00", "2024-10-27 02:00:00"},
		{"20240331_0130", "2024-03-31 01:30:00", "2024-03-31 01:30:00"},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.stamp, func(t *testing.T) {
			var s Stamp
			if tt.stamp != "" {
				var err error
				if s, err = ParseStamp(tt.stamp); err != nil {
					t.Fatal(err)
				}
			}
			check := func(what string, got time.Time, want string) {
				t.Helper()
				if want == "" {
					if !got.IsZero() {
						t.Errorf("%s: got %s, want the zero time", what, got)
					}
					return
				}
				if w := utcAt(t, want); !got.Equal(w) || got.Location() != London {
					t.Errorf("%s: got %s, want %s in London", what, got.UTC(), w)
				}
			}
			check("Time", s.Time(), tt.early)
			check("TimeLater", s.TimeLater(), tt.later)
		})
	}
}

// Stamp.Time shares one Clock; go test -race checks it is guarded.
func TestStampTimeConcurrent(t *testing.T) {
	var stamps []Stamp
	for _, v := range []string{"20241027_0130", "19700115_1200", "20240331_0130", "21990101_0000", "18500601_1200"} {
		s, _ := ParseStamp(v)
		stamps = append(stamps, s)
	}
	want := make([]time.Time, len(stamps))
	for i, s := range stamps {
		want[i] = s.Time()
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := (g + i) % len(stamps)
				if got := stamps[k].Time(); !got.Equal(want[k]) {
					t.Errorf("%s: got %s, want %s", stamps[k], got, want[k])
					return
				}
				stamps[k].TimeLater()
			}
		}()
	}
	wg.Wait()
}

func TestStampCompare(t *testing.T) {
	a, _ := ParseStamp("20241027_0115")
	b, _ := ParseStamp("20241027_0130")
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 || (Stamp{}).Compare(a) != -1 {
		t.Errorf("Compare: %d %d %d %d", a.Compare(b), b.Compare(a), a.Compare(a), (Stamp{}).Compare(a))
	}
}

// A batch's range is read as a continuation of its chain: in the autumn
// repeated hour, the instant that follows the previous cut-off.
func TestChainRange(t *testing.T) {
	at := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		prev, from, to   string // prev an instant, from/to stamps ("" none)
		wantFrom, wantTo string
	}{
		{"", "20240101_1707", "20240102_1707", "2024-01-01T17:07:00Z", "2024-01-02T17:07:00Z"},
		{"2024-10-26T23:30:00Z", "20241027_0030", "20241027_0130", "2024-10-26T23:30:00Z", "2024-10-27T00:30:00Z"}, // BST
		{"2024-10-27T00:30:00Z", "20241027_0130", "20241027_0115", "2024-10-27T00:30:00Z", "2024-10-27T01:15:00Z"}, // crosses the change
		{"2024-10-27T01:15:00Z", "20241027_0115", "20241027_0150", "2024-10-27T01:15:00Z", "2024-10-27T01:50:00Z"}, // alone it reads 00:15Z-00:50Z
		{"", "20241027_0115", "20241027_0150", "2024-10-27T00:15:00Z", "2024-10-27T00:50:00Z"},                     // a new chain: earlier instants
		{"2024-10-27T01:15:00Z", "20241026_1707", "20241027_0130", "2024-10-26T16:07:00Z", "2024-10-27T00:30:00Z"}, // really older: stays older
		{"2024-10-27T00:45:00Z", "", "20241027_0110", "", "2024-10-27T01:10:00Z"},                                  // a full batch after the chain
	}
	for _, tt := range tests {
		from, to := ChainRange(at(tt.prev), mustStamp(t, tt.from), mustStamp(t, tt.to))
		if !from.Equal(at(tt.wantFrom)) || !to.Equal(at(tt.wantTo)) {
			t.Errorf("prev %s, %s-%s: %s-%s, want %s-%s", tt.prev, tt.from, tt.to, from.UTC(), to.UTC(), tt.wantFrom, tt.wantTo)
		}
	}
}

func mustStamp(t *testing.T, s string) Stamp {
	t.Helper()
	if s == "" {
		return Stamp{}
	}
	st, err := ParseStamp(s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
