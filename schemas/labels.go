package schemas

import "slices"

// List labels: the display text of the list ids some columns hold
// (sr-format §6.4), as extra fields next to them.

// LabelSuffix ends the name of a label field: SpeaksEnglish_label holds
// the text of the SRMapping row whose id SpeaksEnglish holds.
const LabelSuffix = "_label"

// List tables whose rows give the labels: the table, and the column of
// each row that holds the display text (the id is its RowIdentifier).
const (
	Mapping          = "SRMapping"
	ConfiguredOption = "SRConfiguredListOption"
)

// labelColumns are the text columns of the list tables.
var labelColumns = map[string]string{Mapping: "Mapping", ConfiguredOption: "ConfiguredListOption"}

// LabelColumn returns the column of list table ref that holds the display
// text of its rows, or "" when ref is not a list table.
func LabelColumn(ref string) string { return labelColumns[ref] }

// WithLabels returns a copy of t with a label field (an optional string,
// LabelOf naming the column) right after every column that holds a list
// id, unless the table already has a column of that name. A table without
// list columns is returned as it is.
func (t *Table) WithLabels() *Table {
	if !slices.ContainsFunc(t.Columns, func(c Column) bool { return c.Ref != "" }) {
		return t
	}
	c := *t
	c.Columns = make([]Column, 0, len(t.Columns)+4)
	for _, col := range t.Columns {
		c.Columns = append(c.Columns, col)
		name := col.Name + LabelSuffix
		if _, clash := t.Column(name); col.Ref != "" && !clash {
			c.Columns = append(c.Columns, Column{Name: name, Type: String, LabelOf: col.Name})
		}
	}
	return &c
}
