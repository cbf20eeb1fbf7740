package manifest

import (
	"fmt"
	"time"
	_ "time/tzdata" // Windows Gateway PCs have no zoneinfo database
)

// London is the zone SR wall-clock times are written in: the manifest's
// extract dates, the batch folder names and the date-time cells of the
// table files.
var London = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(fmt.Sprintf("load time zone Europe/London: %v", err))
	}
	return l
}()

// Clock converts UK wall-clock date-times to UTC instants. It is the one
// wall-clock conversion of sragent: package codec converts date-time cells
// with it and Stamp.Time uses it, so a cell and a stamp naming the same
// wall-clock time are the same instant.
//
// It keeps each year's zone transitions in a table, so a conversion is a
// few comparisons rather than a time.Date call. A Clock is not safe for
// concurrent use; give each goroutine its own.
//
// Wall-clock times that do not exist or exist twice are resolved the way
// java.time does, deliberately and the same on every platform:
//   - in the spring-forward gap (01:00-01:59 on the last Sunday of March)
//     the time is read with the offset before the change, so 01:30 is
//     01:30 UTC (02:30 BST);
//   - in the autumn repeat (01:00-01:59 on the last Sunday of October)
//     UnixMilli takes the earlier instant, so 01:30 is 00:30 UTC (01:30
//     BST); UnixMilliLater takes the later one (java's
//     withLaterOffsetAtOverlap), 01:30 UTC (01:30 GMT).
//
// Note that time.Date is not the same: it takes the later instant in the
// autumn repeat.
type Clock struct {
	loc   *time.Location
	years [yearsCached]*zoneYear
	far   map[int]*zoneYear // the years outside years (at most 10000: dates run from 0001 to 9999)
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

// Location returns the zone the clock reads wall-clock times in.
func (c *Clock) Location() *time.Location { return c.loc }

// UnixMilli returns the instant of a wall-clock time as milliseconds since
// the Unix epoch; of a time that exists twice, the earlier instant.
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
	return z.inGap(local) * 1000
}

// LocalMilli returns a wall-clock time as milliseconds since 1970-01-01
// 00:00 of the same wall clock, with no zone: Avro's
// local-timestamp-millis, whose date is the calendar date of the wall
// clock whatever the zone's offset.
func LocalMilli(year, month, day, hour, min, sec int) int64 {
	return (daysFromCivil(int64(year), month, day)*86400 + int64(hour*3600+min*60+sec)) * 1000
}

// UnixMilliLater is UnixMilli, except that of a wall-clock time that exists
// twice (the autumn repeat) it returns the later instant. Elsewhere,
// including in the spring-forward gap, the two agree.
func (c *Clock) UnixMilliLater(year, month, day, hour, min, sec int) int64 {
	local := daysFromCivil(int64(year), month, day)*86400 + int64(hour*3600+min*60+sec)
	z := c.year(year)
	for k := len(z.offs) - 1; k >= 0; k-- {
		u := local - z.offs[k]
		if (k == 0 || u >= z.at[k-1]) && (k == len(z.at) || u < z.at[k]) {
			return u * 1000
		}
	}
	return z.inGap(local) * 1000
}

// inGap resolves a local time (seconds) that no offset maps inside its
// interval, a spring-forward gap: it is read with the offset before the
// change.
func (z *zoneYear) inGap(local int64) int64 {
	for j, t := range z.at {
		if local-z.offs[j] >= t && local-z.offs[j+1] < t {
			return local - z.offs[j]
		}
	}
	return local - z.offs[0]
}

func (c *Clock) year(y int) *zoneYear {
	i := y - firstCachedYear
	if i < 0 || i >= yearsCached {
		z := c.far[y]
		if z == nil {
			if c.far == nil {
				c.far = map[int]*zoneYear{}
			}
			z = c.compute(y)
			c.far[y] = z
		}
		return z
	}
	if c.years[i] == nil {
		c.years[i] = c.compute(y)
	}
	return c.years[i]
}

// compute finds year y's zone transitions by the offsets themselves: a
// day-by-day walk, then a search for the second each change happens.
// time.Time.ZoneBounds is not used: with Go's own zone data (the embedded
// time/tzdata a Windows PC uses, whose later years are a rule rather than a
// table) it bounds the zone by the end of the year, and asked at that
// bound gives the same bound again, which never reaches the next year.
func (c *Clock) compute(y int) *zoneYear {
	from := daysFromCivil(int64(y), 1, 1)*86400 - 14*3600
	to := daysFromCivil(int64(y+1), 1, 1)*86400 + 14*3600
	offset := func(unix int64) int64 {
		_, off := time.Unix(unix, 0).In(c.loc).Zone()
		return int64(off)
	}
	z := &zoneYear{offs: []int64{offset(from)}}
	for at := from; at < to; {
		next := min(at+86400, to)
		cur, then := z.offs[len(z.offs)-1], offset(next)
		if then == cur {
			at = next
			continue
		}
		// The change is in (at, next]: the first second with the new
		// offset.
		lo, hi := at, next
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if offset(mid) == cur {
				lo = mid
			} else {
				hi = mid
			}
		}
		z.at = append(z.at, hi)
		z.offs = append(z.offs, offset(hi))
		at = hi
	}
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
