package codec

import (
	"strings"
	"testing"
	"time"

	"github.com/sragent/sragent/manifest"
)

func TestParseDateTime(t *testing.T) {
	utc := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	tests := []struct {
		in        string
		minutesOK bool
		want      string // UTC, or "" for an error
		wantErr   string
	}{
		{in: "15 Jan 2024 12:00:00", want: "2024-01-15 12:00:00"},                  // GMT
		{in: "15 Jul 2024 12:00:00", want: "2024-07-15 11:00:00"},                  // BST
		{in: "29 Sep 2011 14:53:28", want: "2011-09-29 13:53:28"},                  // sr-format's example
		{in: "31 Mar 2024 00:59:59", want: "2024-03-31 00:59:59"},                  // just before spring forward
		{in: "31 Mar 2024 01:30:00", want: "2024-03-31 01:30:00"},                  // in the gap: offset before the change
		{in: "31 Mar 2024 02:00:00", want: "2024-03-31 01:00:00"},                  // first valid BST minute
		{in: "27 Oct 2024 00:30:00", want: "2024-10-26 23:30:00"},                  // BST
		{in: "27 Oct 2024 01:30:00", want: "2024-10-27 00:30:00"},                  // repeated hour: the earlier instant
		{in: "27 Oct 2024 02:00:00", want: "2024-10-27 02:00:00"},                  // GMT again
		{in: "15 Jan 1970 12:00:00", want: "1970-01-15 11:00:00"},                  // British Standard Time 1968-71: UTC+1 in winter
		{in: "01 Jan 1900 00:00:00", want: "1900-01-01 00:00:00"},                  // GMT (local mean time ended in 1847)
		{in: "29 Feb 2024 10:00:00", want: "2024-02-29 10:00:00"},                  // leap day
		{in: "5 Mar 2024 10:00:00", want: "2024-03-05 10:00:00"},                   // one-digit day
		{in: "05 MAR 2024 10:00:00", want: "2024-03-05 10:00:00"},                  // month case
		{in: "12 Jun 1987 08:45", minutesOK: true, want: "1987-06-12 07:45:00"},    // DateBirth
		{in: "12 Jun 1987 08:45:10", minutesOK: true, want: "1987-06-12 07:45:10"}, // DateBirth with seconds
		{in: "31 Feb 2023 10:00:00", wantErr: "no such calendar date"},
		{in: "29 Feb 2023 10:00:00", wantErr: "no such calendar date"},
		{in: "01 Jan 2023 24:00:00", wantErr: "no such calendar date"},
		{in: "01 Jan 2023 10:60:00", wantErr: "no such calendar date"},
		{in: "00 Jan 2023 10:00:00", wantErr: "no such calendar date"},
		{in: "01 Foo 2023 10:00:00", wantErr: "not a date-time"},
		{in: "2023-01-01 10:00:00", wantErr: "not a date-time"},
		{in: "01 Jan 2023 10:00", wantErr: "not a date-time of the form dd MMM yyyy HH:mm:ss"},
		{in: "01 Jan 2023", minutesOK: true, wantErr: "not a date-time of the form dd MMM yyyy HH:mm"},
		{in: "x", wantErr: "not a date-time"},
		{in: " ", wantErr: "not a date-time"},
	}
	c := NewClock(nil)
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := c.ParseDateTime([]byte(tt.in), tt.minutesOK)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := utc(tt.want); got != want {
				t.Errorf("got %s, want %s", time.UnixMilli(got).UTC(), time.UnixMilli(want).UTC())
			}
		})
	}
}

// A manifest stamp and a date-time cell naming the same wall-clock time
// are the same instant, for every minute of the changeover nights, where
// time.Date (the old Stamp.Time) disagreed in the repeated hour.
func TestStampTimeMatchesParseDateTime(t *testing.T) {
	c := NewClock(nil)
	for _, day := range []time.Time{
		time.Date(2024, 10, 27, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC),
	} {
		for m := 0; m < 3*60; m++ {
			w := day.Add(time.Duration(m) * time.Minute)
			s, err := manifest.ParseStamp(w.Format("20060102_1504"))
			if err != nil {
				t.Fatal(err)
			}
			cell := w.Format("02 Jan 2006 15:04:05")
			ms, err := c.ParseDateTime([]byte(cell), false)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Time(); got.UnixMilli() != ms {
				t.Errorf("%s: Stamp.Time %s, cell %q %s", s, got.UTC(), cell, time.UnixMilli(ms).UTC())
			}
		}
	}
	s, _ := manifest.ParseStamp("20241027_0130")
	if got, want := s.Time(), time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("20241027_0130: %s, want %s", got.UTC(), want)
	}
}

// codec's Clock is the manifest one: the same zone and both overlap
// choices.
func TestClockIsManifestClock(t *testing.T) {
	if London != manifest.London {
		t.Error("codec.London is not manifest.London")
	}
	c := NewClock(nil)
	if c.Location() != manifest.London {
		t.Errorf("NewClock(nil) reads %v", c.Location())
	}
	early, later := c.UnixMilli(2024, 10, 27, 1, 30, 0), c.UnixMilliLater(2024, 10, 27, 1, 30, 0)
	if later-early != time.Hour.Milliseconds() {
		t.Errorf("27 Oct 2024 01:30: earlier %s, later %s", time.UnixMilli(early).UTC(), time.UnixMilli(later).UTC())
	}
	if utc := NewClock(time.UTC); utc.UnixMilli(2024, 10, 27, 1, 30, 0) != time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC).UnixMilli() {
		t.Error("NewClock(time.UTC) does not read UTC")
	}
}

// BenchmarkParseDateTime measures the date-time cell conversion alone, over
// a spread of years and both sides of the changes.
func BenchmarkParseDateTime(b *testing.B) {
	cells := [][]byte{
		[]byte("15 Jan 2024 12:00:00"), []byte("15 Jul 2024 12:00:00"), []byte("29 Sep 2011 14:53:28"),
		[]byte("27 Oct 2024 01:30:00"), []byte("31 Mar 2024 01:30:00"), []byte("5 Mar 1987 10:00:00"),
		[]byte("01 Jan 1950 00:00:00"), []byte("31 Dec 2030 23:59:59"),
	}
	c := NewClock(nil)
	b.ReportAllocs()
	b.ResetTimer()
	var sum int64
	for i := 0; i < b.N; i++ {
		ms, err := c.ParseDateTime(cells[i%len(cells)], false)
		if err != nil {
			b.Fatal(err)
		}
		sum += ms
	}
	_ = sum
}
