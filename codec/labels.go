package codec

// List labels: the label fields of a layout (Options.Labels), filled from
// the lists a converter is given.

// Labels are the lists that give list ids their text.
type Labels interface {
	// Label returns the text of the row id of list table ref, and false
	// when the lists hold no such row.
	Label(ref string, id int64) ([]byte, bool)
}

// SetLabels gives the converter the lists that fill the layout's label
// fields; without them (nil) every list id is unlabelled.
func (c *Converter) SetLabels(l Labels) { c.labels = l }

// label fills the label fields of row from its list ids: null for no id
// (an empty cell, or 0 and below, SystmOne's "no value") or an empty
// text, and for an id the lists hold no row of, which Unlabelled then
// names.
func (c *Converter) label(row *Row) {
	for _, lf := range c.l.labels {
		id := row.Values[lf.src]
		row.Values[lf.field] = Value{}
		if id.Kind != Int || id.Int <= 0 {
			continue
		}
		var text []byte
		ok := false
		if c.labels != nil {
			text, ok = c.labels.Label(lf.ref, id.Int)
		}
		switch {
		case ok && len(text) > 0:
			row.Values[lf.field] = Value{Kind: Str, Bytes: text}
		case !ok:
			row.Unlabelled = append(row.Unlabelled, c.l.Table.Columns[lf.src].Name)
		}
	}
}
