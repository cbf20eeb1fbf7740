package codec

import (
	"fmt"

	"github.com/linkedin/goavro/v2"

	"github.com/sragent/sragent/schemas"
)

// AvroCodec is the small Avro interface sragent needs: binary encoding of
// a native datum and decoding back. goavro implements it today; another
// library can replace it behind NewAvroCodec.
type AvroCodec interface {
	// Append appends the binary encoding of datum to dst.
	Append(dst []byte, datum any) ([]byte, error)
	// Decode decodes one binary datum.
	Decode(b []byte) (any, error)
	// Schema returns the schema text the codec was built from.
	Schema() string
}

type goavroCodec struct{ c *goavro.Codec }

// NewAvroCodec parses an Avro schema.
func NewAvroCodec(schema string) (AvroCodec, error) {
	c, err := goavro.NewCodec(schema)
	if err != nil {
		return nil, fmt.Errorf("parse avro schema: %w", err)
	}
	return goavroCodec{c}, nil
}

func (g goavroCodec) Append(dst []byte, datum any) ([]byte, error) {
	return g.c.BinaryFromNative(dst, datum)
}

func (g goavroCodec) Decode(b []byte) (any, error) {
	v, rest, err := g.c.NativeFromBinary(b)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after avro datum", len(rest))
	}
	return v, nil
}

func (g goavroCodec) Schema() string { return g.c.Schema() }

// Op is the envelope's op code.
type Op byte

// Change-event operations (Debezium's codes).
const (
	OpRead   Op = 'r' // a row of a full file
	OpCreate Op = 'c' // a delta upsert
	OpUpdate Op = 'u'
	OpDelete Op = 'd' // RemovedData=1
)

// OpFor returns the op of a row: d for RemovedData=1, r for a row of a
// full file, u for a delta row (a full current image; SR does not say
// whether the row is new, so every delta row is an upsert).
func OpFor(snapshot, removed bool) Op {
	switch {
	case removed:
		return OpDelete
	case snapshot:
		return OpRead
	}
	return OpUpdate
}

// Source is where an event came from.
type Source struct {
	Version, Name, Group, Batch, Table, File string
	Line                                     int64
	Snapshot                                 bool
	// ExtractFrom and ExtractTo are Unix ms; nil when the manifest row
	// has no date.
	ExtractFrom, ExtractTo *int64
	// CutOff is the batch's extract cut-off (Unix ms, source.ts_ms); nil
	// when the manifest has no date.
	CutOff *int64
}

// Event is one change event of a row.
type Event struct {
	Op     Op
	Row    *Row
	Source Source
	TsMs   int64
}

// TableCodec encodes the keys and values of one file layout. Rows are
// written straight to Avro binary (see binary.go): the schemas are
// sragent's own and simple, and this is the hot path. goavro parses the
// schemas, encodes markers, and is the oracle a test compares every byte
// against. A TableCodec is not safe for concurrent use.
type TableCodec struct {
	l          *Layout
	Avro       schemas.Avro
	key, value AvroCodec

	keyDatum map[string]any // marker keys only
	src      sourceCache
	image    [2]int // the row image in the last value appended
}

// NewTableCodec builds the key and value codecs of l's table.
func NewTableCodec(l *Layout) (*TableCodec, error) {
	a, err := schemas.Build(l.Table)
	if err != nil {
		return nil, err
	}
	tc := &TableCodec{l: l, Avro: a, keyDatum: map[string]any{"table": l.Table.Name}}
	if tc.key, err = NewAvroCodec(a.Key); err != nil {
		return nil, fmt.Errorf("key schema of %s: %w", l.Table.Name, err)
	}
	if tc.value, err = NewAvroCodec(a.Value); err != nil {
		return nil, fmt.Errorf("value schema of %s: %w", l.Table.Name, err)
	}
	return tc, nil
}

// Key returns the codec of the key schema.
func (tc *TableCodec) Key() AvroCodec { return tc.key }

