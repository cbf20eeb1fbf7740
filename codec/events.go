package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Reading published events back without decoding them into values: what
// rebuilding the table state from the topics needs of each event (its
// op, row image, window value and source), at the speed of a byte scan.

// EventReader reads the events of one value schema (sragent's envelope).
type EventReader struct {
	kinds []byte // per row field: 's' string, 'l' long, 'd' double, 'b' boolean
	names []string
	// local marks the calendar fields (local-timestamp-millis): their
	// longs say another thing than an instant's, so the signature tells
	// them apart.
	local []bool
}

// EventInfo is what an event says about its key.
type EventInfo struct {
	Op Op
	// Image is the row record's encoding, as TableCodec.Image returns it.
	Image []byte
	// Window is the value of the field asked for, when it is a non-null
	// long (a date-time); HasWindow says so.
	Window    int64
	HasWindow bool
	// Group, Batch and File name the file the event came from; Snapshot
	// is set for a full file's rows.
	Group, Batch, File string
	Snapshot           bool
}

var errShortEvent = errors.New("event shorter than its schema")

// NewEventReader parses a value schema sragent registered.
func NewEventReader(schema string) (*EventReader, error) {
	var env struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(schema), &env); err != nil {
		return nil, fmt.Errorf("value schema: %w", err)
	}
	for _, f := range env.Fields {
		if f.Name != "before" {
			continue
		}
		var union []json.RawMessage
		var row struct {
			Fields []struct {
				Name string            `json:"name"`
				Type []json.RawMessage `json:"type"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(f.Type, &union); err != nil || len(union) != 2 {
			return nil, errors.New("value schema: before is not a nullable record")
		}
		if err := json.Unmarshal(union[1], &row); err != nil {
			return nil, fmt.Errorf("value schema: %w", err)
		}
		r := &EventReader{}
		for _, c := range row.Fields {
			if len(c.Type) != 2 {
				return nil, fmt.Errorf("value schema: field %s is not nullable", c.Name)
			}
			t := string(c.Type[1])
			var k byte
			switch {
			case t == `"string"`:
				k = 's'
			case t == `"long"` || strings.Contains(t, `"long"`):
				k = 'l'
			case t == `"double"`:
				k = 'd'
			case t == `"boolean"`:
				k = 'b'
			default:
				return nil, fmt.Errorf("value schema: field %s has type %s", c.Name, t)
			}
			r.kinds, r.names = append(r.kinds, k), append(r.names, c.Name)
			r.local = append(r.local, k == 'l' && strings.Contains(t, `"local-timestamp-millis"`))
		}
		return r, nil
	}
	return nil, errors.New("value schema: no before field")
}

// Signature names the row record's fields and their encodings, in order:
// what decides how an image's bytes read, whatever a registry did to the
// schema's text (reformatted, documentation dropped). Of logical types it
// names only local-timestamp-millis, which makes a long a wall-clock time
// rather than an instant: rows published under the earlier form of a
// calendar column are then images of another schema, published again at
// the next full file (a registry that dropped the logical type only costs
// that re-publish).
func (r *EventReader) Signature() string {
	var b strings.Builder
	for i, n := range r.names {
		b.WriteString(n)
		b.WriteByte(':')
		k := r.kinds[i]
		if r.local[i] {
			k = 'L'
		}
		b.WriteByte(k)
		b.WriteByte(',')
	}
	return b.String()
}

// Field returns the index of the row field named name (any case), or -1.
func (r *EventReader) Field(name string) int {
	for i, n := range r.names {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

// Read parses the event val (without its frame); win is the row field
// whose value is the window (-1 for none).
func (r *EventReader) Read(val []byte, win int) (EventInfo, error) {
	var ev EventInfo
	n, op, ok := readBytes(val)
	if !ok || len(op) != 1 {
		return ev, errShortEvent
	}
	ev.Op, val = Op(op[0]), val[n:]
	for range 2 { // before, after
		if len(val) == 0 {
			return ev, errShortEvent
		}
		branch := val[0]
		val = val[1:]
		if branch == branchNull {
			continue
		}
		m, err := r.row(val, win, &ev)
		if err != nil {
			return ev, err
		}
		ev.Image, val = val[:m], val[m:]
	}
	var s [7][]byte // version, connector, name, group, batch, table, file
	for i := range s {
		m, b, ok := readBytes(val)
		if !ok {
			return ev, errShortEvent
		}
		s[i], val = b, val[m:]
	}
	ev.Group, ev.Batch, ev.File = string(s[3]), string(s[4]), string(s[6])
	if _, m := readLong(val); m > 0 && len(val) > m && val[m] == branchValue {
		_, b, ok := readBytes(val[m+1:])
		ev.Snapshot = ok && string(b) == "true"
	}
	return ev, nil
}

// row returns the length of the row record at b, noting field win.
func (r *EventReader) row(b []byte, win int, ev *EventInfo) (int, error) {
	n := 0
	for i, k := range r.kinds {
		if n >= len(b) {
			return 0, errShortEvent
		}
		branch := b[n]
		n++
		if branch == branchNull {
			continue
		}
		switch k {
		case 's':
			m, _, ok := readBytes(b[n:])
			if !ok {
				return 0, errShortEvent
			}
			n += m
		case 'l':
			x, m := readLong(b[n:])
			if m <= 0 {
				return 0, errShortEvent
			}
			if i == win {
				ev.Window, ev.HasWindow = x, true
			}
			n += m
		case 'd':
			n += 8
		case 'b':
			n++
		}
	}
	if n > len(b) {
		return 0, errShortEvent
	}
	return n, nil
}

// Kind returns how row field i is encoded: 's' string, 'l' long (also
// date-times), 'd' double, 'b' boolean; 0 when there is no field i.
func (r *EventReader) Kind(i int) byte {
	if i < 0 || i >= len(r.kinds) {
		return 0
	}
	return r.kinds[i]
}

// Cell returns row field i of an image Read returned: a long's value (or
// a boolean's 0/1) or a string's bytes (see Kind), and false when it is
// null or the image does not read.
func (r *EventReader) Cell(image []byte, i int) (long int64, text []byte, ok bool) {
	n := 0
	for j, k := range r.kinds {
		if n >= len(image) {
			return 0, nil, false
		}
		branch := image[n]
		n++
		if branch == branchNull {
			if j == i {
				return 0, nil, false
			}
			continue
		}
		var m int
		long, text = 0, nil
		switch k {
		case 's':
			m, text, ok = readBytes(image[n:])
			if !ok {
				return 0, nil, false
			}
		case 'l':
			if long, m = readLong(image[n:]); m <= 0 {
				return 0, nil, false
			}
		case 'd':
			m = 8
		case 'b':
			if n >= len(image) {
				return 0, nil, false
			}
			m, long = 1, int64(image[n]&1)
		}
		if j == i {
			return long, text, n+m <= len(image)
		}
		n += m
	}
	return 0, nil, false
}
