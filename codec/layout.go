package codec

import (
	"errors"
	"fmt"

	"github.com/sragent/sragent/schemas"
)

// The mapping of a file's header onto its table (catalogued or dynamic).

// Layout maps the columns of one file's header onto its table's fields.
// It is built once per file; Convert then runs per row.
type Layout struct {
	// Table is the effective table: the catalogue entry plus any extra
	// header columns (as optional strings), or a dynamic all-string table.
	Table *schemas.Table
	// Header is the file's header, decoded.
	Header []string
	// Missing lists catalogued columns absent from the header; they are
	// null in every row.
	Missing []string
	// Extra lists header columns the catalogue does not know.
	Extra []string
	// Renamed maps header names that are not valid Avro names to the
	// field names they were given.
	Renamed map[string]string
	// HasRemovedData tells whether the file carries RemovedData.
	HasRemovedData bool
	// Pinned are the columns published with the type their field was
	// first registered with rather than the catalogue's.
	Pinned []string
	// Labelled are the list columns given a label field (Options.Labels).
	Labelled []string

	colField   []int // CSV column → field index, or -1 for RemovedData
	absent     []int // fields no CSV column fills: always null
	types      []schemas.Type
	keyFields  []int
	removedCol int
	rowHash    int // the schemas.RowHash field the converter computes, or -1
	labels     []labelField
}

// labelField is a label field the converter fills from its list column.
type labelField struct {
	field, src int
	ref        string // the list table
}

// Options change how a header maps onto its table.
type Options struct {
	// Pins are the fields the table's subjects already hold: each keeps
	// the type it was registered with (schemas.Table.Pinned).
	Pins schemas.Pins
	// Labels gives every list column of a catalogued table a label field
	// (schemas.Table.WithLabels), which the converter fills from the
	// lists given to it (Converter.SetLabels).
	Labels bool
}

// HeaderError is a header that cannot be mapped: the file is unusable.
type HeaderError struct {
	// Column is the 1-based header position, or 0 when no single column is
	// at fault.
	Column int
	Err    error
}

// Error describes the problem by position and cause, never by content.
func (e *HeaderError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("header field %d: %v", e.Column, e.Err)
	}
	return "header: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *HeaderError) Unwrap() error { return e.Err }

// NewLayout maps header onto table (the manifest FileName). A table not in
// the catalogue gets a dynamic all-string layout.
func NewLayout(table string, header [][]byte) (*Layout, error) {
	return NewLayoutWith(table, header, Options{})
}

// NewLayoutWith is NewLayout with options. With pins, every field the
// table's subjects hold keeps the type it was registered with;
// Layout.Pinned names the columns that differ from the catalogue's (or the
// dynamic layout's) type.
func NewLayoutWith(table string, header [][]byte, opt Options) (*Layout, error) {
	l := &Layout{removedCol: -1, Renamed: map[string]string{}}
	seen := make(map[string]int, len(header))
	for i, h := range header {
		name := string(h)
		if name == "" {
			return nil, &HeaderError{Column: i + 1, Err: errors.New("empty column name")}
		}
		if j, dup := seen[name]; dup {
			return nil, &HeaderError{Column: i + 1, Err: fmt.Errorf("column %s repeats field %d", name, j)}
		}
		seen[name] = i + 1
		l.Header = append(l.Header, name)
	}
	base, known := schemas.Lookup(table)
	if _, ok := seen[schemas.RowIdentifier]; !ok && known {
		return nil, &HeaderError{Err: errors.New("no RowIdentifier column")}
	}
	if !known {
		base = schemas.Dynamic(table, l.Header)
	}
	for _, h := range l.Header {
		if _, ok := base.Column(h); !ok && h != schemas.RemovedData {
			l.Extra = append(l.Extra, h)
		}
	}
	extra := make([]string, len(l.Extra))
	for i, h := range l.Extra {
		extra[i] = schemas.SanitizeName(h)
		if extra[i] != h {
			l.Renamed[h] = extra[i]
		}
	}
	if known {
		l.Table = base.WithExtra(extra)
		if opt.Labels {
			l.Table = l.Table.WithLabels()
		}
		for _, c := range base.Columns {
			if _, ok := seen[c.Name]; !ok {
				l.Missing = append(l.Missing, c.Name)
			}
		}
	} else {
		l.Table = schemas.Dynamic(table, sanitizeAll(l.Header))
	}
	l.Table, l.Pinned = l.Table.Pinned(opt.Pins)
	fieldIdx := make(map[string]int, len(l.Table.Columns))
	for i, c := range l.Table.Columns {
		if j, dup := fieldIdx[c.Name]; dup {
			return nil, &HeaderError{Err: fmt.Errorf("columns %d and %d map to the same field name %s", j+1, i+1, c.Name)}
		}
		fieldIdx[c.Name] = i
		l.types = append(l.types, c.Type)
	}
	for _, h := range l.Header {
		if h == schemas.RemovedData {
			l.removedCol = len(l.colField)
			l.HasRemovedData = true
			l.colField = append(l.colField, -1)
			continue
		}
		name := h
		if r, ok := l.Renamed[h]; ok {
			name = r
		} else if !known {
			name = schemas.SanitizeName(h)
		}
		l.colField = append(l.colField, fieldIdx[name])
	}
	filled := make([]bool, len(l.types))
	for _, fi := range l.colField {
		if fi >= 0 {
			filled[fi] = true
		}
	}
	l.rowHash = -1
	if fi, ok := fieldIdx[schemas.RowHash]; ok && !filled[fi] && !known {
		l.rowHash, filled[fi] = fi, true // computed from the other cells
	}
	for fi, c := range l.Table.Columns {
		if src, ok := fieldIdx[c.LabelOf]; ok && c.LabelOf != "" {
			// A list column pinned to another type has no Ref: its
			// label stays null.
			if ref := l.Table.Columns[src].Ref; ref != "" && l.types[src] == schemas.Long {
				l.labels = append(l.labels, labelField{field: fi, src: src, ref: ref})
				l.Labelled = append(l.Labelled, c.LabelOf)
				filled[fi] = true
			}
		}
	}
	for fi, ok := range filled {
		if !ok {
			l.absent = append(l.absent, fi)
		}
	}
	for _, k := range l.Table.Key {
		if _, ok := seen[k]; !ok && fieldIdx[k] != l.rowHash {
			return nil, &HeaderError{Err: fmt.Errorf("no %s column, which %s is keyed by", k, table)}
		}
		l.keyFields = append(l.keyFields, fieldIdx[k])
	}
	return l, nil
}

// KeyedByRowHash reports whether rows are keyed by the hash of their
// cells (schemas.RowHash): the file has no RowIdentifier.
func (l *Layout) KeyedByRowHash() bool { return l.rowHash >= 0 }

func sanitizeAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = schemas.SanitizeName(n)
	}
	return out
}
