package codec

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sragent/sragent/schemas"
)

// Store keys: a row's key as the table state stores it, its key columns
// in an encoding whose byte order is the order of their values (numbers
// big-endian with the sign flipped, strings with their zero bytes escaped
// and a terminator, as CockroachDB and FoundationDB encode keys). A file in
// key order then looks its keys up in the store's order, so each lookup
// continues where the last one stopped instead of seeking afresh; the Avro
// encoding (zigzag varints, low bits first) would scatter them.
const (
	strEscape = 0x00 // a zero byte of a string is written 0x00 0xff
	strEnd    = 0x01 // and the string ends with 0x00 0x01
)

// AppendStoreKey appends row's store key to dst.
func (tc *TableCodec) AppendStoreKey(dst []byte, row *Row) []byte {
	for _, k := range tc.l.keyFields {
		dst = appendOrdered(dst, row.Values[k])
	}
	return dst
}

// AppendStorePrefix appends the start of every store key of the table
// whose leading key columns are the strings lead (an organisation's keys).
func (tc *TableCodec) AppendStorePrefix(dst []byte, lead ...[]byte) []byte {
	for _, s := range lead {
		dst = appendOrderedBytes(dst, s)
	}
	return dst
}

// KeyRow decodes a store key of the table into a row that holds its key
// columns, every other field null.
func (tc *TableCodec) KeyRow(skey []byte, row *Row) error {
	l := tc.l
	row.Values, row.Removed = resize(row.Values, len(l.types)), true
	clear(row.Values)
	for _, k := range l.keyFields {
		v, n, ok := readOrdered(skey, keyKind(l.types[k]))
		if !ok {
			return errBadKey
		}
		row.Values[k], skey = v, skey[n:]
	}
	if len(skey) != 0 {
		return errBadKey
	}
	return nil
}

// KeyTypes returns the types of a registered key schema's key columns
// (its fields after "table", in order), which StoreKey reads a key with.
func KeyTypes(keySchema string) ([]schemas.Type, error) {
	fields, err := recordFieldList(keySchema, "")
	if err != nil {
		return nil, fmt.Errorf("key schema: %w", err)
	}
	var out []schemas.Type
	for i, f := range fields {
		if i == 0 && f.Name == "table" {
			continue
		}
		t, ok := fieldType(f.Type)
		if !ok {
			return nil, fmt.Errorf("key schema: field %s has no column type", f.Name)
		}
		out = append(out, t)
	}
	return out, nil
}

// StoreKey returns the table and the store key of an sragent Avro key
// (without its frame), as a table topic holds it, its key columns of the
// types the key's schema gives (KeyTypes: a table's key keeps the types
// its subject was first registered with, which need not be the
// catalogue's). The table is "" when key does not start with one; an
// error with a table is a key that does not fit the types.
func StoreKey(dst, key []byte, types []schemas.Type) (table string, skey []byte, err error) {
	n, name, ok := readBytes(key)
	if !ok {
		return "", nil, errBadKey
	}
	table, key = string(name), key[n:]
	if len(key) == 0 {
		return table, nil, errBadKey // every table has a key column
	}
	for i := 0; len(key) > 0 || i < len(types); i++ {
		if len(key) == 0 || i >= len(types) {
			return table, nil, errBadKey
		}
		kind := keyKind(types[i])
		var v Value
		switch kind {
		case Bool:
			if key[0] > 1 {
				return table, nil, errBadKey
			}
			v, key = Value{Kind: Bool, Int: int64(key[0])}, key[1:]
		case Float:
			if len(key) < 8 {
				return table, nil, errBadKey
			}
			v, key = Value{Kind: Float, Float: math.Float64frombits(binary.LittleEndian.Uint64(key))}, key[8:]
		case Str:
			m, b, ok := readBytes(key)
			if !ok {
				return table, nil, errBadKey
			}
			v, key = Value{Kind: Str, Bytes: b}, key[m:]
		default:
			x, m := readLong(key)
			if m <= 0 {
				return table, nil, errBadKey
			}
			v, key = Value{Kind: kind, Int: x}, key[m:]
		}
		dst = appendOrdered(dst, v)
	}
	return table, dst, nil
}

// keyKind is the kind of value a key column of type t holds.
func keyKind(t schemas.Type) Kind {
	switch t {
	case schemas.Long, schemas.DateTime, schemas.DateTimeMinutes, schemas.Calendar, schemas.CalendarMinutes, schemas.Boolean:
		return kindOf(t)
	case schemas.Double:
		return Float
	}
	return Str
}

func appendOrdered(dst []byte, v Value) []byte {
	switch v.Kind {
	case Str:
		return appendOrderedBytes(dst, v.Bytes)
	case Float:
		u := math.Float64bits(v.Float)
		if u>>63 == 1 {
			u = ^u
		} else {
			u |= 1 << 63
		}
		return binary.BigEndian.AppendUint64(dst, u)
	case Bool:
		return append(dst, byte(v.Int))
	}
	return binary.BigEndian.AppendUint64(dst, uint64(v.Int)^1<<63) // Int and Time
}

func appendOrderedBytes(dst, s []byte) []byte {
	for _, c := range s {
		if c == strEscape {
			dst = append(dst, strEscape, 0xff)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, strEscape, strEnd)
}

// readOrdered decodes one value of kind from the start of b.
func readOrdered(b []byte, kind Kind) (Value, int, bool) {
	switch kind {
	case Str:
		out := make([]byte, 0, len(b))
		for i := 0; i < len(b); i++ {
			if b[i] != strEscape {
				out = append(out, b[i])
				continue
			}
			if i+1 >= len(b) {
				break
			}
			switch b[i+1] {
			case strEnd:
				return Value{Kind: Str, Bytes: out}, i + 2, true
			case 0xff:
				out, i = append(out, 0), i+1
				continue
			}
			break
		}
		return Value{}, 0, false
	case Bool:
		if len(b) < 1 || b[0] > 1 {
			return Value{}, 0, false
		}
		return Value{Kind: Bool, Int: int64(b[0])}, 1, true
	}
	if len(b) < 8 {
		return Value{}, 0, false
	}
	u := binary.BigEndian.Uint64(b)
	if kind == Float {
		if u>>63 == 1 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		return Value{Kind: Float, Float: math.Float64frombits(u)}, 8, true
	}
	return Value{Kind: kind, Int: int64(u ^ 1<<63)}, 8, true
}
