package codec

import (
	"encoding/binary"
	"errors"

	"github.com/sragent/sragent/schemas"
)

// Keys without rows: a key's table, and a bad record's key.

var errBadKey = errors.New("not a key of this table")

// KeyTable returns the table an sragent key (without its frame) belongs
// to: its first field.
func KeyTable(key []byte) (string, bool) {
	_, b, ok := readBytes(key)
	return string(b), ok
}

func kindOf(t schemas.Type) Kind {
	switch t {
	case schemas.DateTime, schemas.DateTimeMinutes, schemas.Calendar, schemas.CalendarMinutes:
		return Time
	case schemas.Boolean:
		return Bool
	}
	return Int
}

func resize(v []Value, n int) []Value {
	if cap(v) < n {
		return make([]Value, n)
	}
	return v[:n]
}

func readLong(b []byte) (int64, int) {
	u, n := binary.Uvarint(b)
	return int64(u>>1) ^ -int64(u&1), n
}

func readBytes(b []byte) (int, []byte, bool) {
	size, n := readLong(b)
	if n <= 0 || size < 0 || int64(len(b)-n) < size {
		return 0, nil, false
	}
	return n + int(size), b[n : n+int(size)], true
}

// KeyRow converts only the key cells of the record last read (also one
// that did not convert as a whole, a dead letter), so that its key is
// known; false when they do not convert either.
func (s *Scanner) KeyRow() (*Row, bool) {
	l := s.Layout
	if s.fields == nil || len(s.fields) != len(l.colField) {
		return nil, false
	}
	s.row.Values = resize(s.row.Values, len(l.types))
	clear(s.row.Values)
	for i, f := range s.fields {
		fi := l.colField[i]
		if fi < 0 || !l.isKey(fi) {
			continue
		}
		if len(f) == 0 || s.conv.cell(l.types[fi], f, &s.row.Values[fi]) != nil {
			return nil, false
		}
	}
	for _, k := range l.keyFields {
		if s.row.Values[k].Kind == Null {
			return nil, false
		}
	}
	return &s.row, true
}

// KeyOnly reports whether a row holds nothing but its key: every other
// field null.
func (tc *TableCodec) KeyOnly(row *Row) bool {
	for i, v := range row.Values {
		if v.Kind != Null && !tc.l.isKey(i) {
			return false
		}
	}
	return true
}

func (l *Layout) isKey(field int) bool {
	for _, k := range l.keyFields {
		if k == field {
			return true
		}
	}
	return false
}

// Columns returns the fields of the table's value record, in the order of
// Row.Values.
func (tc *TableCodec) Columns() []schemas.Column { return tc.l.Table.Columns }
