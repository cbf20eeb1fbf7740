package codec

import (
	"encoding/binary"
	"errors"

	"github.com/sragent/sragent/schemas"
)

// Keys without rows: the parts of a key a table-state scan seeks by, a
// key's row for a delete known only by its key, and a bad record's key.

// AppendKeyPrefix appends the start of every key of the table whose
// leading key columns are the strings lead (an organisation's keys).
func (tc *TableCodec) AppendKeyPrefix(dst []byte, lead ...[]byte) []byte {
	dst = appendString(dst, tc.l.Table.Name)
	for _, s := range lead {
		dst = appendBytes(dst, s)
	}
	return dst
}

var errBadKey = errors.New("not a key of this table")

// KeyTable returns the table an sragent key (without its frame) belongs
// to: its first field.
func KeyTable(key []byte) (string, bool) {
	_, b, ok := readBytes(key)
	return string(b), ok
}

// KeyRow decodes key (an Avro key of the table, without its frame) into a
// row that holds its key columns, every other field null.
func (tc *TableCodec) KeyRow(key []byte, row *Row) error {
	l := tc.l
	row.Values, row.Removed = resize(row.Values, len(l.types)), true
	clear(row.Values)
	n, b, ok := readBytes(key)
	if !ok || string(b) != l.Table.Name {
		return errBadKey
	}
	key = key[n:]
	for _, k := range l.keyFields {
		v := &row.Values[k]
		switch l.types[k] {
		case schemas.Long, schemas.DateTime, schemas.DateTimeMinutes, schemas.Boolean:
			x, m := readLong(key)
			if m <= 0 {
				return errBadKey
			}
			*v, key = Value{Kind: kindOf(l.types[k]), Int: x}, key[m:]
		default:
			m, b, ok := readBytes(key)
			if !ok {
				return errBadKey
			}
			*v, key = Value{Kind: Str, Bytes: b}, key[m:]
		}
	}
	if len(key) != 0 {
		return errBadKey
	}
	return nil
}

func kindOf(t schemas.Type) Kind {
	switch t {
	case schemas.DateTime, schemas.DateTimeMinutes:
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
