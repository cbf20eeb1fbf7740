package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer"
	"github.com/sragent/sragent/schemas/srgen"
)

// tailLines parses tail's output.
func tailLines(t *testing.T, out string) []tailLine {
	t.Helper()
	var lines []tailLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l tailLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %v", err)
		}
		lines = append(lines, l)
	}
	return lines
}

// tail --from-beginning prints every committed record of every topic
// sragent wrote, once and in order, with key and value in Avro's JSON
// encoding: read back with the registry's schema, each is exactly the
// record a consumer decodes from the broker. --max, --key, a table name
// for a topic, an unknown topic, and following new records.
func TestTail(t *testing.T) {
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 5, Groups: 1, Orgs: 2, Batches: 3, Rows: 60, Tables: []string{"SRPatient", "SREvent", "SRConfiguredListOption"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	// The last batch waits elsewhere, for the follow test.
	batches, _ := filepath.Glob(filepath.Join(in, "group1", "*"))
	last := batches[len(batches)-1]
	held := filepath.Join(dir, "held")
	if err := os.Rename(last, held); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("input: {dir: %q, settle: 0s}\narchive: {dir: %q}\nstate: {dir: %q}\nlists: {labels: true}\n%s",
		in, filepath.Join(dir, "archive"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 3")))
	if r := runSragent(t, nil, "publish", "--config", cfg); r.code != 0 {
		t.Fatalf("publish: %d %s", r.code, r.stderr)
	}
	pcfg := producer.Config{Brokers: k.Brokers, TopicPrefix: k.Prefix}
	topics, err := producer.ListTopics(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	dec := newAvroDecoder(t, k.Registry)
	checked := 0
	for _, topic := range topics {
		if !strings.HasPrefix(topic, k.Prefix+".") {
			continue
		}
		want := readCommitted(t, k, topic)
		r := runSragent(t, nil, "tail", topic, "--from-beginning", "--config", cfg)
		if r.code != 0 {
			t.Fatalf("tail %s: %d %s", topic, r.code, r.stderr)
		}
		got := tailLines(t, r.stdout)
		if len(got) != len(want) {
			t.Errorf("%s: tail printed %d records, a consumer reads %d", topic, len(got), len(want))
			continue
		}
		// Records of a partition come in offset order; partitions may interleave.
		byPos := map[string]tailLine{}
		for _, l := range got {
			byPos[fmt.Sprint(l.Partition, "/", l.Offset)] = l
		}
		for _, rec := range want {
			l, ok := byPos[fmt.Sprint(rec.Partition, "/", rec.Offset)]
			if !ok || l.Error != "" || l.Topic != topic {
				t.Fatalf("%s %d/%d: %+v", topic, rec.Partition, rec.Offset, l)
			}
			for _, part := range []struct {
				name      string
				raw, json []byte
			}{{"key", rec.Key, l.Key}, {"value", rec.Value, l.Value}} {
				if part.raw == nil {
					if string(part.json) != "null" {
						t.Errorf("%s %d/%d: %s %s, want null", topic, rec.Partition, rec.Offset, part.name, part.json)
					}
					continue
				}
				if part.raw[0] != 0 { // the state topic's: text keys, JSON values
					want := part.raw
					if !json.Valid(want) || part.name == "key" {
						want, _ = json.Marshal(string(want))
					}
					if !reflect.DeepEqual(jsonOf(t, want), jsonOf(t, part.json)) {
						t.Errorf("%s %d/%d: %s %s differs from the record's", topic, rec.Partition, rec.Offset, part.name, part.json)
					}
					continue
				}
				// goavro's own Avro JSON of the same record, parsed, is tail's
				// parsed (field order aside; goavro names a logical type's
				// union branch long.timestamp-millis where Avro says long).
				native := dec.decode(t, part.raw)
				codec := dec.codecs[int(binary.BigEndian.Uint32(part.raw[1:5]))]
				theirs, err := codec.TextualFromNative(nil, native)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(logicalBranches(jsonOf(t, theirs)), jsonOf(t, part.json)) {
					t.Errorf("%s %d/%d: the %s tail printed differs from goavro's JSON of it:\n%s\n%s", topic, rec.Partition, rec.Offset, part.name, part.json, theirs)
				}
			}
			if marker := headerOf(rec.Headers, producer.MarkerHeader); marker != l.Headers[producer.MarkerHeader] {
				t.Errorf("%s %d/%d: marker header %q, tail %q", topic, rec.Partition, rec.Offset, marker, l.Headers[producer.MarkerHeader])
			}
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d topics checked", checked)
	}

	// The command demo --keep prints works as printed.
	help := demoConsumeHelp(k.Brokers[0], k.Registry, k.Prefix+".SRPatient")
	var env, args []string
	for _, line := range strings.Split(help, "\n") {
		if f := strings.Fields(line); len(f) > 3 && strings.HasPrefix(f[0], "SRAGENT_") {
			env, args = f[:2], f[3:]
			break
		}
	}
	if r := runSragent(t, env, args...); r.code != 0 || len(tailLines(t, r.stdout)) == 0 {
		t.Fatalf("the demo's command %v %v: %d %s", env, args, r.code, r.stderr)
	}

	// A table name, --max and --key.
	r := runSragent(t, nil, "tail", "SRPatient", "--from-beginning", "--max", "3", "--config", cfg)
	if lines := tailLines(t, r.stdout); r.code != 0 || len(lines) != 3 || lines[0].Topic != k.Prefix+".SRPatient" {
		t.Fatalf("--max 3: %d %s %s", r.code, r.stdout, r.stderr)
	} else if !strings.HasPrefix(string(lines[1].Value), `{"op":`) || !strings.HasPrefix(string(lines[1].Key), `{"table":"SRPatient"`) {
		t.Errorf("fields not in schema order: %s %s", lines[1].Key, lines[1].Value)
	}
	r = runSragent(t, nil, "tail", "SRPatient", "--from-beginning", "--key", "A811000/1000000", "--config", cfg)
	keyed := tailLines(t, r.stdout)
	if r.code != 0 || len(keyed) == 0 {
		t.Fatalf("--key: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, l := range keyed {
		if !strings.Contains(string(l.Key), `"RowIdentifier":1000000`) || !strings.Contains(string(l.Key), `"A811000"`) {
			t.Errorf("--key printed another key: %s", l.Key)
		}
	}
	if r := runSragent(t, nil, "tail", "SRNoSuchTable", "--config", cfg); r.code != exitUsage || !strings.Contains(r.stderr, k.Prefix+".SRPatient") {
		t.Errorf("an unknown topic: %d %q", r.code, r.stderr)
	}

	// Following: what is committed after tail started, and with
	// --from-beginning --follow everything, what comes meanwhile included.
	before := len(readCommitted(t, k, k.Prefix+".SRPatient"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type tailRun struct {
		out, errb syncBuffer
		done      chan int
		skip      int // the lines before the new batch's
	}
	runs := []*tailRun{{done: make(chan int)}, {done: make(chan int), skip: before}}
	for i, args := range [][]string{{"--max", "2"}, {"--from-beginning", "--follow", "--max", fmt.Sprint(before + 2)}} {
		tr := runs[i]
		go func() {
			tr.done <- run(ctx, append([]string{"tail", "SRPatient", "--config", cfg}, args...), &tr.out, &tr.errb, nil)
		}()
	}
	time.Sleep(2 * time.Second) // tail has taken the topic's end
	if err := os.Rename(held, last); err != nil {
		t.Fatal(err)
	}
	if r := runSragent(t, nil, "publish", "--config", cfg); r.code != 0 {
		t.Fatalf("publish: %d %s", r.code, r.stderr)
	}
	for i, tr := range runs {
		select {
		case code := <-tr.done:
			lines := tailLines(t, tr.out.String())
			if code != 0 || len(lines) != tr.skip+2 {
				t.Fatalf("follow %d: exit %d, %d lines %s", i, code, len(lines), tr.errb.String())
			}
			for _, l := range lines[tr.skip:] {
				if string(l.Value) != "null" && !strings.Contains(string(l.Value), filepath.Base(last)) {
					t.Errorf("follow %d printed a record of another batch: %s", i, l.Value)
				}
			}
		case <-ctx.Done():
			t.Fatalf("follow %d printed nothing of the new batch: %s %s", i, tr.out.String(), tr.errb.String())
		}
	}
}

// logicalBranches renames goavro's union branches of logical types
// ("long.timestamp-millis") to their Avro names ("long").
func logicalBranches(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if p, _, ok := strings.Cut(k, "."); ok && len(x) == 1 && (p == "long" || p == "int" || p == "bytes" || p == "string") {
				k = p
			}
			out[k] = logicalBranches(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = logicalBranches(e)
		}
	}
	return v
}

func jsonOf(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return v
}

// headerOf returns the value of the record header key, or "".
func headerOf(hs []kgo.RecordHeader, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
