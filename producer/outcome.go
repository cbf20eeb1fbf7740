package producer

import (
	"fmt"
	"strings"

	"github.com/sragent/sragent/manifest"
)

// Outcome is what happens to one batch, in a publish or predicted by a dry
// run: the one vocabulary of Publish, Agent.RunOnce, `publish` and
// `validate`.
type Outcome int

// Outcomes of a batch.
const (
	// Published: every event is committed (dead letters included). Archive
	// the batch.
	Published Outcome = iota
	// Duplicate: the batch was published before with the same manifest;
	// nothing new is produced. Archive it.
	Duplicate
	// Conflict: the folder name was used before with another manifest, or
	// the batch arrived after a newer one. Quarantine it.
	Conflict
	// Halted: the chain waits here: a file starts after the previous
	// cut-off of its table (deltas were lost), or an earlier batch of the
	// chain halted it or was quarantined.
	Halted
	// Invalid: the batch is structurally bad. Quarantine it whole.
	Invalid
	// Incomplete: the batch folder is not ready (files still arriving).
	// The chain waits; nothing is moved.
	Incomplete
	// Blocked: the Schema Registry refuses a table's schema. Nothing is
	// produced; the pass fails and the batch is retried.
	Blocked
)

var outcomeNames = [...]string{"published", "duplicate", "conflict", "halted", "invalid", "incomplete", "blocked"}

// String returns the outcome's name.
func (o Outcome) String() string { return outcomeNames[o] }

// MarshalText renders the name, for JSON reports.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses a name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("unknown outcome %q", b)
}

// Severities of a Problem.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is one thing wrong (error) or worth knowing (warning) about a
// batch. It names file, line and column, never a cell's value.
type Problem struct {
	Severity string `json:"severity"`
	File     string `json:"file,omitempty"`
	Line     int64  `json:"line,omitempty"`
	Column   string `json:"column,omitempty"`
	Reason   string `json:"reason"`
	// Rows is set on a warning that sums up many rows of the file, from
	// Line on: how many (one warning for them all, logged like a file's).
	Rows int64 `json:"rows,omitempty"`
}

// String renders the problem as one line: file, line, column, reason.
func (p Problem) String() string {
	var parts []string
	if p.File != "" {
		parts = append(parts, p.File)
	}
	if p.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", p.Line))
	}
	if p.Column != "" {
		parts = append(parts, "column "+p.Column)
	}
	if len(parts) == 0 {
		return p.Reason
	}
	return strings.Join(parts, " ") + ": " + p.Reason
}

// MaxProblems bounds the problems a Result lists; the rest are counted in
// ProblemsOmitted.
const MaxProblems = 100

// FileReport is what happens to one file of a batch.
type FileReport struct {
	File  string `json:"file"`
	Table string `json:"table"`
	// Mode is full (SRMapping too, a full image every batch), delta, list
	// (SRMappingGroup), or skipped
	// (a list file that cannot be read, left out with a warning).
	Mode  string `json:"mode"`
	InZip bool   `json:"in_zip"`
	Bytes int64  `json:"bytes"`
	// SHA256 is the hex SHA-256 of the file's bytes as sragent read them.
	SHA256 string `json:"sha256,omitempty"`
	// Events are the rows published (deletes included); DeadLetters the
	// rows sent to the dead-letter topic.
	Events      int64 `json:"events"`
	Deletes     int64 `json:"deletes"`
	DeadLetters int64 `json:"dead_letters"`
	// Unchanged are rows not published: their image is the one last
	// published for their key (unchanged.suppress).
	Unchanged int64 `json:"unchanged"`
	// SameAs names the batch whose full file of the table had the same
	// bytes, converted the same way, with no key of the table changed
	// since: the file was not read again, and every row is unchanged.
	SameAs string `json:"same_as,omitempty"`
	// Vanished are keys known for a full file's scope that it no longer
	// held; VanishedDeleted those removed (also in Events and Deletes).
	Vanished        int64 `json:"vanished"`
	VanishedDeleted int64 `json:"vanished_deleted"`
	// NulledCells are deleted rows' cells that did not convert, published
	// as null: each is also a warning.
	NulledCells int64 `json:"nulled_cells,omitempty"`
	// KeyOnlyUpserts are rows of a delta without RemovedData that held
	// only their key (upserts of otherwise null records): each is also a
	// warning.
	KeyOnlyUpserts int64 `json:"key_only_upserts,omitempty"`
	// Unlabelled are list ids the group's lists have no row of, published
	// with a null label (lists.labels).
	Unlabelled int64 `json:"unlabelled,omitempty"`
	// Continuity is how the file follows its table's chain in the
	// committed state ("" for list files).
	Continuity string `json:"continuity,omitempty"`
	Previous   string `json:"previous_batch,omitempty"`
	Catalogued bool   `json:"catalogued"`
	// Missing and Extra are header columns the catalogue lists but the
	// file lacks, and the file has but the catalogue lacks.
	Missing []string `json:"missing_columns,omitempty"`
	Extra   []string `json:"extra_columns,omitempty"`
}

// Result reports one batch. Reason and Problems never quote a cell.
type Result struct {
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	// Events, Deletes, DeadLetters and Unchanged total the files'.
	Events      int64 `json:"events"`
	Deletes     int64 `json:"deletes"`
	DeadLetters int64 `json:"dead_letters"`
	Unchanged   int64 `json:"unchanged"`
	// OrganisationsNew are the organisations (IDOrganisationVisibleTo)
	// the batch holds rows of that no earlier batch of its group did;
	// OrganisationsAbsent those earlier batches held that none of its
	// organisation-scoped full files holds.
	OrganisationsNew    []string `json:"organisations_new,omitempty"`
	OrganisationsAbsent []string `json:"organisations_absent,omitempty"`
	// Vanished and VanishedDeleted total the files' reconciliation.
	Vanished        int64 `json:"vanished"`
	VanishedDeleted int64 `json:"vanished_deleted"`
	// GapTables are the tables with a gap (Halted).
	GapTables []string `json:"gap_tables,omitempty"`
	// changed: Halted because files of a half-published batch changed;
	// the halt lifts when they are back as first published.
	changed bool
	// givenUp: a Conflict with a batch an operator gave up before, which
	// is moved away without halting the chain again.
	givenUp bool
	// CutOff is the manifest's DateExtractTo; SinceCutOff the time from the
	// chain's previous cut-off to this batch's folder stamp.
	CutOff      manifest.Stamp `json:"cut_off,omitzero"`
	SinceCutOff float64        `json:"days_since_previous_cut_off,omitempty"`
	Files       []*FileReport  `json:"files"`
	Problems    []Problem      `json:"problems"`
	// ProblemsOmitted counts problems beyond MaxProblems.
	ProblemsOmitted int64 `json:"problems_omitted"`
}

// problem adds p, bounded by MaxProblems.
func (r *Result) problem(p Problem) {
	// A file's problems, and warnings that sum up many rows, are never
	// left out: only single rows' are, past MaxProblems.
	if len(r.Problems) >= MaxProblems && p.Line > 1 && p.Rows == 0 {
		r.ProblemsOmitted++
		return
	}
	r.Problems = append(r.Problems, p)
}

// Errors counts the problems of error severity, omitted ones included
// (only row problems are ever omitted, and they are errors).
func (r *Result) Errors() int64 {
	n := r.ProblemsOmitted
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			n++
		}
	}
	return n
}
