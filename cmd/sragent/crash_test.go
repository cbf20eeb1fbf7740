package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sragent/sragent/producer"
	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas/srgen"
)

// TestMain lets the test binary run as sragent itself (for the crash
// test's subprocesses): the same code path as the real binary.
func TestMain(m *testing.M) {
	if os.Getenv("GO_TEST_RUN_AS_SRAGENT") == "1" {
		os.Exit(runMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// brokerAndRegistry returns the broker and registry of the test tier:
// in-process kfake and srfake, or the integration tier's real ones.
func brokerAndRegistry(t *testing.T) *kafkatest.Env {
	t.Helper()
	return kafkatest.New(t)
}

// kafkaConfig renders the kafka and schema_registry sections of a config
// for k; extra holds more kafka keys (", partitions: 3").
func kafkaConfig(k *kafkatest.Env, extra string) string {
	return kafkaConfigURL(k, k.Registry, extra)
}

// kafkaConfigURL is kafkaConfig with another registry URL (a proxy).
func kafkaConfigURL(k *kafkatest.Env, registry, extra string) string {
	brokers, _ := json.Marshal(k.Brokers)
	return fmt.Sprintf("kafka: {brokers: %s, topic_prefix: %s%s}\nschema_registry: {url: %q}\n", brokers, k.Prefix, extra, registry)
}

// syncBuffer collects a subprocess's output; it may be read while the
// process still writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// agentProcess starts `sragent args...` as a subprocess.
func agentProcess(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "GO_TEST_RUN_AS_SRAGENT=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// Killing the agent (SIGKILL, no chance to clean up) at many points of a
// large chain and restarting it never duplicates or loses a row for a
// read_committed consumer; every third restart also finds state.dir's
// table state gone and rebuilds it from the topics, and reconciliation
// (delete mode) never deletes a row the chain's full files still hold.
func TestKillAndResumeExactlyOnce(t *testing.T) {
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 21, Groups: 2, Orgs: 2, Batches: 3, Rows: 20000, Tables: []string{"SRPatient", "SREvent", "SRCode"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
reconcile: {mode: delete}
%slog: {level: warn}
`, in, filepath.Join(dir, "archive"), filepath.Join(dir, "quarantine"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 3, transaction_records: 300, linger: 1ms")))

	kills := 0
	for _, after := range []time.Duration{60, 90, 120, 150, 180, 220, 260, 300, 350, 400, 500, 600, 700} {
		cmd, out := agentProcess(t, "publish", "--config", cfg)
		time.Sleep(after * time.Millisecond)
		cmd.Process.Kill()
		err := cmd.Wait()
		if err == nil {
			break // finished before the kill
		}
		if strings.Contains(out.String(), "sragent:") {
			t.Fatalf("run failed by itself, not by the kill: %s", out.String())
		}
		kills++
		if kills%3 == 0 {
			if err := os.RemoveAll(filepath.Join(dir, "state", "tables")); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd, out := agentProcess(t, "publish", "--config", cfg)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	if kills < 4 {
		t.Fatalf("only %d runs were killed mid-way; the test proves nothing", kills)
	}

	totalWant := checkRowsOnce(t, k, filepath.Join(dir, "archive"), g, 3, []string{"SRPatient", "SREvent", "SRCode"})
	dec := newAvroDecoder(t, k.Registry)
	for _, r := range readCommitted(t, k, k.Prefix+".SRPatient", k.Prefix+".SREvent", k.Prefix+".SRCode") {
		if r.Value != nil && len(r.Headers) == 0 && sourceOf(dec.decode(t, r.Value)).line == 0 {
			t.Errorf("%s: a row was deleted as vanished, but every full file held every live row", r.Topic)
		}
	}
	t.Logf("%d runs killed; %d rows, each exactly once", kills, totalWant)
}

// checkRowsOnce checks that every row of the archived chain g (batches
// batches of tables) is on the topics exactly once; it returns the rows.
func checkRowsOnce(t *testing.T, k *kafkatest.Env, archive string, g *srgen.Generator, batches int, tables []string) int {
	t.Helper()
	want := map[string]int{} // group/batch/file → rows
	var total int
	var topics []string
	for _, table := range tables {
		topics = append(topics, k.Prefix+"."+table)
	}
	for _, group := range g.Groups() {
		for b := 0; b < batches; b++ {
			for _, table := range tables {
				n := countRows(t, filepath.Join(archive, group, g.BatchName(b)), table)
				want[fmt.Sprintf("%s/%s/%s.csv", group, g.BatchName(b), table)] = n
				total += n
			}
		}
	}
	seen := map[string]int{}
	lines := map[string]bool{}
	dec := newAvroDecoder(t, k.Registry)
	for _, r := range readCommitted(t, k, topics...) {
		if r.Value == nil || len(r.Headers) > 0 {
			continue // tombstones and markers
		}
		src := sourceOf(dec.decode(t, r.Value))
		id := src.group + "/" + src.batch + "/" + src.file
		line := fmt.Sprintf("%s:%d", id, src.line)
		if lines[line] {
			t.Errorf("row %s published twice", line)
		}
		lines[line] = true
		seen[id]++
	}
	// Rows not published because they were unchanged are counted in the
	// END event of their batch.
	unchanged := map[string]int{}
	for _, r := range readCommitted(t, k, k.Prefix+".batches") {
		v := dec.decode(t, r.Value)
		if v["status"] != "END" {
			continue
		}
		for _, dc := range v["data_collections"].([]any) {
			c := dc.(map[string]any)
			table := strings.TrimPrefix(c["data_collection"].(string), k.Prefix+".")
			unchanged[fmt.Sprintf("%s/%s/%s.csv", v["group"], v["batch"], table)] += int(c["unchanged"].(int64))
		}
	}
	for id, n := range want {
		if seen[id]+unchanged[id] != n {
			t.Errorf("%s: %d rows published and %d unchanged, file has %d", id, seen[id], unchanged[id], n)
		}
	}
	return total
}

// countRows counts the data rows of a table file in an archived batch.
func countRows(t *testing.T, batchDir, table string) int {
	t.Helper()
	var rep report
	res := runSragent(t, nil, "validate", "--json", "--offline", "--config", testConfig(t, filepath.Dir(batchDir)), batchDir)
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Batches[0].Files {
		if f.Table == table {
			return int(f.Events + f.DeadLetters + f.Unchanged)
		}
	}
	t.Fatalf("no %s in %s", table, batchDir)
	return 0
}

type source struct {
	group, batch, file string
	line               int64
}

// sourceOf returns the coordinates in a decoded envelope.
func sourceOf(v map[string]any) source {
	s := v["source"].(map[string]any)
	return source{group: s["group"].(string), batch: s["batch"].(string), file: s["file"].(string), line: s["line"].(int64)}
}

// readCommitted reads every committed record of the topics.
func readCommitted(t *testing.T, k *kafkatest.Env, topics ...string) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	cfg := producer.Config{Brokers: k.Brokers, TopicPrefix: k.Prefix}
	if err := producer.ReadCommitted(context.Background(), cfg, topics, func(r *kgo.Record) { out = append(out, r) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// avroDecoder decodes Confluent-framed Avro with the registry's schemas.
type avroDecoder struct {
	sr     *sr.Client
	codecs map[int]*goavro.Codec
}

func newAvroDecoder(t *testing.T, url string) *avroDecoder {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	return &avroDecoder{sr: cl, codecs: map[int]*goavro.Codec{}}
}

func (d *avroDecoder) decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if len(b) < 5 || b[0] != 0 {
		t.Fatalf("not Confluent-framed")
	}
	id := int(binary.BigEndian.Uint32(b[1:5]))
	c := d.codecs[id]
	if c == nil {
		s, err := d.sr.SchemaByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c, err = goavro.NewCodec(s.Schema); err != nil {
			t.Fatal(err)
		}
		d.codecs[id] = c
	}
	v, _, err := c.NativeFromBinary(b[5:])
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}
