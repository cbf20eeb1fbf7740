package schemas

import "slices"

// Pins are the fields a table's subjects already hold, by field name, with
// the type each was first published with (read from the registered
// schemas): Key the key record's, Value the row record's. A field never
// changes type, so Pinned keeps these.
type Pins struct {
	Key, Value map[string]Type
}

// Pinned returns t with every column whose registered Avro type differs
// from its own given the registered type (a logical type alone, such as
// an instant becoming a calendar date, is not a different Avro type), and
// the names of the columns it changed. A table not in the catalogue whose
// registered key has no IDOrganisationVisibleTo stays keyed without it,
// so that a header that gains the column does not change the key.
func (t *Table) Pinned(p Pins) (*Table, []string) {
	c := *t
	c.Columns = slices.Clone(t.Columns)
	var changed []string
	for i, col := range c.Columns {
		reg, ok := p.Value[col.Name]
		if k, isKey := p.Key[col.Name]; isKey && slices.Contains(t.Key, col.Name) {
			reg, ok = k, true
		}
		if ok && reg.avroPrimitive() != col.Type.avroPrimitive() {
			c.Columns[i].Type, c.Columns[i].Ref = reg, ""
			changed = append(changed, col.Name)
		}
	}
	if _, has := p.Key[OrgColumn]; !t.Known && len(p.Key) > 0 && !has && c.Scope == Organisation {
		c.Scope, c.Key = Shared, slices.DeleteFunc(slices.Clone(t.Key), func(k string) bool { return k == OrgColumn })
	}
	// A table first keyed by its row hash stays so when its header gains
	// RowIdentifier (the key would otherwise change).
	if _, hashed := p.Key[RowHash]; !t.Known && hashed && slices.Contains(c.Key, RowIdentifier) {
		c.Key = slices.Clone(c.Key)
		c.Key[slices.Index(c.Key, RowIdentifier)] = RowHash
		if _, ok := c.Column(RowHash); !ok {
			c.Columns = append([]Column{{Name: RowHash, Type: String}}, c.Columns...)
		}
	}
	return &c, changed
}

// avroPrimitive names the Avro type that carries a column type.
func (t Type) avroPrimitive() string {
	switch {
	case t == Long, t.Temporal():
		return "long"
	case t == Double:
		return "double"
	case t == Boolean:
		return "boolean"
	}
	return "string"
}

// TypeOfAvro is the column type of a registered field's Avro type: its
// primitive type and logical type (a column type Pinned can give back).
func TypeOfAvro(primitive, logical string) (Type, bool) {
	switch {
	case primitive == "string":
		return String, true
	case primitive == "long" && logical == "timestamp-millis":
		return DateTime, true
	case primitive == "long" && logical == "local-timestamp-millis":
		return Calendar, true
	case primitive == "long":
		return Long, true
	case primitive == "double":
		return Double, true
	case primitive == "boolean":
		return Boolean, true
	}
	return 0, false
}
