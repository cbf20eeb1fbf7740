package codec

import (
	"strings"
	"testing"
	"time"
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

// Outside the changeover hours the cached conversion agrees with time.Date
// for every hour of every day from 1900 to 2040.
func TestClockMatchesTimeDate(t *testing.T) {
	c := NewClock(nil)
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2040; d = d.AddDate(0, 0, 1) {
		for h := 0; h < 24; h++ {
			want := time.Date(d.Year(), d.Month(), d.Day(), h, 17, 42, 0, London)
			// Skip wall-clock times that do not exist or exist twice.
			if want.Hour() != h || want.Add(-time.Hour).Hour() == h || want.Add(time.Hour).Hour() == h {
				continue
			}
			if got := c.UnixMilli(d.Year(), int(d.Month()), d.Day(), h, 17, 42); got != want.UnixMilli() {
				t.Fatalf("%s %02d:17:42: got %s, want %s", d.Format("2006-01-02"), h, time.UnixMilli(got).UTC(), want.UTC())
			}
		}
	}
}
