package codec

import (
	"errors"
	"fmt"
	"math"
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

// Clock converts UK wall-clock date-times to UTC instants. It caches the
// zone's offsets per day, so a conversion costs a map lookup rather than a
// time.Date call. A Clock is not safe for concurrent use; give each
// goroutine its own.
//
// Wall-clock times that do not exist or exist twice are resolved the way
// java.time does, deliberately and the same on every platform:
//   - in the spring-forward gap (01:00-01:59 on the last Sunday of March)
//     the time is read with the offset before the change, so 01:30 is
//     01:30 UTC (02:30 BST);
//   - in the autumn repeat (01:00-01:59 on the last Sunday of October) the
//     earlier instant is chosen, so 01:30 is 00:30 UTC (01:30 BST).
type Clock struct {
	loc  *time.Location
	days map[int64]zoneDay
}

type zoneDay struct {
	before, after int64 // UTC offsets in seconds
	change        int64 // unix second of a change in this day's window, or MaxInt64
}

// NewClock returns a Clock for loc (London when nil).
func NewClock(loc *time.Location) *Clock {
	if loc == nil {
		loc = London
	}
	return &Clock{loc: loc, days: make(map[int64]zoneDay)}
}

// UnixMilli returns the instant of a wall-clock time as milliseconds since
// the Unix epoch.
func (c *Clock) UnixMilli(year, month, day, hour, min, sec int) int64 {
	days := daysFromCivil(int64(year), month, day)
	local := days*86400 + int64(hour*3600+min*60+sec)
	z := c.zone(days)
	if u := local - z.before; u < z.change {
		return u * 1000
	}
	if u := local - z.after; u >= z.change {
		return u * 1000
	}
	return (local - z.before) * 1000 // in the gap
}

func (c *Clock) zone(days int64) zoneDay {
	if z, ok := c.days[days]; ok {
		return z
	}
	if len(c.days) > 1<<16 {
		clear(c.days)
	}
	// The window covers the local day under any offset up to ±14h.
	from := days*86400 - 14*3600
	to := (days+1)*86400 + 14*3600
	t := time.Unix(from, 0).In(c.loc)
	_, off := t.Zone()
	z := zoneDay{before: int64(off), after: int64(off), change: math.MaxInt64}
	if _, end := t.ZoneBounds(); !end.IsZero() && end.Unix() < to {
		_, off2 := end.In(c.loc).Zone()
		z.after, z.change = int64(off2), end.Unix()
	}
	c.days[days] = z
	return z
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

var months = map[[3]byte]int{
	{'j', 'a', 'n'}: 1, {'f', 'e', 'b'}: 2, {'m', 'a', 'r'}: 3, {'a', 'p', 'r'}: 4,
	{'m', 'a', 'y'}: 5, {'j', 'u', 'n'}: 6, {'j', 'u', 'l'}: 7, {'a', 'u', 'g'}: 8,
	{'s', 'e', 'p'}: 9, {'o', 'c', 't'}: 10, {'n', 'o', 'v'}: 11, {'d', 'e', 'c'}: 12,
}

var (
	errDateFormat  = errors.New("not a date-time of the form dd MMM yyyy HH:mm:ss")
	errDateMinutes = errors.New("not a date-time of the form dd MMM yyyy HH:mm")
	errNoSuchDate  = errors.New("no such calendar date or time of day")
)

// ParseDateTime parses `dd MMM yyyy HH:mm:ss` (with minutesOK, also
// `dd MMM yyyy HH:mm`) as UK wall-clock time and returns Unix milliseconds.
// A one-digit day and any case of the month name are accepted.
func (c *Clock) ParseDateTime(b []byte, minutesOK bool) (int64, error) {
	formatErr := errDateFormat
	if minutesOK {
		formatErr = errDateMinutes
	}
	if len(b) > 0 && b[1%len(b)] == ' ' { // one-digit day
		b = append([]byte{'0'}, b...)
	}
	if len(b) != 20 && !(minutesOK && len(b) == 17) {
		return 0, formatErr
	}
	if b[2] != ' ' || b[6] != ' ' || b[11] != ' ' || b[14] != ':' || (len(b) == 20 && b[17] != ':') {
		return 0, formatErr
	}
	mon, ok := months[[3]byte{b[3] | 0x20, b[4] | 0x20, b[5] | 0x20}]
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
