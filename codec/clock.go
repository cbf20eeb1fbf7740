package codec

import (
	"fmt"
	"time"
	_ "time/tzdata" // Windows Gateway PCs have no zoneinfo database
)

// London is the zone SR datetimes are written in.
var London = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("load time zone %s: %v", name, err))
	}
	return loc
}

// Clock converts UK wall-clock date-times to UTC instants. It keeps each
// year's zone transitions in a table, so a conversion is a few comparisons
// rather than a time.Date call. A Clock is not safe for concurrent use;
// give each goroutine its own.
//
// Wall-clock times that do not exist or exist twice are resolved the way
// java.time does, deliberately and the same on every platform:
//   - in the spring-forward gap (01:00-01:59 on the last Sunday of March)
//     the time is read with the offset before the change, so 01:30 is
//     01:30 UTC (02:30 BST);
//   - in the autumn repeat (01:00-01:59 on the last Sunday of October) the
//     earlier instant is chosen, so 01:30 is 00:30 UTC (01:30 BST).
type Clock struct {
	loc   *time.Location
	years [yearsCached]*zoneYear
}

const (
	firstCachedYear = 1800
	yearsCached     = 400
)

// zoneYear is the UTC offsets in force during one year's window (the year
// widened by 14 hours each side): offs[k] applies from at[k-1] (or the
// window's start) until at[k] (or its end).
type zoneYear struct {
	at   []int64 // transition instants, unix seconds
	offs []int64 // offsets in seconds, len(at)+1
}

// NewClock returns a Clock for loc (London when nil).
func NewClock(loc *time.Location) *Clock {
	if loc == nil {
		loc = London
	}
	return &Clock{loc: loc}
}

// UnixMilli returns the instant of a wall-clock time as milliseconds since
// the Unix epoch.
func (c *Clock) UnixMilli(year, month, day, hour, min, sec int) int64 {
	local := daysFromCivil(int64(year), month, day)*86400 + int64(hour*3600+min*60+sec)
	z := c.year(year)
	// The first interval whose offset maps the local time inside it is the
	// earliest instant (the autumn repeat takes the first).
	for k, off := range z.offs {
		u := local - off
		if (k == 0 || u >= z.at[k-1]) && (k == len(z.at) || u < z.at[k]) {
			return u * 1000
		}
	}
	// In a spring-forward gap: read with the offset before the change.
	for j, t := range z.at {
		if local-z.offs[j] >= t && local-z.offs[j+1] < t {
			return (local - z.offs[j]) * 1000
		}
	}
	return (local - z.offs[0]) * 1000
}

func (c *Clock) year(y int) *zoneYear {
	i := y - firstCachedYear
	if i < 0 || i >= yearsCached {
		return c.compute(y)
	}
	if c.years[i] == nil {
		c.years[i] = c.compute(y)
	}
	return c.years[i]
}

func (c *Clock) compute(y int) *zoneYear {
	from := daysFromCivil(int64(y), 1, 1)*86400 - 14*3600
	to := daysFromCivil(int64(y+1), 1, 1)*86400 + 14*3600
	t := time.Unix(from, 0).In(c.loc)
	_, off := t.Zone()
	z := &zoneYear{offs: []int64{int64(off)}}
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Unix() >= to {
			return z
		}
		t = end.In(c.loc)
		_, off = t.Zone()
		z.at = append(z.at, end.Unix())
		z.offs = append(z.offs, int64(off))
	}
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := int64(m+9) % 12
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
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
	formatErr := errDateFormat
	if minutesOK {
		formatErr = errDateMinutes
	}
	if (len(b) == 19 || len(b) == 16) && b[1] == ' ' { // one-digit day
		b = append([]byte{'0'}, b...)
	}
	if len(b) != 20 && !(minutesOK && len(b) == 17) {
		return 0, formatErr
	}
	if b[2] != ' ' || b[6] != ' ' || b[11] != ' ' || b[14] != ':' || (len(b) == 20 && b[17] != ':') {
		return 0, formatErr
	}
	mon := month(b[3], b[4], b[5])
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
		return 0, formatErr
	}
	if day < 1 || day > daysIn(year, mon) || hour > 23 || min > 59 || sec > 59 {
		return 0, errNoSuchDate
	}
	return c.UnixMilli(year, mon, day, hour, min, sec), nil
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
