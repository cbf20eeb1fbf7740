package codec

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/sragent/sragent/schemas"
)

// Cell conversion: a record's fields to a typed Row under a Layout.

// Kind is the type of a converted cell.
type Kind uint8

// Cell kinds.
const (
	Null Kind = iota
	Str
	Int
	Float
	Bool
	Time
)

// Value is one converted cell. Str values alias the reader's buffer and
// are valid until the next Read; Int also carries Bool (0/1) and Time
// (Unix milliseconds, or for a calendar column the local-timestamp-millis
// of its UK wall-clock time).
type Value struct {
	Kind  Kind
	Int   int64
	Float float64
	Bytes []byte
}

// Row is one converted record.
type Row struct {
	// Values holds one value per field of the layout's table.
	Values []Value
	// Removed is RemovedData=1.
	Removed bool
	// Nulled are the cells of a deleted row that did not convert: a
	// delete needs only its key, so they are null in its image instead of
	// making the row a dead letter. Reset by every Convert.
	Nulled []CellError
	// Unlabelled are the list columns whose id the lists hold no row of:
	// their label fields are null (Options.Labels). Reset by every
	// Convert.
	Unlabelled []string
}

// CellError is a cell that does not convert; only its row is bad.
type CellError struct {
	// Column is the header name of the cell (empty when the whole row is
	// at fault, e.g. a wrong field count).
	Column string
	// Field is the 1-based position in the record, or 0.
	Field int
	Err   error
}

// Error describes the problem by position and cause, never by content.
func (e *CellError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("column %s: %v", e.Column, e.Err)
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *CellError) Unwrap() error { return e.Err }

// Converter turns records into typed rows for one layout.
type Converter struct {
	l      *Layout
	clock  *Clock
	hash   [32]byte // the hex row hash of the last row (Layout.rowHash)
	labels Labels
}

// NewConverter returns a Converter for l. Each goroutine needs its own.
func NewConverter(l *Layout) *Converter {
	return &Converter{l: l, clock: NewClock(nil)}
}

// Convert fills row from the record's fields. It returns a *CellError when
// the record does not fit the layout; no error text ever quotes a cell.
func (c *Converter) Convert(fields [][]byte, row *Row) error {
	l := c.l
	if len(fields) != len(l.colField) {
		err := &CellError{Err: newFault(ReasonFieldCount, fmt.Sprintf("%d fields, header has %d", len(fields), len(l.colField)))}
		return c.salvageDelete(fields, row, err)
	}
	if cap(row.Values) < len(l.types) {
		row.Values = make([]Value, len(l.types))
	}
	row.Values = row.Values[:len(l.types)]
	for _, fi := range l.absent {
		row.Values[fi] = Value{}
	}
	row.Removed, row.Nulled, row.Unlabelled = false, row.Nulled[:0], row.Unlabelled[:0]
	// A delete's non-key cells may be bad: known before they are read.
	deleting := l.removedCol >= 0 && string(trimSpaces(fields[l.removedCol])) == "1"
	for i, f := range fields {
		fi := l.colField[i]
		if fi < 0 {
			switch string(trimSpaces(f)) {
			case "1":
				row.Removed = true
			case "0", "":
			default:
				return &CellError{Column: schemas.RemovedData, Field: i + 1, Err: newFault(ReasonRemovedData, "not 1, 0 or empty")}
			}
			continue
		}
		if t := l.types[fi]; t != schemas.String && len(f) > 0 && (isSpace(f[0]) || isSpace(f[len(f)-1])) {
			f = trimSpaces(f) // typed cells ignore surrounding spaces, as Endeavour's reader did
		}
		if len(f) == 0 {
			row.Values[fi] = Value{}
			continue
		}
		if err := c.cell(l.types[fi], f, &row.Values[fi]); err != nil {
			if !deleting || l.isKey(fi) {
				return &CellError{Column: l.Header[i], Field: i + 1, Err: err}
			}
			row.Values[fi] = Value{}
			row.Nulled = append(row.Nulled, CellError{Column: l.Header[i], Field: i + 1, Err: err})
		}
	}
	if l.rowHash >= 0 {
		c.rowHash(fields, &row.Values[l.rowHash])
	}
	for _, k := range l.keyFields {
		if row.Values[k].Kind == Null {
			return &CellError{Column: l.Table.Columns[k].Name, Err: newFault(ReasonEmptyKey, "key column is empty")}
		}
	}
	c.label(row)
	return nil
}

