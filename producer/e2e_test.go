package producer

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas"
	"github.com/sragent/sragent/schemas/srgen"
)

// env is a broker, a registry and the folders of one agent.
type env struct {
	t                       *testing.T
	k                       *kafkatest.Env
	registry                string // the URL the agent uses
	cfg                     Config
	in, archive, quarantine string
	stateDir                string // the table state
	reconcile               ReconcileConfig
	labels                  bool // lists.labels
}

// newEnv runs on the broker and registry the test tier selects: kfake and
// srfake, or the real ones of the integration tier.
func newEnv(t *testing.T) *env { return envOn(t, kafkatest.New(t)) }

// newFakeEnv runs on kfake on every tier, for tests that inject faults
// through kfake's request hooks.
func newFakeEnv(t *testing.T, opts ...kfake.Opt) *env { return envOn(t, kafkatest.Fake(t, opts...)) }

func envOn(t *testing.T, k *kafkatest.Env) *env {
	t.Helper()
	dir := t.TempDir()
	return &env{t: t, k: k, registry: k.Registry,
		cfg: Config{Brokers: k.Brokers, TopicPrefix: k.Prefix, Partitions: 3, TxnRecords: 150, Linger: time.Millisecond},
		in:  filepath.Join(dir, "in"), archive: filepath.Join(dir, "archive"), quarantine: filepath.Join(dir, "quarantine"),
		stateDir: filepath.Join(dir, "state")}
}

// run starts a publisher and runs one pass of the agent.
func (e *env) run(ctx context.Context) (*Pass, error) { return e.runWith(ctx) }

func (e *env) runWith(ctx context.Context, opts ...Opt) (*Pass, error) {
	var pass *Pass
	err := e.withAgent(ctx, opts, func(a *Agent) (err error) {
		pass, err = a.RunOnce(ctx)
		return err
	})
	return pass, err
}

