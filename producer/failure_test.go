package producer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas"
	"github.com/sragent/sragent/schemas/srgen"
)

// rowEvents returns the coordinates of every row event (not markers, not
// tombstones) and fails the test when one appears twice.
func rowEvents(t *testing.T, events []event) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.value == nil || ev.value["op"] == "m" {
			continue
		}
		src := ev.value["source"].(map[string]any)
		id := fmt.Sprintf("%s/%s/%s:%d", src["group"], src["batch"], src["file"], src["line"])
		if seen[id] {
			t.Errorf("row %s published twice", id)
		}
		seen[id] = true
	}
	return seen
}

func allTopics(g *srgen.Generator, cfg Config) []string {
	var out []string
	for _, tb := range g.Tables() {
		out = append(out, cfg.TopicFor(tb))
	}
	return out
}

// failProduce makes the n-th produce request after now fail with a
// non-retriable error on every partition.
func failProduce(c *kfake.Cluster, n int64) {
	var seen atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		if seen.Add(1) < n {
			return nil, nil, false // observe only: the control stays
		}
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.InvalidRecord.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// A produce failure in the middle of a batch aborts the open transaction;
// the next run resumes after the last checkpoint. A read_committed reader
// sees every row exactly once and the tables come out right.
func TestResumeAfterProduceFailure(t *testing.T) {
	midFile := 0 // failures that left a batch half-published inside a file
	t.Cleanup(func() {
		if midFile == 0 {
			t.Error("no injected failure interrupted a batch inside a file: the resume path went untested")
		}
	})
	for _, failAt := range []int64{2, 5, 9, 14} {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			e := newFakeEnv(t)
			e.cfg.TxnRecords = 40
			g := e.chain(srgen.Options{Seed: 5, Groups: 1, Orgs: 2, Batches: 3, Rows: 60})
			ctx := context.Background()
			failProduce(e.k.Fake, failAt)
			if _, err := e.run(ctx); err == nil {
				t.Fatal("the injected produce error was not reported")
			}
			if prog := e.state(ctx).Progress("group1"); !prog.Done && prog.Line > 0 {
				midFile++
			}
			pass, err := e.run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range pass.Batches {
				if b.Outcome != Published {
					t.Errorf("%s after resume: %s %s", b.Batch, b.Outcome, b.Reason)
				}
			}
			events := e.consume(allTopics(g, e.cfg)...)
			rowEvents(t, events)
			tables := rebuild(t, events)
			for _, name := range g.Tables() {
				if got, want := len(tableOf(tables, "group1", name).rows), len(g.Expected("group1", name)); got != want {
					t.Errorf("%s: %d rows, want %d", name, got, want)
				}
			}
		})
	}
}

// Delivering a published batch again produces nothing and archives it;
// a different batch under a used folder name is quarantined.
func TestRedeliveryAndConflict(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 6, Groups: 1, Orgs: 1, Batches: 2, Rows: 20})
	ctx := context.Background()
	if _, err := e.run(ctx); err != nil {
		t.Fatal(err)
	}
	before := len(e.consume(allTopics(g, e.cfg)...))
	// Same batch again.
	first := g.BatchName(0)
	if err := copyDir(filepath.Join(e.archive, "group1", first), filepath.Join(e.in, "group1", first)); err != nil {
		t.Fatal(err)
	}
	pass, err := e.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Batches) != 1 || pass.Batches[0].Outcome != Duplicate || !strings.HasPrefix(pass.Batches[0].MovedTo, e.archive) {
		t.Fatalf("redelivery: %+v", pass.Batches)
	}
	if after := len(e.consume(allTopics(g, e.cfg)...)); after != before {
		t.Fatalf("redelivery produced %d new records", after-before)
	}
	// Another batch under the same name.
	dir := filepath.Join(e.in, "group1", first)
	if err := copyDir(filepath.Join(e.archive, "group1", first), dir); err != nil {
		t.Fatal(err)
	}
	man := filepath.Join(dir, "SRManifest.csv")
	raw, _ := os.ReadFile(man)
	os.WriteFile(man, append(raw, []byte("SRNewTable,N,N,,"+first+"\r\n")...), 0o644)
	os.WriteFile(filepath.Join(dir, "SRNewTable.csv"), []byte("RowIdentifier,Name\r\n1,x\r\n"), 0o644)
	pass, err = e.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Batches) != 1 || pass.Batches[0].Outcome != Conflict || !strings.HasPrefix(pass.Batches[0].MovedTo, e.quarantine) {
		t.Fatalf("conflict: %+v", pass.Batches)
	}
	if _, err := os.Stat(filepath.Join(pass.Batches[0].MovedTo, ErrorFile)); err != nil {
		t.Error(err)
	}
}

