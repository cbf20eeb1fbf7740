package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer"
)

// tailOptions are the flags of `sragent tail`.
type tailOptions struct {
	fromBeginning, follow bool
	max                   int
	key                   string
}

func (a *app) tailCommand() *cobra.Command {
	var o tailOptions
	cmd := &cobra.Command{
		Use:   "tail TOPIC",
		Short: "Print a topic's records as JSON lines, key and value decoded through the Schema Registry",
		Long: `tail reads a topic as a read_committed consumer (what a downstream consumer
sees) and prints one JSON object per record: topic, partition, offset,
timestamp, headers, and the key and value decoded with the schemas the
registry holds for their ids, in Avro's JSON encoding (unions as
{"type": value}, date-times as their longs), like Confluent's
kafka-avro-console-consumer. A tombstone's value is null.

TOPIC is a topic name (systmone.SRPatient) or a table name (SRPatient, under
kafka.topic_prefix). Without --from-beginning tail prints what is committed
from now on, until Ctrl-C; with it, the topic from its start to its current
end (and on, with --follow). --key prints only the records of one key: its
fields other than table, joined by "/", e.g. A81001/1000001 for an
organisation's table, 1000001 for a shared one.

The output holds patient data: it goes to standard output only, never to
the log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return a.tail(cmd.Context(), cfg, args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "read the topic from its start (to its current end, unless --follow)")
	f.BoolVar(&o.follow, "follow", false, "with --from-beginning, go on printing what is committed after the end")
	f.IntVar(&o.max, "max", 0, "stop after printing this many records (0: no limit)")
	f.StringVar(&o.key, "key", "", `print only this key's records: its fields but table, joined by "/"`)
	return cmd
}

// tailLine is one printed record.
type tailLine struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp string            `json:"timestamp"`
	Headers   map[string]string `json:"headers,omitempty"`
	Key       json.RawMessage   `json:"key"`
	Value     json.RawMessage   `json:"value"`
	// Error says why the key or value could not be decoded (it is then
	// null): never their bytes.
	Error string `json:"error,omitempty"`
}

func (a *app) tail(ctx context.Context, cfg Config, topic string, o tailOptions) error {
	if !strings.Contains(topic, ".") {
		topic = cfg.Kafka.TopicFor(topic)
	}
	if o.follow && !o.fromBeginning {
		return &exitError{code: exitUsage, err: fmt.Errorf("--follow goes with --from-beginning (without it tail follows anyway)")}
	}
	topics, err := producer.ListTopics(ctx, cfg.Kafka)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if !slices.Contains(topics, topic) {
		var under []string
		for _, t := range topics {
			if strings.HasPrefix(t, cfg.Kafka.TopicPrefix+".") {
				under = append(under, t)
			}
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("no topic %s; the topics under %s: %s", topic, cfg.Kafka.TopicPrefix, strings.Join(under, ", "))}
	}
	reg, err := cfg.Agent().Registry.Client()
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	t := &tailer{w: a.stdout, dec: producer.NewDecoder(reg), o: o}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fn := func(r *kgo.Record) bool {
		if t.err = t.print(ctx, r); t.err != nil || (o.max > 0 && t.n >= o.max) {
			cancel()
			return false
		}
		return true
	}
	if o.fromBeginning && !o.follow {
		err = producer.ReadCommitted(ctx, cfg.Kafka, []string{topic}, func(r *kgo.Record) {
			if ctx.Err() == nil {
				fn(r)
			}
		})
	} else { // one consumer from the start (or the end) on: nothing committed meanwhile is missed
		err = producer.Follow(ctx, cfg.Kafka, []string{topic}, o.fromBeginning, fn)
	}
	if t.err != nil {
		return &exitError{code: exitFailed, err: t.err}
	}
	if err != nil && ctx.Err() == nil {
		return &exitError{code: exitFailed, err: err}
	}
	return nil
}

// tailer prints records.
type tailer struct {
	w   io.Writer
	dec *producer.Decoder
	o   tailOptions
	n   int
	err error // a write to the output failed
}

// print writes r as a JSON line, unless --key leaves it out.
func (t *tailer) print(ctx context.Context, r *kgo.Record) error {
	line := tailLine{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp: r.Timestamp.UTC().Format(time.RFC3339Nano), Key: json.RawMessage("null"), Value: json.RawMessage("null")}
	var errs []string
	if r.Key != nil {
		var k producer.Decoded
		line.Key, k = t.decode(ctx, r.Key, "key", &errs)
		if len(r.Key) > 0 && r.Key[0] != 0 { // a text key (the state topic's), a string even when it reads as JSON
			line.Key, _ = json.Marshal(string(r.Key))
		}
		if t.o.key != "" && keyText(k) != t.o.key {
			return nil
		}
	} else if t.o.key != "" {
		return nil
	}
	if r.Value != nil {
		line.Value, _ = t.decode(ctx, r.Value, "value", &errs)
	}
	for _, h := range r.Headers {
		if line.Headers == nil {
			line.Headers = map[string]string{}
		}
		line.Headers[h.Key] = string(h.Value)
	}
	line.Error = strings.Join(errs, "; ")
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	if _, err := t.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the output: %w", err)
	}
	t.n++
	return nil
}

// decode returns the JSON tail prints for b (null when it cannot be
// decoded, with the reason added to errs) and, for Avro, the datum.
func (t *tailer) decode(ctx context.Context, b []byte, what string, errs *[]string) (json.RawMessage, producer.Decoded) {
	d, err := t.dec.Decode(ctx, b)
	switch {
	case errors.Is(err, producer.ErrNotFramed):
		return plain(b), d
	case err != nil:
		*errs = append(*errs, what+": "+err.Error())
		return json.RawMessage("null"), d
	}
	return d.JSON, d
}

// plain is data that is not Confluent-framed Avro (sragent's state
// topic holds JSON): JSON as it is, other text as a JSON string, anything
// else as base64 (a JSON string of bytes).
func plain(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	var out []byte
	if utf8.Valid(b) {
		out, _ = json.Marshal(string(b))
	} else {
		out, _ = json.Marshal(b)
	}
	return out
}

// keyText is a key record's fields but table, joined by "/".
func keyText(k producer.Decoded) string {
	m, ok := k.Native.(map[string]any)
	if !ok {
		return ""
	}
	var parts []string
	for _, f := range k.Fields {
		if f != "table" {
			parts = append(parts, fmt.Sprint(m[f]))
		}
	}
	return strings.Join(parts, "/")
}