// withAgent opens an agent, calls fn, and closes it.
func (e *env) withAgent(ctx context.Context, opts []Opt, fn func(*Agent) error) error {
	e.t.Helper()
	a, err := Open(ctx, e.agentConfig(), opts...)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// agentConfig is the configuration of the env's agent.
func (e *env) agentConfig() AgentConfig {
	return AgentConfig{InputDir: e.in, ArchiveDir: e.archive, QuarantineDir: e.quarantine,
		StateDir: e.stateDir, SuppressUnchanged: true, Reconcile: e.reconcile, Labels: e.labels, Kafka: e.cfg, Registry: RegistryConfig{URL: e.registry}}
}

// event is one decoded record.
type event struct {
	topic     string
	partition int32
	offset    int64
	key       map[string]any
	raw       []byte         // the key's bytes
	at        time.Time      // the record's timestamp
	value     map[string]any // nil for a tombstone
	marker    string
}

// consume reads every committed record of the topics and decodes it with
// the schemas the registry holds for its ids.
func (e *env) consume(topics ...string) []event {
	e.t.Helper()
	ctx := context.Background()
	src, err := sr.NewClient(sr.URLs(e.k.Registry))
	if err != nil {
		e.t.Fatal(err)
	}
	dec := &decoder{sr: src, codecs: map[int]*goavro.Codec{}}
	var out []event
	err = ReadCommitted(ctx, e.cfg, topics, func(r *kgo.Record) {
		if len(r.Headers) > 0 && r.Headers[0].Key == testHeader {
			return // the test's own
		}
		ev := event{topic: r.Topic, partition: r.Partition, offset: r.Offset, at: r.Timestamp}
		ev.key, ev.raw = dec.decode(e.t, r.Key), r.Key
		if r.Value != nil {
			ev.value = dec.decode(e.t, r.Value)
		}
		for _, h := range r.Headers {
			if h.Key == MarkerHeader {
				ev.marker = string(h.Value)
			}
		}
		out = append(out, ev)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// testHeader marks records a test produces itself (to roll segments on a
// real broker); they are not the agent's and consume skips them.
const testHeader = "sragent.test"

type decoder struct {
	sr     *sr.Client
	mu     sync.Mutex
	codecs map[int]*goavro.Codec
}

func (d *decoder) decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if len(b) < 5 || b[0] != 0 {
		t.Fatalf("not Confluent-framed: % x", b[:min(len(b), 8)])
	}
	id := int(binary.BigEndian.Uint32(b[1:5]))
	d.mu.Lock()
	c := d.codecs[id]
	if c == nil {
		s, err := d.sr.SchemaByID(context.Background(), id)
		if err != nil {
			t.Fatalf("schema id %d: %v", id, err)
		}
		if c, err = goavro.NewCodec(s.Schema); err != nil {
			t.Fatal(err)
		}
		d.codecs[id] = c
	}
	d.mu.Unlock()
	v, rest, err := c.NativeFromBinary(b[5:])
	if err != nil || len(rest) != 0 {
		t.Fatalf("decode with schema %d: %v (%d bytes left)", id, err, len(rest))
	}
	return v.(map[string]any)
}

// table is a consumer's rebuild of one table of one group.
type table struct {
	rows map[string]map[string]any // by key
}

// sharedGroup is where rebuild keeps a shared table: its rows are the
// same reference data in every group, one row per key on the topic.
const sharedGroup = "*"

// tableOf returns the rebuild of group's table name (nil if none).
func tableOf(tables map[string]map[string]*table, group, name string) *table {
	if tb := tables[sharedGroup][name]; tb != nil {
		return tb
	}
	return tables[group][name]
}

// sharedKey reports whether a decoded key is a shared table's: it holds
// no organisation.
func sharedKey(key any) bool {
	_, org := key.(map[string]any)[schemas.OrgColumn]
	return !org
}

// rebuild applies the events of every table topic the way a standard
// sink does (Debezium's ExtractNewRecordState and a JDBC sink): r/u
// upsert, d and tombstones delete, and markers are dropped. Markers are
// boundaries: correct tables never depend on them.
func rebuild(t *testing.T, events []event) map[string]map[string]*table {
	out := map[string]map[string]*table{} // group → table
	get := func(group, name string) *table {
		if out[group] == nil {
			out[group] = map[string]*table{}
		}
		tb := out[group][name]
		if tb == nil {
			tb = &table{rows: map[string]map[string]any{}}
			out[group][name] = tb
		}
		return tb
	}
	groupOfKey := map[string]string{} // topic + key → group, for tombstones
	for _, ev := range events {
		if ev.marker != "" {
			continue // dropped, as the Filter SMT on sr.marker does
		}
		name := ev.topic[strings.IndexByte(ev.topic, '.')+1:] // after the prefix
		k := fmt.Sprint(ev.key)
		if ev.value == nil {
			g := groupOfKey[ev.topic+k]
			delete(get(g, name).rows, k)
			continue
		}
		g := ev.value["source"].(map[string]any)["group"].(string)
		if sharedKey(ev.key) {
			g = sharedGroup
		}
		tb := get(g, name)
		groupOfKey[ev.topic+k] = g
		switch op := ev.value["op"].(string); op {
		case "r", "u", "c":
			tb.rows[k] = ev.value["after"].(map[string]any)
		case "d":
			delete(tb.rows, k)
		default:
			t.Fatalf("unknown op %q", op)
		}
	}
	return out
}

// cellString renders a decoded Avro field as the CSV cell srgen wrote.
func TestPublishChainsRebuildTables(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 11, Groups: 2, Orgs: 2, Batches: 4, Rows: 40, Zip: true})
	ctx := context.Background()
	pass, err := e.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Batches) != 8 || len(pass.Halted) != 0 {
		t.Fatalf("pass %+v", pass)
	}
	for _, b := range pass.Batches {
		if b.Outcome != Published || b.MovedTo == "" {
			t.Errorf("%s/%s: %s %s", b.Group, b.Batch, b.Outcome, b.Reason)
		}
	}
	var topics []string
	for _, tb := range g.Tables() {
		topics = append(topics, e.cfg.TopicFor(tb))
	}
	events := e.consume(topics...)
	tables := rebuild(t, events)
	for _, group := range g.Groups() {
		for _, name := range g.Tables() {
			want := g.Expected(group, name)
			got := tableOf(tables, group, name)
			if got == nil || len(got.rows) != len(want) {
				n := 0
				if got != nil {
					n = len(got.rows)
				}
				t.Errorf("%s %s: %d rows rebuilt from the topic, srgen expects %d", group, name, n, len(want))
				continue
			}
			byID := map[string]map[string]any{}
			for _, row := range got.rows {
				id, _ := cellString(row["sragent."+name+".Value"].(map[string]any)["RowIdentifier"])
				byID[id] = row["sragent."+name+".Value"].(map[string]any)
			}
			for id, cells := range want {
				row := byID[strconv.FormatInt(id, 10)]
				if row == nil {
					t.Errorf("%s %s: row %d missing", group, name, id)
					continue
				}
				tab, known := schemas.Lookup(name)
				for col, cell := range cells {
					var c schemas.Column // uncatalogued: strings
					if known {
						c, _ = tab.Column(col)
					}
					if got, ok := cellAs(row[col], c.Type); ok && got != wantCell(t, cell, c.Type) {
						t.Errorf("%s %s row %d %s: %q, want %q", group, name, id, col, got, cell)
					}
				}
			}
		}
	}
	checkMarkersAndTombstones(t, e, events)
	checkSchemas(t, e)
}