// A structurally bad batch is quarantined whole and halts its chain; the
// other chain publishes. After `chain resume`, the next batch publishes.
func TestQuarantineHaltsOneChain(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 7, Groups: 2, Orgs: 1, Batches: 3, Rows: 20, Zip: true})
	bad := filepath.Join(e.in, "group1", g.BatchName(1), "SRExtract.zip")
	raw, _ := os.ReadFile(bad)
	os.WriteFile(bad, raw[:len(raw)/2], 0o644) // truncated
	ctx := context.Background()
	pass, err := e.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range pass.Batches {
		got[b.Group+"/"+b.Batch] = b.Outcome.String()
	}
	want := map[string]string{"group1/" + g.BatchName(0): "published", "group1/" + g.BatchName(1): "invalid",
		"group2/" + g.BatchName(0): "published", "group2/" + g.BatchName(1): "published", "group2/" + g.BatchName(2): "published"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if got["group1/"+g.BatchName(2)] != "halted" || pass.Halted["group1"] == "" {
		t.Fatalf("group1 should wait behind the quarantined batch: %+v", pass)
	}
	if _, err := os.Stat(filepath.Join(e.in, "group1", g.BatchName(2))); err != nil {
		t.Errorf("the batch behind the quarantined one moved: %v", err)
	}
	text, _ := os.ReadFile(filepath.Join(e.quarantine, "group1", g.BatchName(1), ErrorFile))
	if !strings.Contains(string(text), "corrupt or truncated zip") {
		t.Errorf("error.txt:\n%s", text)
	}
	// Still halted on the next pass.
	if pass, _ = e.run(ctx); len(pass.Batches) != 1 || pass.Batches[0].Outcome != Halted || pass.Halted["group1"] == "" {
		t.Fatalf("second pass: %+v", pass)
	}
	// The operator resumes: batch 3 has a gap (batch 2 never published) and
	// is published because the operator accepted it.
	if err := e.resume(ctx, "group1"); err != nil {
		t.Fatal(err)
	}
	pass, err = e.run(ctx)
	if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("after resume: %+v %v", pass, err)
	}
}

func (e *env) state(ctx context.Context) *State {
	e.t.Helper()
	var st *State
	if err := e.withAgent(ctx, nil, func(a *Agent) error { st = a.State(); return nil }); err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) resume(ctx context.Context, group string) error {
	return e.withAgent(ctx, nil, func(a *Agent) error { return a.Resume(ctx, group) })
}

// A lost delta halts its chain without moving the batch; a later full
// batch of the gapped tables lifts the halt by itself.
func TestGapHaltsUntilFullBatch(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 8, Groups: 2, Orgs: 1, Batches: 3, Rows: 20, Tables: []string{"SRPatient", "SRCode"}})
	os.RemoveAll(filepath.Join(e.in, "group1", g.BatchName(1))) // lost delta
	ctx := context.Background()
	pass, err := e.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h := pass.Halted["group1"]; !strings.Contains(h, "gap") || pass.Halted["group2"] != "" {
		t.Fatalf("halted: %v", pass.Halted)
	}
	if _, err := os.Stat(filepath.Join(e.in, "group1", g.BatchName(2))); err != nil {
		t.Fatal("the gapped batch must stay in the input folder")
	}
	// A full batch of every table arrives later.
	full := filepath.Join(e.in, "group1", "20240410_1707")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "SRManifest.csv"), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,N,N,,20240410_1707\r\nSRCode,N,N,,20240410_1707\r\n"), 0o644)
	for _, tb := range []string{"SRPatient", "SRCode"} {
		src, _ := os.ReadFile(filepath.Join(e.archive, "group1", g.BatchName(0), tb+".csv"))
		os.WriteFile(filepath.Join(full, tb+".csv"), src, 0o644)
	}
	pass, err = e.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Batches) != 2 || pass.Batches[0].Outcome != Published || pass.Batches[1].Outcome != Published || len(pass.Halted) != 0 {
		t.Fatalf("after the full batch: %+v", pass)
	}
}

