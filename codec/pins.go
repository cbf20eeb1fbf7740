package codec

import (
	"encoding/json"
	"fmt"

	"github.com/sragent/sragent/schemas"
)

// PinsOf reads the fields a table's registered key and value schemas
// (sragent's Key record and Envelope; "" for a subject with no version)
// hold, with their types, for NewPinnedLayout.
func PinsOf(keySchema, valueSchema string) (schemas.Pins, error) {
	var p schemas.Pins
	var err error
	if keySchema != "" {
		if p.Key, err = recordFields(keySchema, ""); err != nil {
			return p, fmt.Errorf("key schema: %w", err)
		}
		delete(p.Key, "table")
	}
	if valueSchema != "" {
		if p.Value, err = recordFields(valueSchema, "before"); err != nil {
			return p, fmt.Errorf("value schema: %w", err)
		}
	}
	return p, nil
}

type avroField struct {
	Name string          `json:"name"`
	Type json.RawMessage `json:"type"`
}

// recordFields returns the fields of the record schema, or of the record
// its field named in (a nullable union) holds, by name and column type;
// fields of types no column has are left out.
func recordFields(schema, in string) (map[string]schemas.Type, error) {
	fields, err := recordFieldList(schema, in)
	if err != nil {
		return nil, err
	}
	out := map[string]schemas.Type{}
	for _, f := range fields {
		if t, ok := fieldType(f.Type); ok {
			out[f.Name] = t
		}
	}
	return out, nil
}

// recordFieldList returns the fields of the record schema, or of the
// record its field named in (a nullable union) holds, in order.
func recordFieldList(schema, in string) ([]avroField, error) {
	var rec struct {
		Fields []avroField `json:"fields"`
	}
	if err := json.Unmarshal([]byte(schema), &rec); err != nil {
		return nil, err
	}
	if in != "" {
		var inner json.RawMessage
		for _, f := range rec.Fields {
			if f.Name == in {
				inner = f.Type
			}
		}
		var union []json.RawMessage
		if err := json.Unmarshal(inner, &union); err != nil || len(union) != 2 {
			return nil, fmt.Errorf("field %s is not a nullable record", in)
		}
		rec.Fields = nil
		if err := json.Unmarshal(union[1], &rec); err != nil {
			return nil, err
		}
	}
	return rec.Fields, nil
}

// fieldType is the column type of a field's Avro type: a primitive name,
// a {"type", "logicalType"} object, or a nullable union of either.
func fieldType(raw json.RawMessage) (schemas.Type, bool) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		return schemas.TypeOfAvro(name, "")
	}
	var obj struct {
		Type        string `json:"type"`
		LogicalType string `json:"logicalType"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Type != "" {
		return schemas.TypeOfAvro(obj.Type, obj.LogicalType)
	}
	var union []json.RawMessage
	if json.Unmarshal(raw, &union) == nil {
		for _, m := range union {
			if t, ok := fieldType(m); ok {
				return t, true
			}
		}
	}
	return 0, false
}
