package schemas

import (
	"encoding/json"
	"fmt"
)

// Namespace is the Avro namespace of the shared records (Source, Marker);
// each table's own records live in Namespace + "." + table name.
const Namespace = "sragent"

// Avro is the pair of schemas one table is published with.
type Avro struct {
	// Key is the key schema (subject <topic>-key).
	Key string
	// Value is the change-event envelope schema (subject <topic>-value).
	Value string
}

// jsonField and jsonRecord render Avro JSON with a stable field order.
type jsonField struct {
	Name string `json:"name"`
	Type any    `json:"type"`
	Doc  string `json:"doc,omitempty"`
}

// nullableField renders an optional field with the explicit "default": null
// that BACKWARD compatibility checks require.

type nullableField struct {
	Name    string  `json:"name"`
	Type    any     `json:"type"`
	Doc     string  `json:"doc,omitempty"`
	Default *string `json:"default"`
}

type jsonRecord struct {
	Type      string `json:"type"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Doc       string `json:"doc,omitempty"`
	Fields    []any  `json:"fields"`
}

var (
	timestampMillis      = map[string]string{"type": "long", "logicalType": "timestamp-millis"}
	localTimestampMillis = map[string]string{"type": "long", "logicalType": "local-timestamp-millis"}
)

// avroType returns the Avro type of a column type.
func avroType(t Type) any {
	switch t {
	case Long:
		return "long"
	case Double:
		return "double"
	case Boolean:
		return "boolean"
	case DateTime, DateTimeMinutes:
		return timestampMillis
	case Calendar, CalendarMinutes:
		return localTimestampMillis
	}
	return "string"
}

func optional(name string, typ any, doc string) nullableField {
	return nullableField{Name: name, Type: []any{"null", typ}, Doc: doc}
}

func columnDoc(c Column) string {
	switch {
	case c.Ref != "":
		return fmt.Sprintf("RowIdentifier of a row of %s", c.Ref)
	case c.LabelOf != "":
		return fmt.Sprintf("the text of the list row %s holds, from the group's latest lists (lists.labels); null when it holds none or the lists have no such row", c.LabelOf)
	case c.Type == DateTime:
		return "UK wall-clock dd MMM yyyy HH:mm:ss, as a UTC instant"
	case c.Type == DateTimeMinutes:
		return "UK wall-clock dd MMM yyyy HH:mm, as a UTC instant"
	case c.Type == Calendar:
		return "a UK calendar date (dd MMM yyyy HH:mm:ss, the time usually 00:00:00) as the UK wall-clock date and time, no zone"
	case c.Type == CalendarMinutes:
		return "a UK calendar date and time (dd MMM yyyy HH:mm) as the UK wall-clock date and time, no zone"
	}
	return ""
}

// Build returns the key and value schemas of t.
func Build(t *Table) (Avro, error) {
	ns := Namespace + "." + t.Name
	for _, c := range t.Columns {
		if !ValidName(c.Name) {
			return Avro{}, fmt.Errorf("table %s: column %q is not a valid Avro name", t.Name, c.Name)
		}
	}
	key := jsonRecord{Type: "record", Name: "Key", Namespace: ns,
		Doc: fmt.Sprintf("Identifies one %s row (table is %q), or one group's snapshot marker (table is %q, the other fields zero).",
			t.Name, t.Name, t.Name+"/snapshot_begin|snapshot_end/<group>"),
		Fields: []any{jsonField{Name: "table", Type: "string"}}}
	for _, k := range t.Key {
		c, ok := t.Column(k)
		if !ok {
			return Avro{}, fmt.Errorf("table %s: key column %s is not a column", t.Name, k)
		}
		key.Fields = append(key.Fields, jsonField{Name: c.Name, Type: avroType(c.Type)})
	}
	row := jsonRecord{Type: "record", Name: "Value", Namespace: ns,
		Doc: fmt.Sprintf("One %s row; every field is null when its cell is empty.", t.Name)}
	for _, c := range t.Columns {
		row.Fields = append(row.Fields, optional(c.Name, avroType(c.Type), columnDoc(c)))
	}
	env := jsonRecord{Type: "record", Name: "Envelope", Namespace: ns,
		Doc: fmt.Sprintf("A change event of %s, shaped like Debezium's envelope.", t.Name),
		Fields: []any{
			jsonField{Name: "op", Type: "string", Doc: "r: row of a full file, c/u: delta upsert, d: delete, m: snapshot marker"},
			optional("before", row, "the deleted row image on d events, else null"),
			optional("after", "Value", "the row on r/c/u events, else null"),
			jsonField{Name: "source", Type: sourceRecord()},
			jsonField{Name: "ts_ms", Type: "long", Doc: "when sragent produced the event (ms since epoch)"},
			optional("marker", markerRecord(), "set on snapshot markers only"),
		}}
	k, err := json.Marshal(key)
	if err != nil {
		return Avro{}, fmt.Errorf("marshal key schema of %s: %w", t.Name, err)
	}
	v, err := json.Marshal(env)
	if err != nil {
		return Avro{}, fmt.Errorf("marshal value schema of %s: %w", t.Name, err)
	}
	return Avro{Key: string(k), Value: string(v)}, nil
}

func sourceRecord() jsonRecord {
	return jsonRecord{Type: "record", Name: "Source", Namespace: Namespace,
		Doc: "Where an event came from: the coordinates that play the role of Debezium's LSN.",
		Fields: []any{
			jsonField{Name: "version", Type: "string", Doc: "sragent version"},
			jsonField{Name: "connector", Type: "string", Doc: "always sragent"},
			jsonField{Name: "name", Type: "string", Doc: "the topic prefix"},
			jsonField{Name: "group", Type: "string", Doc: "reporting group (the chain of batches)"},
			jsonField{Name: "batch", Type: "string", Doc: "batch folder name yyyyMMdd_HHmm"},
			jsonField{Name: "table", Type: "string", Doc: "manifest FileName"},
			jsonField{Name: "file", Type: "string", Doc: "file name inside the batch"},
			jsonField{Name: "line", Type: "long", Doc: "line where the row starts (1 = header); 0 on markers"},
			optional("snapshot", "string", "true on rows and markers of a full file, false on deltas and SRMappingGroup (null in events written by earlier releases)"),
			optional("extract_from", timestampMillis, "manifest DateExtractFrom"),
			optional("extract_to", timestampMillis, "manifest DateExtractTo (the data cut-off)"),
			optional("ts_ms", timestampMillis, "the batch's extract cut-off: when the data was true in SystmOne, like Debezium's source.ts_ms"),
		}}
}

func markerRecord() jsonRecord {
	return jsonRecord{Type: "record", Name: "Marker", Namespace: Namespace,
		Doc: "Brackets the rows of a full file: see schemas/README.md.",
		Fields: []any{
			jsonField{Name: "type", Type: "string", Doc: "snapshot_begin or snapshot_end"},
			jsonField{Name: "snapshot_id", Type: "string", Doc: "group/batch/table, the same on begin and end"},
			jsonField{Name: "organisations", Type: map[string]any{"type": "array", "items": "string"},
				Doc: "IDOrganisationVisibleTo values the full file covers (empty for shared tables)"},
			optional("extract_from", timestampMillis, ""),
			optional("extract_to", timestampMillis, ""),
			optional("row_count", "long", "rows of the full file published as events, on snapshot_end only"),
			optional("dead_letters", "long", "rows of the full file sent to the dead-letter topic, on snapshot_end only"),
			optional("unchanged", "long", "rows of the full file not published because their image was the one last published for their key, on snapshot_end only"),
			optional("vanished", "long", "keys known for the full file's scope that it no longer held, on snapshot_end of a reconciled file only"),
			optional("vanished_deleted", "long", "vanished keys deleted with a d event and a tombstone (reconcile delete mode), on snapshot_end of a reconciled file only"),
		}}
}

// ValidName reports whether s is a valid Avro name: [A-Za-z_][A-Za-z0-9_]*.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// SanitizeName maps a header name to a valid Avro name: every invalid
// character becomes '_' and a leading digit gets a '_' prefix.
func SanitizeName(s string) string {
	if ValidName(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 || (b[0] >= '0' && b[0] <= '9') {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}