// Every full file has a begin and an end marker on every partition, the
// end marker counts the file's rows, and every d event is followed by a
// tombstone with the same key.
func checkMarkersAndTombstones(t *testing.T, e *env, events []event) {
	t.Helper()
	type snap struct {
		begins, ends map[int32]bool
		count        int64
	}
	snaps := map[string]*snap{}
	rows := map[string]int64{} // snapshot id → r events
	lastD := map[string]string{}
	for _, ev := range events {
		k := fmt.Sprint(ev.key)
		if ev.value == nil {
			if lastD[ev.topic+"/"+fmt.Sprint(ev.partition)] != k {
				t.Errorf("tombstone on %s without a d event just before it", ev.topic)
			}
			delete(lastD, ev.topic+"/"+fmt.Sprint(ev.partition))
			continue
		}
		if d, ok := lastD[ev.topic+"/"+fmt.Sprint(ev.partition)]; ok {
			t.Errorf("d event %s on %s not followed by its tombstone", d, ev.topic)
		}
		src := ev.value["source"].(map[string]any)
		if ts, ok := src["ts_ms"].(map[string]any); !ok || ts["long.timestamp-millis"] == nil {
			t.Errorf("%s: an event without source.ts_ms", ev.topic)
		}
		if op, snap := ev.value["op"], src["snapshot"]; (op == "r" || op == "m") != (fmt.Sprint(snap) == "map[string:true]") ||
			(op == "u" && fmt.Sprint(snap) != "map[string:false]") {
			t.Errorf("%s: op %s with source.snapshot %v", ev.topic, op, snap)
		}
		switch ev.value["op"] {
		case "d":
			lastD[ev.topic+"/"+fmt.Sprint(ev.partition)] = k
		case "r":
			rows[fmt.Sprintf("%s/%s/%s", src["group"], src["batch"], src["table"])]++
		case "m":
			if want := ev.topic[strings.IndexByte(ev.topic, '.')+1:] + "/" + ev.marker + "/" + src["group"].(string); ev.key["table"] != want {
				t.Errorf("marker key table %v, want %s", ev.key["table"], want)
			}
			m := ev.value["marker"].(map[string]any)["sragent.Marker"].(map[string]any)
			id := m["snapshot_id"].(string)
			s := snaps[id]
			if s == nil {
				s = &snap{begins: map[int32]bool{}, ends: map[int32]bool{}}
				snaps[id] = s
			}
			if ev.marker == "snapshot_begin" {
				s.begins[ev.partition] = true
			} else {
				s.ends[ev.partition] = true
				s.count = m["row_count"].(map[string]any)["long"].(int64)
				if _, ok := m["dead_letters"].(map[string]any)["long"].(int64); !ok {
					t.Errorf("snapshot %s: end marker without dead_letters", m["snapshot_id"])
				}
			}
		}
	}
	if len(snaps) == 0 {
		t.Fatal("no snapshot markers")
	}
	for id, s := range snaps {
		if len(s.begins) != int(e.cfg.Partitions) || len(s.ends) != int(e.cfg.Partitions) {
			t.Errorf("snapshot %s: begin on %d and end on %d of %d partitions", id, len(s.begins), len(s.ends), e.cfg.Partitions)
		}
		if s.count != rows[id] {
			t.Errorf("snapshot %s: end marker counts %d rows, the topic has %d", id, s.count, rows[id])
		}
	}
}

// chain writes srgen's batches for opts into the input folder.
func (e *env) chain(opts srgen.Options) *srgen.Generator {
	e.t.Helper()
	g := srgen.New(opts)
	if err := g.Write(e.in); err != nil {
		e.t.Fatal(err)
	}
	return g
}
