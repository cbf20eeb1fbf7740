package producer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Avro's JSON encoding of a goavro native datum, written field by field
// in schema order (as kafka-avro-console-consumer prints a record), not
// in the random order of the native's maps. It covers what sragent's
// schemas use (records, unions, arrays, strings, longs, timestamp-millis
// and local-timestamp-millis); of other producers' logical types,
// time-millis and decimal come out as goavro decodes them, and a map's
// keys in no order.

// avroJSON renders data with one schema.
type avroJSON struct {
	schema any            // the parsed schema text
	named  map[string]any // records, enums and fixed types by full name
}

func newAvroJSON(text string) (*avroJSON, error) {
	var s any
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, err
	}
	a := &avroJSON{schema: s, named: map[string]any{}}
	a.collect(s, "")
	return a, nil
}

// fullName is a named type's full name in namespace ns.
func fullName(m map[string]any, ns string) (name, inner string) {
	name, _ = m["name"].(string)
	if n, ok := m["namespace"].(string); ok {
		ns = n
	}
	if i := strings.LastIndex(name, "."); i >= 0 {
		return name, name[:i]
	}
	if ns != "" {
		return ns + "." + name, ns
	}
	return name, ns
}

func (a *avroJSON) collect(s any, ns string) {
	switch x := s.(type) {
	case []any:
		for _, m := range x {
			a.collect(m, ns)
		}
	case map[string]any:
		switch x["type"] {
		case "record", "error", "enum", "fixed":
			name, inner := fullName(x, ns)
			a.named[name] = x
			fields, _ := x["fields"].([]any)
			for _, f := range fields {
				if fm, ok := f.(map[string]any); ok {
					a.collect(fm["type"], inner)
				}
			}
		case "array":
			a.collect(x["items"], ns)
		case "map":
			a.collect(x["values"], ns)
		default:
			a.collect(x["type"], ns)
		}
	}
}

// resolve returns the schema a type name stands for, and its namespace.
func (a *avroJSON) resolve(name, ns string) (any, bool) {
	if s, ok := a.named[name]; ok {
		return s, true
	}
	s, ok := a.named[ns+"."+name]
	return s, ok
}

// branchName is how Avro's JSON encoding names a union branch: a
// primitive's type (a logical type's underlying one), a named type's full
// name.
func branchName(s any, ns string) string {
	switch x := s.(type) {
	case string:
		if primitive(x) || strings.Contains(x, ".") || ns == "" {
			return x
		}
		return ns + "." + x
	case map[string]any:
		switch t := x["type"].(type) {
		case string:
			if t == "record" || t == "error" || t == "enum" || t == "fixed" {
				name, _ := fullName(x, ns)
				return name
			}
			return branchName(t, ns)
		default:
			return branchName(t, ns)
		}
	}
	return ""
}

func primitive(t string) bool {
	switch t {
	case "null", "boolean", "int", "long", "float", "double", "bytes", "string", "array", "map":
		return true
	}
	return false
}

func (a *avroJSON) write(b *bytes.Buffer, s any, ns string, v any) error {
	switch x := s.(type) {
	case string:
		if !primitive(x) {
			named, ok := a.resolve(x, ns)
			if !ok {
				return fmt.Errorf("unknown type %s", x)
			}
			return a.write(b, named, ns, v)
		}
		return writeValue(b, v, "")
	case []any:
		if v == nil {
			b.WriteString("null")
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return fmt.Errorf("union value %T", v)
		}
		for key, inner := range m {
			for _, branch := range x {
				name := branchName(branch, ns)
				if name != key && !strings.HasPrefix(key, name+".") { // goavro names a logical branch long.timestamp-millis
					continue
				}
				b.WriteByte('{')
				writeString(b, name)
				b.WriteByte(':')
				if err := a.write(b, branch, ns, inner); err != nil {
					return err
				}
				b.WriteByte('}')
				return nil
			}
			return fmt.Errorf("no union branch %s", key)
		}
	case map[string]any:
		switch x["type"] {
		case "record", "error":
			_, inner := fullName(x, ns)
			m, _ := v.(map[string]any)
			b.WriteByte('{')
			fields, _ := x["fields"].([]any)
			for i, f := range fields {
				fm, _ := f.(map[string]any)
				name, _ := fm["name"].(string)
				if i > 0 {
					b.WriteByte(',')
				}
				writeString(b, name)
				b.WriteByte(':')
				if err := a.write(b, fm["type"], inner, m[name]); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			b.WriteByte('}')
			return nil
		case "array":
			items, _ := v.([]any)
			b.WriteByte('[')
			for i, it := range items {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := a.write(b, x["items"], ns, it); err != nil {
					return err
				}
			}
			b.WriteByte(']')
			return nil
		case "map":
			m, _ := v.(map[string]any)
			b.WriteByte('{')
			i := 0
			for k, e := range m {
				if i > 0 {
					b.WriteByte(',')
				}
				i++
				writeString(b, k)
				b.WriteByte(':')
				if err := a.write(b, x["values"], ns, e); err != nil {
					return err
				}
			}
			b.WriteByte('}')
			return nil
		case "enum", "fixed":
			return writeValue(b, v, "")
		default:
			logical, _ := x["logicalType"].(string)
			if t, ok := x["type"].(string); ok && primitive(t) {
				return writeValue(b, v, logical)
			}
			return a.write(b, x["type"], ns, v)
		}
	}
	return fmt.Errorf("schema %T", s)
}

// writeValue writes a primitive native: a time.Time (a logical type
// goavro decodes) as the number it is encoded as, bytes as Avro's JSON
// encoding writes them (one character per byte).
func writeValue(b *bytes.Buffer, v any, logical string) error {
	switch x := v.(type) {
	case time.Time:
		switch logical {
		case "timestamp-micros", "local-timestamp-micros":
			fmt.Fprint(b, x.UnixMicro())
		case "date":
			fmt.Fprint(b, x.Unix()/86400)
		default:
			fmt.Fprint(b, x.UnixMilli())
		}
		return nil
	case []byte:
		r := make([]rune, len(x))
		for i, c := range x {
			r[i] = rune(c)
		}
		writeString(b, string(r))
		return nil
	case string:
		writeString(b, x)
		return nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}

// writeString writes s as a JSON string without HTML escaping.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}
