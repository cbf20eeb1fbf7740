package producer

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/schemas"
)

// Reconcile modes: what happens to rows that vanished from a full file.
const (
	// ReconcileOff does not look for them.
	ReconcileOff = "off"
	// ReconcileReport counts them (end marker, batch END event, metrics,
	// validate) and deletes nothing.
	ReconcileReport = "report"
	// ReconcileDelete also removes them: a "d" event and a tombstone each,
	// in the transaction of the file's end marker.
	ReconcileDelete = "delete"
)

// ReconcileConfig is the reconcile section of the configuration: what
// happens to the keys known for a full file's scope that the file no
// longer holds. Its mapstructure tags are the keys under reconcile.
type ReconcileConfig struct {
	// Mode applies to organisations' tables (report by default).
	Mode string `mapstructure:"mode"`
	// Shared applies to shared tables (off by default): their files carry
	// no organisation, so the scope is the whole of the group's table.
	Shared string `mapstructure:"shared"`
	// MinRatio: nothing is deleted for a file holding fewer than this
	// share of the keys known for its scope (a truncated or header-only
	// file); it is warned about and counted instead.
	MinRatio float64 `mapstructure:"min_ratio"`
	// Tables override Mode (or Shared) per table, and give a table whose
	// full files hold only recent months its window.
	Tables map[string]TableReconcile `mapstructure:"tables"`
}

// TableReconcile is reconcile.tables.<Table>.
type TableReconcile struct {
	// Mode overrides the section's mode for the table ("": no override).
	Mode string `mapstructure:"mode"`
	// WindowColumn and WindowMonths limit a full file's scope to the
	// rows whose WindowColumn (a date-time column) falls in the
	// WindowMonths before the batch's cut-off, as SystmOne's "only the
	// last N months" option limits the file.
	WindowColumn string `mapstructure:"window_column"`
	WindowMonths int    `mapstructure:"window_months"`
}

// DefaultReconcile is what every unset reconcile key means.
func DefaultReconcile() ReconcileConfig {
	return ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileOff, MinRatio: 0.5, Tables: map[string]TableReconcile{}}
}

// Validate reports every invalid reconcile setting, naming its key.
func (c ReconcileConfig) Validate() error {
	var errs []error
	mode := func(key, m string, emptyOK bool) {
		switch m {
		case ReconcileOff, ReconcileReport, ReconcileDelete:
		case "":
			if emptyOK {
				return
			}
			fallthrough
		default:
			errs = append(errs, fmt.Errorf("%s: must be off, report or delete", key))
		}
	}
	mode("reconcile.mode", c.Mode, false)
	mode("reconcile.shared", c.Shared, false)
	if c.MinRatio < 0 || c.MinRatio > 1 {
		errs = append(errs, errors.New("reconcile.min_ratio: must be between 0 and 1"))
	}
	for name, t := range c.Tables {
		key := "reconcile.tables." + name
		mode(key+".mode", t.Mode, true)
		if (t.WindowColumn == "") != (t.WindowMonths == 0) || t.WindowMonths < 0 {
			errs = append(errs, fmt.Errorf("%s: window_column and a positive window_months go together", key))
		}
	}
	return errors.Join(errs...)
}

// table returns the settings of table t (names match whatever their
// case: configuration keys are not case-sensitive).
func (c ReconcileConfig) table(t *schemas.Table) (mode string, tr TableReconcile) {
	mode = c.Mode
	if !orgKeyed(t) {
		mode = c.Shared
	}
	for name, x := range c.Tables {
		if strings.EqualFold(name, t.Name) {
			tr = x
		}
	}
	if tr.Mode != "" {
		mode = tr.Mode
	}
	return mode, tr
}

// windowColumn returns the window column configured for table, or "".
func (c ReconcileConfig) windowColumn(table string) string {
	for name, x := range c.Tables {
		if strings.EqualFold(name, table) {
			return x.WindowColumn
		}
	}
	return ""
}

// orgKeyed reports whether a table's keys start with the organisation, so
// that a full file's scope is the organisations it holds; any other table
// is reconciled as a shared one.
func orgKeyed(t *schemas.Table) bool { return len(t.Key) > 0 && t.Key[0] == schemas.OrgColumn }

// scope is how a full file is reconciled.
type scope struct {
	mode string // ReconcileOff for a delta or a table without state
	// gen names the file in its vanish candidates (tablestate.Cursor).
	gen uint64
	// win is the window column's field (-1: no window); rows whose value
	// is from winFrom on (Unix ms) are in scope.
	win     int
	winFrom int64
	// blind: a dead letter's key could not be read, so nothing can be
	// known to have vanished (counted, never deleted).
	blind bool
}

// newScope works out how fw is reconciled, and for every file of a table
// with a window (deltas too: a delta that moves a row's date moves it in
// or out of the window) where the window column is; a window it cannot
// apply is a warning and no reconciliation (nothing can be known to be in
// scope).
func (p *Publisher) newScope(w *work, fw *fileWork) scope {
	sc := scope{mode: ReconcileOff, win: -1}
	if !fw.keeps {
		return sc
	}
	mode, tr := p.reconcile.table(fw.table)
	if tr.WindowColumn != "" {
		for i, c := range fw.tc.Columns() {
			if strings.EqualFold(c.Name, tr.WindowColumn) && c.Type.Temporal() {
				sc.win = i
			}
		}
	}
	if mode == ReconcileOff || !fw.full {
		return sc
	}
	sc.mode, sc.gen = mode, fileGen(w.batch.Group, w.batch.Name, fw.file.Name)
	switch {
	case tr.WindowColumn == "":
	case sc.win < 0:
		sc.mode = ReconcileOff
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Line: 1, Column: tr.WindowColumn,
			Reason: "reconcile window column is not a date-time column of the file: the file is not reconciled"})
	case w.cutOff.IsZero():
		sc.mode = ReconcileOff
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name,
			Reason: "the batch has no cut-off for the reconcile window: the file is not reconciled"})
	default:
		// Months as the UK calendar counts them, from the cut-off's day;
		// a calendar column holds wall-clock times, not instants.
		from := w.cutOff.In(manifest.London).AddDate(0, -tr.WindowMonths, 0)
		sc.winFrom = from.UnixMilli()
		if fw.tc.Columns()[sc.win].Type.Local() {
			sc.winFrom = manifest.LocalMilli(from.Year(), int(from.Month()), from.Day(), from.Hour(), from.Minute(), from.Second())
		}
	}
	return sc
}

// fileGen names a full file in its vanish candidates.
func fileGen(group, batch, file string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", group, batch, file)
	return h.Sum64() | 1
}