// Value returns the codec of the value schema.
func (tc *TableCodec) Value() AvroCodec { return tc.value }

func optMillis(p *int64) any {
	if p == nil {
		return nil
	}
	return goavro.Union("long.timestamp-millis", *p)
}

// Marker types, the value of the sr.marker header.
const (
	MarkerBegin = "snapshot_begin"
	MarkerEnd   = "snapshot_end"
)

// Marker brackets the rows of a full file on every partition.
type Marker struct {
	// Type is MarkerBegin or MarkerEnd.
	Type string
	// SnapshotID is the same on both markers: group/batch/table.
	SnapshotID string
	// Organisations are the IDOrganisationVisibleTo values the file holds
	// (empty for shared tables).
	Organisations []string
	// RowCount, DeadLetters and Unchanged are set on the end marker: the
	// file's rows published as events, sent to the dead-letter topic, and
	// not published because they were unchanged.
	RowCount, DeadLetters, Unchanged *int64
	// Vanished and VanishedDeleted are set on the end marker of a
	// reconciled file: the keys known for its scope that it no longer
	// held, and those of them deleted.
	Vanished, VanishedDeleted *int64
}

// MarkerTable is the key's table field of a group's begin or end marker
// of table: no row has it (a row's is always the table's name, and no
// table name holds a "/"), and it differs per group and per type, so
// that compaction keeps each group's latest begin and end.
func MarkerTable(table, typ, group string) string { return table + "/" + typ + "/" + group }

// AppendMarkerKey appends the key of a group's begin or end marker: a
// valid key of the table's key schema that no row can have, whatever
// values its key columns hold (they are zero here).
func (tc *TableCodec) AppendMarkerKey(dst []byte, typ, group string) ([]byte, error) {
	cols := tc.l.Table.Columns
	for _, k := range tc.l.keyFields {
		var zero any = ""
		if cols[k].Type == schemas.Long {
			zero = int64(0)
		}
		tc.keyDatum[cols[k].Name] = zero
	}
	tc.keyDatum["table"] = MarkerTable(tc.l.Table.Name, typ, group)
	return tc.key.Append(dst, tc.keyDatum)
}

// AppendMarkerValue appends the envelope of a marker (op "m").
func (tc *TableCodec) AppendMarkerValue(dst []byte, m Marker, src Source, tsMs int64) ([]byte, error) {
	orgs := make([]any, len(m.Organisations))
	for i, o := range m.Organisations {
		orgs[i] = o
	}
	marker := map[string]any{
		"type": m.Type, "snapshot_id": m.SnapshotID, "organisations": orgs,
		"extract_from": optMillis(src.ExtractFrom), "extract_to": optMillis(src.ExtractTo), "row_count": nil, "dead_letters": nil, "unchanged": nil,
		"vanished": nil, "vanished_deleted": nil,
	}
	for name, n := range map[string]*int64{"row_count": m.RowCount, "dead_letters": m.DeadLetters, "unchanged": m.Unchanged,
		"vanished": m.Vanished, "vanished_deleted": m.VanishedDeleted} {
		if n != nil {
			marker[name] = goavro.Union("long", *n)
		}
	}
	s := src
	s.Line, s.Snapshot = 0, true
	val := map[string]any{"op": "m", "before": nil, "after": nil, "ts_ms": tsMs,
		"source": sourceDatum(&s), "marker": goavro.Union("sragent.Marker", marker)}
	return tc.value.Append(dst, val)
}

func sourceDatum(s *Source) map[string]any {
	d := map[string]any{"connector": "sragent", "version": s.Version, "name": s.Name, "group": s.Group,
		"batch": s.Batch, "table": s.Table, "file": s.File, "line": s.Line, "snapshot": goavro.Union("string", "false"),
		"extract_from": optMillis(s.ExtractFrom), "extract_to": optMillis(s.ExtractTo), "ts_ms": optMillis(s.CutOff)}
	if s.Snapshot {
		d["snapshot"] = goavro.Union("string", "true")
	}
	return d
}
