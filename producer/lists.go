package producer

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer/tablestate"
	"github.com/sragent/sragent/schemas"
)

// List labels (lists.labels): the text of the list ids that list columns
// hold, from the group's latest lists.

// listTables are the tables whose rows give labels.
var listTables = []string{schemas.Mapping, schemas.ConfiguredOption}

// batchLists are the lists that label a batch's rows: the group's lists as
// the table state keeps them, updated by the batch's own list files (a
// full file replaces its list, a delta changes it). They implement
// codec.Labels.
type batchLists struct {
	byList  map[string]map[int64][]byte
	changed map[string]bool // lists the batch's files changed
}

// Label returns the text of the row id of list table ref.
func (bl *batchLists) Label(ref string, id int64) ([]byte, bool) {
	text, ok := bl.byList[ref][id]
	return text, ok
}

// copy returns bl for another batch: the lists are shared (a list file
// makes a new one, never changes one in place), the changes are not.
func (bl *batchLists) copy() *batchLists {
	return &batchLists{byList: maps.Clone(bl.byList), changed: map[string]bool{}}
}

// lists reads group's lists from the table state (none without one, or
// after it failed; a dry run reads them from a store it does not trust,
// the best prediction it has).
func (ts *tables) lists(group string) (*batchLists, error) {
	bl := &batchLists{byList: map[string]map[int64][]byte{}, changed: map[string]bool{}}
	for _, list := range listTables {
		m := map[int64][]byte{}
		bl.byList[list] = m
		if ts == nil || ts.store == nil || ts.broken {
			continue
		}
		err := ts.store.Labels(group, list, func(id int64, text []byte) { m[id] = bytes.Clone(text) })
		if err != nil {
			return nil, fmt.Errorf("read the lists of %s: %w", group, err)
		}
	}
	return bl, nil
}

// reader returns what folds the records of list file f (laid out by l)
// into a copy of its list, and what then makes that copy the batch's list
// (once the file is read and will be published); nil for a file that is
// not a list table's or has no id or text column (its rows then label
// nothing, which missing labels show). A record is converted as publishing
// converts it: a dead letter gives no label.
func (bl *batchLists) reader(f *manifest.File, l *codec.Layout) (fold func(fields [][]byte), done func()) {
	field := func(name string, typ schemas.Type) int {
		i := slices.IndexFunc(l.Table.Columns, func(c schemas.Column) bool { return c.Name == name })
		if i < 0 || l.Table.Columns[i].Type != typ || !slices.Contains(l.Header, name) {
			return -1
		}
		return i
	}
	idField, textField := field(schemas.RowIdentifier, schemas.Long), field(schemas.LabelColumn(f.Table), schemas.String)
	old := bl.byList[f.Table]
	if old == nil || idField < 0 || textField < 0 {
		return nil, nil
	}
	next := map[int64][]byte{}
	if !f.Full() {
		next = maps.Clone(old) // a delta changes the list it had
	}
	conv := codec.NewConverter(l)
	var row codec.Row
	fold = func(fields [][]byte) {
		if conv.Convert(fields, &row) != nil {
			return // a dead letter when published
		}
		id := row.Values[idField].Int
		if row.Removed {
			delete(next, id)
		} else {
			next[id] = bytes.Clone(row.Values[textField].Bytes) // empty for a null text
		}
	}
	return fold, func() { bl.byList[f.Table], bl.changed[f.Table] = next, true }
}

// save writes the lists the batch changed into its last transaction's
// table-state changes, so that they commit with its last checkpoint.
func (bl *batchLists) save(sb *tablestate.Batch) error {
	for _, list := range listTables {
		if bl.changed[list] {
			if err := sb.SetLabels(list, bl.byList[list]); err != nil {
				return err
			}
		}
	}
	return nil
}