// salvageDelete converts a record with more fields than the header (an
// unquoted comma in a text cell) when it is still certainly a delete of a
// known key: RemovedData is the header's last column and the record's last
// field is 1, the key columns are the header's first, and only the last of
// them may be text (where a stray comma could shift the cells after it).
// The row is then its key alone, every other cell null and the field count
// in Nulled; otherwise it returns fault. A record with fewer fields (a
// record cut by a newline) is never salvaged: its last field need not be
// RemovedData.
func (c *Converter) salvageDelete(fields [][]byte, row *Row, fault *CellError) error {
	l := c.l
	if len(fields) <= len(l.colField) || l.removedCol != len(l.colField)-1 || string(trimSpaces(fields[len(fields)-1])) != "1" || l.rowHash >= 0 {
		return fault
	}
	for i := range l.keyFields {
		fi := l.colField[i]
		if fi < 0 || !l.isKey(fi) || (l.types[fi] == schemas.String && i < len(l.keyFields)-1) {
			return fault
		}
	}
	if cap(row.Values) < len(l.types) {
		row.Values = make([]Value, len(l.types))
	}
	row.Values = row.Values[:len(l.types)]
	clear(row.Values)
	row.Removed, row.Nulled, row.Unlabelled = true, append(row.Nulled[:0], *fault), row.Unlabelled[:0]
	for i, fi := range l.colField {
		if fi < 0 || !l.isKey(fi) || i >= len(fields) {
			continue
		}
		f := trimSpaces(fields[i])
		if l.types[fi] == schemas.String {
			f = fields[i]
		}
		if len(f) == 0 {
			return &CellError{Column: l.Table.Columns[fi].Name, Err: newFault(ReasonEmptyKey, "key column is empty")}
		}
		if err := c.cell(l.types[fi], f, &row.Values[fi]); err != nil {
			return &CellError{Column: l.Header[i], Field: i + 1, Err: err}
		}
	}
	for _, k := range l.keyFields {
		if row.Values[k].Kind == Null {
			return fault
		}
	}
	return nil
}

// rowHash sets v to the hex SHA-256 (first 16 bytes) of the record's
// cells, each length-prefixed, RemovedData left out: the same cells, the
// same key, whether the row is a delete or not.
func (c *Converter) rowHash(fields [][]byte, v *Value) {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for i, f := range fields {
		if i == c.l.removedCol {
			continue
		}
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write(f)
	}
	var sum [sha256.Size]byte
	hex.Encode(c.hash[:], h.Sum(sum[:0])[:16])
	*v = Value{Kind: Str, Bytes: c.hash[:]}
}

var (
	errNotInteger = newFault(ReasonNotInteger, "not an integer")
	errOverflow   = newFault(ReasonOverflow, "integer out of int64 range")
	errNotBool    = newFault(ReasonNotBoolean, "not TRUE, FALSE, 1 or 0")
	errNotNumber  = newFault(ReasonNotNumber, "not a decimal number")
)

