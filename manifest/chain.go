package manifest

import "time"

// Continuity classifies one file against the chain before it
// (sr-format §4.3, after EDS SD307).
type Continuity uint8

const (
	// First: no earlier batch of the chain lists this table.
	First Continuity = iota
	// Continuous: DateExtractFrom equals the previous DateExtractTo.
	Continuous
	// Duplicate: the same date range as the previous file.
	Duplicate
	// Gap: DateExtractFrom is after the previous DateExtractTo; deltas were
	// lost.
	Gap
	// Overlap: DateExtractFrom is before the previous DateExtractTo ("gone
	// back"), as after re-bulks; rows repeat, none are lost.
	Overlap
	// Full: a full file resets the table's chain.
	Full
	// Undated: the manifest row has no dates (SRAppointmentAttendees,
	// SRReferralContactEvent), so continuity cannot be checked.
	Undated
)

var continuityNames = [...]string{"first", "continuous", "duplicate", "gap", "overlap", "full", "undated"}

// String returns the classification's name.
func (c Continuity) String() string { return continuityNames[c] }

// MarshalText renders the name, for JSON reports.
func (c Continuity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Link is one earlier batch of a chain.
type Link struct {
	Batch    string
	Manifest *Manifest
}

// FileContinuity is how one file of a batch follows the chain.
type FileContinuity struct {
	Table string     `json:"table"`
	Kind  Continuity `json:"continuity"`
	// Prev is the batch the file was compared with ("" when none).
	Prev   string `json:"previous_batch,omitempty"`
	PrevTo Stamp  `json:"previous_to,omitzero"`
	From   Stamp  `json:"from,omitzero"`
	To     Stamp  `json:"to,omitzero"`
}

// StaleAfter is how long SystmOne keeps sending deltas: when the last delta
// of a chain is older than this, it sends a full download instead.
const StaleAfter = 21 * 24 * time.Hour

// Classify compares every entry of cur with the latest earlier batch of the
// chain (history, oldest first) that lists the same table with dates.
//
// The comparison is of wall clocks, as SystmOne writes them: a From equal
// to the previous To is continuous also across the autumn change. Only a
// gap or overlap that starts in the repeated hour itself cannot be told
// apart, since the manifest does not say which 01:xx it means.
func Classify(history []Link, cur *Manifest) []FileContinuity {
	out := make([]FileContinuity, 0, len(cur.Entries))
	for _, e := range cur.Entries {
		fc := FileContinuity{Table: e.FileName, From: e.From, To: e.To}
		switch {
		case e.Undated():
			fc.Kind = Undated
		case !e.IsDelta:
			fc.Kind = Full
		default:
			prev, batch, ok := previous(history, e.FileName)
			if !ok {
				fc.Kind = First
				break
			}
			fc.Prev, fc.PrevTo = batch, prev.To
			switch {
			case e.From.Equal(prev.From) && e.To.Equal(prev.To):
				fc.Kind = Duplicate
			case e.From.Equal(prev.To):
				fc.Kind = Continuous
			case prev.To.Before(e.From):
				fc.Kind = Gap
			default:
				fc.Kind = Overlap
			}
		}
		out = append(out, fc)
	}
	return out
}

func previous(history []Link, table string) (Entry, string, bool) {
	for i := len(history) - 1; i >= 0; i-- {
		if e, ok := history[i].Manifest.Entry(table); ok && !e.Undated() {
			return e, history[i].Batch, true
		}
	}
	return Entry{}, "", false
}

// Staleness reports how long before the new batch the chain's last cut-off
// was, and whether that exceeds StaleAfter while cur still holds deltas
// (SystmOne would have sent a full download).
func Staleness(history []Link, batch Stamp, cur *Manifest) (age time.Duration, stale bool) {
	for i := len(history) - 1; i >= 0; i-- {
		if to := history[i].Manifest.CutOff(); !to.IsZero() {
			age = batch.Sub(to)
			break
		}
	}
	if age <= StaleAfter {
		return age, false
	}
	for _, e := range cur.Entries {
		if e.IsDelta && !e.Undated() {
			return age, true
		}
	}
	return age, false
}