// A schema the registry calls incompatible stops the batch before any
// record is produced.
func TestIncompatibleSchemaFailsBeforeProducing(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 9, Groups: 1, Orgs: 1, Batches: 1, Rows: 10, Tables: []string{"SRPatient"}})
	subject := e.cfg.TopicFor("SRPatient") + "-value"
	avsc, err := schemas.Embedded("SRPatient")
	if err != nil {
		t.Fatal(err)
	}
	e.k.MakeIncompatible(t, subject, avsc.Value, "DateBirth")
	_, err = e.run(context.Background())
	var ie *IncompatibleError
	if !errors.As(err, &ie) || ie.Subject != subject || !strings.Contains(err.Error(), subject+": schema is not compatible") {
		t.Fatalf("got %v, want an IncompatibleError", err)
	}
	if n := len(e.consume(e.cfg.TopicFor("SRPatient"), e.cfg.BatchesTopic())); n != 0 {
		t.Errorf("%d records produced before the schema check", n)
	}
	if _, err := os.Stat(filepath.Join(e.in, "group1", g.BatchName(0))); err != nil {
		t.Error("the batch must stay to be published once the schema is fixed")
	}
}

// Existing topics that are not compacted or have another partition count
// are reported, all at once, and not used.
func TestWrongTopicConfigReported(t *testing.T) {
	e := newEnv(t)
	adm := e.k.Admin(t)
	del := "delete"
	if _, err := adm.CreateTopic(context.Background(), 3, 1, map[string]*string{"cleanup.policy": &del}, e.cfg.BatchesTopic()); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(context.Background(), 2, 1, nil, e.cfg.DeadLetterTopic()); err != nil {
		t.Fatal(err)
	}
	_, err := e.run(context.Background())
	var te *TopicError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "topic "+e.cfg.BatchesTopic()+": cleanup.policy is \"delete\"") ||
		!strings.Contains(err.Error(), "topic "+e.cfg.DeadLetterTopic()+": has 2 partitions, kafka.partitions says 3") {
		t.Fatalf("got %v", err)
	}
}

// verifyExactlyOnce checks that every row of every batch of g is on the
// topics exactly once, that the tables rebuild to srgen's state and that
// every schema the agent registered evolved BACKWARD compatibly.
func verifyExactlyOnce(t *testing.T, e *env, g *srgen.Generator) {
	t.Helper()
	checkSchemas(t, e)
	events := e.consume(allTopics(g, e.cfg)...)
	rowEvents(t, events)
	checkRowCounts(t, rebuild(t, events), g)
}

// checkRowCounts fails for every table whose rebuild does not hold as many
// rows as srgen expects.
func checkRowCounts(t *testing.T, tables map[string]map[string]*table, g *srgen.Generator) {
	t.Helper()
	for _, group := range g.Groups() {
		for _, name := range g.Tables() {
			got := 0
			if tb := tableOf(tables, group, name); tb != nil {
				got = len(tb.rows)
			}
			if want := len(g.Expected(group, name)); got != want {
				t.Errorf("%s %s: %d rows rebuilt, srgen expects %d", group, name, got, want)
			}
		}
	}
}

// checkSchemas fails unless every subject under the test's prefix evolved
// BACKWARD compatibly, judged by a real Avro checker.
func checkSchemas(t *testing.T, e *env) {
	t.Helper()
	if err := kafkatest.CheckSubjectEvolution(context.Background(), e.k.Registry, e.cfg.TopicPrefix+"."); err != nil {
		t.Error(err)
	}
}