func (c *Converter) cell(t schemas.Type, f []byte, v *Value) error {
	switch t {
	case schemas.Long:
		n, err := ParseInt(f)
		if err != nil {
			return err
		}
		*v = Value{Kind: Int, Int: n}
	case schemas.DateTime, schemas.DateTimeMinutes:
		ms, err := c.clock.ParseDateTime(f, t.Minutes())
		if err != nil {
			return err
		}
		*v = Value{Kind: Time, Int: ms}
	case schemas.Calendar, schemas.CalendarMinutes:
		ms, err := ParseLocal(f, t.Minutes())
		if err != nil {
			return err
		}
		*v = Value{Kind: Time, Int: ms}
	case schemas.Boolean:
		b, err := parseBool(f)
		if err != nil {
			return err
		}
		*v = Value{Kind: Bool, Int: b}
	case schemas.Double:
		if !plainDecimal(f) {
			return errNotNumber
		}
		x, err := strconv.ParseFloat(string(f), 64)
		if err != nil || math.IsInf(x, 0) {
			return errNotNumber
		}
		*v = Value{Kind: Float, Float: x}
	default:
		*v = Value{Kind: Str, Bytes: f}
	}
	return nil
}

// trimSpaces drops the spaces and tabs around a cell.
func trimSpaces(f []byte) []byte {
	for len(f) > 0 && isSpace(f[0]) {
		f = f[1:]
	}
	for len(f) > 0 && isSpace(f[len(f)-1]) {
		f = f[:len(f)-1]
	}
	return f
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// plainDecimal reports whether f is a decimal number as Java's
// Double.parseDouble reads one (Endeavour's reader): an optional sign,
// digits with at most one point and digits on at least one side, and an
// optional exponent (1.0E-5); not Go's wider syntax (0x1p4, 1_000, Inf,
// NaN), which no SR file writes and a typo could hit.
func plainDecimal(f []byte) bool {
	sign := func(f []byte) []byte {
		if len(f) > 0 && (f[0] == '-' || f[0] == '+') {
			return f[1:]
		}
		return f
	}
	f = sign(f)
	digits, point := 0, false
	for i, ch := range f {
		switch {
		case ch >= '0' && ch <= '9':
			digits++
		case ch == '.' && !point:
			point = true
		case (ch == 'e' || ch == 'E') && digits > 0:
			exp := sign(f[i+1:])
			for _, d := range exp {
				if d < '0' || d > '9' {
					return false
				}
			}
			return len(exp) > 0
		default:
			return false
		}
	}
	return digits > 0
}

// ParseInt parses a decimal int64 with an optional sign, without
// allocating; surrounding spaces are allowed.
func ParseInt(b []byte) (int64, error) {
	if len(b) > 0 && len(b) <= 18 && b[0] != ' ' && b[len(b)-1] != ' ' {
		// Up to 18 characters cannot overflow: no checks per digit.
		neg := b[0] == '-'
		if neg || b[0] == '+' {
			b = b[1:]
			if len(b) == 0 {
				return 0, errNotInteger
			}
		}
		var n int64
		for _, ch := range b {
			if ch-'0' > 9 {
				return 0, errNotInteger
			}
			n = n*10 + int64(ch-'0')
		}
		if neg {
			return -n, nil
		}
		return n, nil
	}
	return parseIntSlow(b)
}

func parseIntSlow(b []byte) (int64, error) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, errNotInteger
	}
	var n uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, errNotInteger
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, errOverflow
		}
		n = n*10 + uint64(ch-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, errOverflow
		}
		return -int64(n), nil
	}
	if n > math.MaxInt64 {
		return 0, errOverflow
	}
	return int64(n), nil
}

func parseBool(b []byte) (int64, error) {
	switch len(b) {
	case 1:
		switch b[0] {
		case '1':
			return 1, nil
		case '0':
			return 0, nil
		}
	case 4:
		if b[0]|0x20 == 't' && b[1]|0x20 == 'r' && b[2]|0x20 == 'u' && b[3]|0x20 == 'e' {
			return 1, nil
		}
	case 5:
		if b[0]|0x20 == 'f' && b[1]|0x20 == 'a' && b[2]|0x20 == 'l' && b[3]|0x20 == 's' && b[4]|0x20 == 'e' {
			return 0, nil
		}
	}
	return 0, errNotBool
}
