package codec

import (
	"encoding/binary"
	"math"
)

// Avro binary encoding of sragent's own key and envelope schemas, written
// directly: zigzag varints for longs, length-prefixed strings, unions as a
// branch index then the value. Field order is the schema's (schemas.Build).

func appendLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func appendBytes(b, s []byte) []byte {
	b = appendLong(b, int64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = appendLong(b, int64(len(s)))
	return append(b, s...)
}

// appendValue writes one non-null value of its kind.
func appendValue(b []byte, v Value) []byte {
	switch v.Kind {
	case Str:
		return appendBytes(b, v.Bytes)
	case Float:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float))
	case Bool:
		return append(b, byte(v.Int))
	}
	return appendLong(b, v.Int) // Int and Time
}

// Union branch indexes of ["null", T], zigzag-encoded.
const (
	branchNull  = 0
	branchValue = 2
)

// AppendKey appends the Avro key of row to dst: the table name, then the
// key columns.
func (tc *TableCodec) AppendKey(dst []byte, row *Row) []byte {
	dst = appendString(dst, tc.l.Table.Name)
	for _, k := range tc.l.keyFields {
		dst = appendValue(dst, row.Values[k])
	}
	return dst
}

// AppendValue appends the Avro envelope of ev to dst.
func (tc *TableCodec) AppendValue(dst []byte, ev *Event) []byte {
	dst = appendLong(dst, 1)
	dst = append(dst, byte(ev.Op))
	if ev.Op == OpDelete {
		tc.image[0] = len(dst) + 1
		dst = tc.appendRow(append(dst, branchValue), ev.Row) // before
		tc.image[1] = len(dst)
		dst = append(dst, branchNull) // after
	} else {
		tc.image[0] = len(dst) + 2
		dst = tc.appendRow(append(dst, branchNull, branchValue), ev.Row)
		tc.image[1] = len(dst)
	}
	dst = tc.src.append(dst, &ev.Source)
	dst = appendLong(dst, ev.TsMs)
	return append(dst, branchNull) // marker
}

// Image returns the row image (the Avro encoding of the row's Value
// record) inside val, the value the last AppendValue appended: what
// decides whether a row changed.
func (tc *TableCodec) Image(val []byte) []byte { return val[tc.image[0]:tc.image[1]] }

// ImageBounds returns where Image finds the row image: val[from:to] of the
// dst (and what was appended to it) that the last AppendValue was given.
func (tc *TableCodec) ImageBounds() (from, to int) { return tc.image[0], tc.image[1] }

func (tc *TableCodec) appendRow(dst []byte, row *Row) []byte {
	for _, v := range row.Values {
		if v.Kind == Null {
			dst = append(dst, branchNull)
			continue
		}
		dst = appendValue(append(dst, branchValue), v)
	}
	return dst
}

// sourceCache keeps the encoding of the source block around its line:
// within a file only the line changes.
type sourceCache struct {
	key            Source
	prefix, suffix []byte
}

func (c *sourceCache) append(dst []byte, s *Source) []byte {
	k := *s
	k.Line = 0
	if c.prefix == nil || !sameSource(&c.key, &k) {
		c.key = k
		p := appendString(nil, s.Version)
		p = appendString(p, "sragent")
		for _, f := range []string{s.Name, s.Group, s.Batch, s.Table, s.File} {
			p = appendString(p, f)
		}
		c.prefix = p
		x := appendString([]byte{branchValue}, "false")
		if s.Snapshot {
			x = appendString([]byte{branchValue}, "true")
		}
		for _, ms := range []*int64{s.ExtractFrom, s.ExtractTo, s.CutOff} {
			if ms == nil {
				x = append(x, branchNull)
			} else {
				x = appendLong(append(x, branchValue), *ms)
			}
		}
		c.suffix = x
	}
	dst = append(dst, c.prefix...)
	dst = appendLong(dst, s.Line)
	return append(dst, c.suffix...)
}

func sameSource(a, b *Source) bool {
	return a.Version == b.Version && a.Name == b.Name && a.Group == b.Group && a.Batch == b.Batch &&
		a.Table == b.Table && a.File == b.File && a.Snapshot == b.Snapshot &&
		sameMillis(a.ExtractFrom, b.ExtractFrom) && sameMillis(a.ExtractTo, b.ExtractTo) && sameMillis(a.CutOff, b.CutOff)
}

func sameMillis(a, b *int64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
