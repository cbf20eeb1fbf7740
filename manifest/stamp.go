package manifest

import (
	"fmt"
	"sync"
	"time"
)

// Stamp is a `yyyyMMdd_HHmm` wall-clock time (UK local), as used for batch
// folder names and the manifest's extract dates. The zero Stamp is "no date".
//
// A Stamp is a wall-clock time, not an instant: Before, Equal, Compare and
// Sub compare the wall clocks. Time and TimeLater give its instant, read
// with the London Clock.
type Stamp struct{ t time.Time }

const stampLayout = "20060102_1504"

// ParseStamp parses `yyyyMMdd_HHmm`.
func ParseStamp(s string) (Stamp, error) {
	if len(s) != len(stampLayout) {
		return Stamp{}, fmt.Errorf("not a yyyyMMdd_HHmm date")
	}
	t, err := time.Parse(stampLayout, s)
	if err != nil {
		return Stamp{}, fmt.Errorf("not a yyyyMMdd_HHmm date")
	}
	return Stamp{t}, nil
}

// IsZero reports whether s is "no date".
func (s Stamp) IsZero() bool { return s.t.IsZero() }

// String returns s as `yyyyMMdd_HHmm`, or "" for no date.
func (s Stamp) String() string {
	if s.IsZero() {
		return ""
	}
	return s.t.Format(stampLayout)
}

// Before reports whether the wall clock s is earlier than o.
func (s Stamp) Before(o Stamp) bool { return s.t.Before(o.t) }

// Equal reports whether s and o are the same wall-clock time.
func (s Stamp) Equal(o Stamp) bool { return s.t.Equal(o.t) }

// Compare compares the wall clocks: -1 if s is earlier than o, +1 if later,
// 0 if the same. The zero Stamp is earlier than any date.
func (s Stamp) Compare(o Stamp) int { return s.t.Compare(o.t) }

// Sub returns the wall-clock duration s-o.
func (s Stamp) Sub(o Stamp) time.Duration { return s.t.Sub(o.t) }

// Time returns the instant of s read as UK wall-clock time by the London
// Clock: in the spring-forward gap with the offset before the change, and
// in the autumn repeat the earlier instant (20241027_0130 is 00:30 UTC).
// It is the instant codec gives the cell "27 Oct 2024 01:30:00". The zero
// Stamp gives the zero time. Time is safe for concurrent use.
func (s Stamp) Time() time.Time { return s.instant(false) }

// TimeLater is Time, except that in the autumn repeat it returns the later
// instant (20241027_0130 is 01:30 UTC). Everywhere else it equals Time.
func (s Stamp) TimeLater() time.Time { return s.instant(true) }

// stampClock is the Clock behind Stamp.Time, shared under a lock: stamps
// are converted a few times per batch, not per row.
var stampClock = struct {
	sync.Mutex
	c *Clock
}{c: NewClock(London)}

func (s Stamp) instant(later bool) time.Time {
	if s.IsZero() {
		return time.Time{}
	}
	w := s.t
	y, mo, d := w.Date()
	h, mi, _ := w.Clock()
	stampClock.Lock()
	var ms int64
	if later {
		ms = stampClock.c.UnixMilliLater(y, int(mo), d, h, mi, 0)
	} else {
		ms = stampClock.c.UnixMilli(y, int(mo), d, h, mi, 0)
	}
	stampClock.Unlock()
	return time.UnixMilli(ms).In(London)
}

// MarshalText renders s as `yyyyMMdd_HHmm`.
func (s Stamp) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ResolveRange returns the instants of a DateExtractFrom/DateExtractTo
// pair of wall-clock stamps, the one rule sragent reads extract ranges by:
//   - From is Time (in the autumn repeat, the earlier instant);
//   - To is Time too, unless To is not after From as wall clocks, To falls
//     in the autumn repeated hour and its later instant is after From's:
//     then the range crossed the change and To is the later instant
//     (From 20241027_0130, To 20241027_0115 is 00:30Z to 01:15Z).
//
// A zero stamp gives the zero time; with From zero, To is Time. The result
// may still have To not after From (a really reversed range, or a From in
// the spring-forward gap read after a To just past it): Parse rejects such
// a delta.
func ResolveRange(from, to Stamp) (fromT, toT time.Time) {
	fromT, toT = from.Time(), to.Time()
	if from.IsZero() || to.IsZero() || from.Before(to) {
		return fromT, toT
	}
	if later := to.TimeLater(); !later.Equal(toT) && later.After(fromT) {
		toT = later
	}
	return fromT, toT
}

// ChainRange resolves a batch's extract range, its deltas' DateExtractFrom
// (zero for a batch of full files) and its DateExtractTo, to instants as a
// continuation of its chain, whose last cut-off was prev: a stamp in the
// autumn repeated hour, which names two instants, is the earliest one not
// before prev (DateExtractFrom), or after the From (DateExtractTo; without
// a From, not before prev). With a zero prev (a new chain) this is
// ResolveRange. So after a cut-off at 20241027_0115 read as 01:15Z, From
// 20241027_0115 To 20241027_0150 is 01:15Z to 01:50Z, where the manifest
// on its own reads 00:15Z to 00:50Z. An overlapping delta that starts in
// the repeated hour (one that goes back before prev) cannot be told from
// a continuation and is read as one.
func ChainRange(prev time.Time, from, to Stamp) (fromT, toT time.Time) {
	pick := func(s Stamp, ok func(time.Time) bool) time.Time {
		for _, t := range []time.Time{s.Time(), s.TimeLater()} {
			if ok(t) {
				return t
			}
		}
		return s.Time()
	}
	if !from.IsZero() {
		fromT = pick(from, func(t time.Time) bool { return !t.Before(prev) })
	}
	if !to.IsZero() {
		toT = pick(to, func(t time.Time) bool {
			if !fromT.IsZero() {
				return t.After(fromT)
			}
			return !t.Before(prev)
		})
	}
	return fromT, toT
}

// UnmarshalText parses `yyyyMMdd_HHmm`; empty text is the zero Stamp.
func (s *Stamp) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Stamp{}
		return nil
	}
	p, err := ParseStamp(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}
