package producer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/linkedin/goavro/v2"
)

// Decoder turns Confluent-framed Avro (a key or a value sragent, or any
// producer using the registry, wrote) back into data, with the schemas
// the registry holds for their ids: what `sragent tail` prints.
type Decoder struct {
	reg    *Registry
	mu     sync.Mutex
	codecs map[uint32]*decodeSchema
}

type decodeSchema struct {
	codec  *goavro.Codec
	json   *avroJSON
	fields []string // a record schema's field names, in order
}

// NewDecoder returns a Decoder reading schemas from reg.
func NewDecoder(reg *Registry) *Decoder {
	return &Decoder{reg: reg, codecs: map[uint32]*decodeSchema{}}
}

// ErrNotFramed is data without the Confluent wire header.
var ErrNotFramed = errors.New("not Confluent-framed Avro (magic byte 0 and a schema id)")

// Decoded is one framed datum, decoded.
type Decoded struct {
	// JSON is the datum in Avro's JSON encoding (unions as {"type":
	// value}, timestamps as their longs, record fields in schema order),
	// as kafka-avro-console-consumer prints it.
	JSON json.RawMessage
	// Native is the datum as goavro decodes it (a record is a
	// map[string]any), and Fields a record's field names in schema order.
	Native any
	Fields []string
}

// Decode decodes framed data.
func (d *Decoder) Decode(ctx context.Context, framed []byte) (Decoded, error) {
	if len(framed) < 5 || framed[0] != 0 {
		return Decoded{}, ErrNotFramed
	}
	id := binary.BigEndian.Uint32(framed[1:5])
	s, err := d.schema(ctx, id)
	if err != nil {
		return Decoded{}, err
	}
	native, rest, err := s.codec.NativeFromBinary(framed[5:])
	if err != nil {
		return Decoded{}, fmt.Errorf("decode with schema %d: %w", id, err)
	}
	if len(rest) > 0 {
		return Decoded{}, fmt.Errorf("decode with schema %d: %d bytes left over", id, len(rest))
	}
	var b bytes.Buffer
	if err := s.json.write(&b, s.json.schema, "", native); err != nil {
		return Decoded{}, fmt.Errorf("encode as JSON with schema %d: %w", id, err)
	}
	return Decoded{JSON: b.Bytes(), Native: native, Fields: s.fields}, nil
}

func (d *Decoder) schema(ctx context.Context, id uint32) (*decodeSchema, error) {
	d.mu.Lock()
	s := d.codecs[id]
	d.mu.Unlock()
	if s != nil {
		return s, nil
	}
	text, err := d.reg.SchemaText(ctx, int(id))
	if err != nil {
		return nil, err
	}
	c, err := goavro.NewCodec(text)
	if err != nil {
		return nil, fmt.Errorf("schema %d: %w", id, err)
	}
	aj, err := newAvroJSON(text)
	if err != nil {
		return nil, fmt.Errorf("schema %d: %w", id, err)
	}
	s = &decodeSchema{codec: c, json: aj}
	var rec struct {
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}
	if json.Unmarshal([]byte(text), &rec) == nil {
		for _, f := range rec.Fields {
			s.fields = append(s.fields, f.Name)
		}
	}
	d.mu.Lock()
	d.codecs[id] = s
	d.mu.Unlock()
	return s, nil
}
