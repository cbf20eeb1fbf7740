package codec

import (
	"time"

	"github.com/sragent/sragent/manifest"
)

// London is the zone SR datetimes are written in (manifest.London).
var London = manifest.London

// Clock converts UK wall-clock date-times to UTC instants: it is the
// manifest.Clock, so that cells and the manifest's stamps resolve the same
// wall-clock time to the same instant, with ParseDateTime for cells.
// UnixMilli (the earlier instant in the autumn repeat) and UnixMilliLater
// are promoted from it. A Clock is not safe for concurrent use; give each
// goroutine its own.
//
// Wall-clock times that do not exist or exist twice are resolved the way
// java.time does (see manifest.Clock): in the spring-forward gap with the
// offset before the change (31 Mar 2024 01:30 is 01:30 UTC), in the autumn
// repeat the earlier instant (27 Oct 2024 01:30 is 00:30 UTC).
type Clock struct {
	manifest.Clock
}

// NewClock returns a Clock for loc (London when nil).
func NewClock(loc *time.Location) *Clock {
	return &Clock{Clock: *manifest.NewClock(loc)}
}

// month returns the month number of an English three-letter abbreviation
// in any case, or 0.
func month(a, b, c byte) int {
	switch uint32(a|0x20)<<16 | uint32(b|0x20)<<8 | uint32(c|0x20) {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

var (
	errDateFormat  = newFault(ReasonDateFormat, "not a date-time of the form dd MMM yyyy HH:mm:ss")
	errDateMinutes = newFault(ReasonDateFormat, "not a date-time of the form dd MMM yyyy HH:mm")
	errNoSuchDate  = newFault(ReasonNoSuchDate, "no such calendar date or time of day")
)

// ParseDateTime parses `dd MMM yyyy HH:mm:ss` (with minutesOK, also
// `dd MMM yyyy HH:mm`) as UK wall-clock time and returns Unix milliseconds.
// A one-digit day and any case of the month name are accepted.
func (c *Clock) ParseDateTime(b []byte, minutesOK bool) (int64, error) {
	y, mo, d, h, mi, s, err := parseWallClock(b, minutesOK)
	if err != nil {
		return 0, err
	}
	return c.UnixMilli(y, mo, d, h, mi, s), nil
}

// ParseLocal parses what ParseDateTime does and returns the wall-clock
// time itself as local-timestamp-millis (manifest.LocalMilli), with no
// zone: the date of a calendar column stays the UK calendar date.
func ParseLocal(b []byte, minutesOK bool) (int64, error) {
	y, mo, d, h, mi, s, err := parseWallClock(b, minutesOK)
	if err != nil {
		return 0, err
	}
	return manifest.LocalMilli(y, mo, d, h, mi, s), nil
}

// parseWallClock reads the fields of an SR date-time cell.
func parseWallClock(b []byte, minutesOK bool) (year, mon, day, hour, min, sec int, err error) {
	formatErr := errDateFormat
	if minutesOK {
		formatErr = errDateMinutes
	}
	if (len(b) == 19 || len(b) == 16) && b[1] == ' ' { // one-digit day
		b = append([]byte{'0'}, b...)
	}
	if len(b) != 20 && !(minutesOK && len(b) == 17) {
		return 0, 0, 0, 0, 0, 0, formatErr
	}
	if b[2] != ' ' || b[6] != ' ' || b[11] != ' ' || b[14] != ':' || (len(b) == 20 && b[17] != ':') {
		return 0, 0, 0, 0, 0, 0, formatErr
	}
	mon = month(b[3], b[4], b[5])
	ok := mon != 0
	day, ok1 := digits(b[0:2])
	year, ok2 := digits(b[7:11])
	hour, ok3 := digits(b[12:14])
	min, ok4 := digits(b[15:17])
	sec, ok5 := 0, true
	if len(b) == 20 {
		sec, ok5 = digits(b[18:20])
	}
	if !(ok && ok1 && ok2 && ok3 && ok4 && ok5) {
		return 0, 0, 0, 0, 0, 0, formatErr
	}
	if year == 0 || day < 1 || day > daysIn(year, mon) || hour > 23 || min > 59 || sec > 59 {
		return 0, 0, 0, 0, 0, 0, errNoSuchDate
	}
	return year, mon, day, hour, min, sec, nil
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
