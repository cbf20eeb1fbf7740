//go:build integration

// What only a real Apache Kafka can show: a broker killed with SIGKILL in
// the middle of a transaction, leader failover on a 3-node cluster, the
// real log cleaner, and the broker's own limits. .ci/integration starts
// the broker and cluster and runs these with -tags integration.
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
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas/srgen"
)

// passWithKill runs one pass in the background and calls kill once the
// agent has read rows rows, mid-file and so mid-transaction.
func (e *env) passWithKill(ctx context.Context, rows int64, kill func()) error {
	var once atomic.Bool
	progress := func(_, _, _ string, _, _, n int64, _ bool) {
		if n >= rows && once.CompareAndSwap(false, true) {
			kill()
		}
	}
	_, err := e.runWith(ctx, WithProgress(progress))
	if !once.Load() {
		e.t.Fatalf("the pass ended (%v) before %d rows were read: nothing was killed", err, rows)
	}
	return err
}

// The single broker is killed with SIGKILL while a transaction is open and
// restarted on its storage: the agent reports the failure, the next pass
// resumes, and a read_committed consumer sees every row exactly once.
func TestBrokerKilledMidTransaction(t *testing.T) {
	e := envOn(t, kafkatest.Single(t))
	e.cfg.TxnRecords, e.cfg.DeliveryTimeout = 2000, 15*time.Second
	g := e.chain(srgen.Options{Seed: 71, Groups: 1, Orgs: 2, Batches: 2, Rows: 20000, Tables: []string{"SRPatient", "SREvent"}})
	ctx := context.Background()
	began := time.Now()
	err := e.passWithKill(ctx, 9000, func() { e.k.Kill(t, 1) })
	t.Logf("pass through the killed broker ended after %s: %v", time.Since(began), err)
	if err == nil {
		t.Fatal("publishing through a killed broker did not fail")
	}
	e.k.Restart(t, 1)
	if pass, err := e.run(ctx); err != nil || len(pass.Halted) != 0 {
		t.Fatalf("after the restart: %+v %v", pass, err)
	}
	verifyExactlyOnce(t, e, g)
}

// On a 3-node cluster with every topic at replication factor 3 and
// min.insync.replicas 2, the leader of the state topic (and of whatever
// else it leads) is killed mid-transaction. The agent carries on or fails
// clearly; either way the rows end up on the topics exactly once.
func TestLeaderFailover(t *testing.T) {
	e := envOn(t, kafkatest.Cluster(t))
	e.cfg.ReplicationFactor, e.cfg.TxnRecords, e.cfg.DeliveryTimeout = 3, 2000, 30*time.Second
	g := e.chain(srgen.Options{Seed: 72, Groups: 2, Orgs: 2, Batches: 2, Rows: 12000, Tables: []string{"SRPatient", "SRCode"}})
	ctx := context.Background()
	adm := e.k.Admin(t)
	var killed int
	err := e.passWithKill(ctx, 5000, func() {
		killed = leaderOf(t, adm, e.cfg.StateTopic())
		t.Logf("killing node %d, leader of %s", killed, e.cfg.StateTopic())
		e.k.Kill(t, killed)
	})
	t.Logf("first pass: %v", err)
	defer e.k.Restart(t, killed)
	if err != nil {
		// Failing is allowed if it is clear; the next pass must finish
		// on the two nodes left.
		if pass, err := e.run(ctx); err != nil || len(pass.Halted) != 0 {
			t.Fatalf("second pass on two nodes: %+v %v", pass, err)
		}
	}
	if got := leaderOf(t, adm, e.cfg.StateTopic()); got == killed {
		t.Fatalf("node %d still leads %s after being killed", killed, e.cfg.StateTopic())
	}
	verifyExactlyOnce(t, e, g)
	// Every topic the agent created has three replicas.
	td, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range td.Sorted() {
		if strings.HasPrefix(d.Topic, e.cfg.TopicPrefix+".") {
			for _, p := range d.Partitions {
				if len(p.Replicas) != 3 {
					t.Errorf("%s/%d has %d replicas, kafka.replication_factor is 3", d.Topic, p.Partition, len(p.Replicas))
				}
			}
		}
	}
}

func leaderOf(t *testing.T, adm *kadm.Client, topic string) int {
	t.Helper()
	td, err := adm.ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return int(td[topic].Partitions[0].Leader)
}

// The real log cleaner compacts the topics (tombstones included, with
// delete.retention.ms 0); a consumer that starts afterwards rebuilds every
// table of the chain exactly as srgen says it should be. One reporting
// group: with two, rows of shared tables have the same key in both groups
// and compaction keeps only one group's copy (issue 10 moves the table
// state into the agent for that).
func TestCompactedTopicsRebuildTables(t *testing.T) {
	e := envOn(t, kafkatest.Single(t))
	g := e.chain(srgen.Options{Seed: 73, Groups: 1, Orgs: 3, Batches: 4, Rows: 300})
	ctx := context.Background()
	adm := e.k.Admin(t)
	// The agent accepts existing compacted topics with its partition
	// count; these clean as soon as a segment rolls.
	eager := map[string]*string{}
	for k, v := range map[string]string{"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
		"delete.retention.ms": "0", "min.compaction.lag.ms": "0", "max.compaction.lag.ms": "1000"} {
		eager[k] = &v
	}
	topics := allTopics(g, e.cfg)
	if _, err := adm.CreateTopics(ctx, e.cfg.Partitions, 1, eager, topics...); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 4; b++ { // one batch per pass, so that segments roll between them
		for _, group := range g.Groups() {
			hold := filepath.Join(e.in, "..", "hold", group)
			os.MkdirAll(hold, 0o755)
			for later := b + 1; later < 4; later++ {
				os.Rename(filepath.Join(e.in, group, g.BatchName(later)), filepath.Join(hold, g.BatchName(later)))
			}
		}
		if pass, err := e.run(ctx); err != nil || len(pass.Batches) != len(g.Groups()) {
			t.Fatalf("batch %d: %+v %v", b, pass, err)
		}
		time.Sleep(300 * time.Millisecond)
		for _, group := range g.Groups() {
			hold := filepath.Join(e.in, "..", "hold", group)
			for later := b + 1; later < 4; later++ {
				os.Rename(filepath.Join(hold, g.BatchName(later)), filepath.Join(e.in, group, g.BatchName(later)))
			}
		}
	}
	before := e.consume(topics...)
	// Records a full compaction may remove: those whose key comes again
	// later in the partition, and tombstones.
	removable, last := 0, map[string]int{}
	for i, ev := range before {
		k := fmt.Sprint(ev.topic, ev.partition, ev.key)
		if _, ok := last[k]; ok {
			removable++
		}
		last[k] = i
	}
	// Roll the last segments, then wait for the cleaner to remove at
	// least half of what it may (the active segments are never cleaned).
	deadline := time.Now().Add(90 * time.Second)
	var events []event
	for {
		time.Sleep(2 * time.Second)
		nudge(t, e, topics)
		events = e.consume(topics...)
		if len(before)-len(events) >= removable/2 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("%d records published, %d superseded by a later record of their key, %d left after compaction", len(before), removable, len(events))
	if removable == 0 || len(before)-len(events) < removable/2 {
		t.Fatalf("the log cleaner removed %d of %d superseded records in 90 s", len(before)-len(events), removable)
	}
	checkRowCounts(t, rebuild(t, events), g)
}

// nudge rolls the active segments: a segment only rolls (and becomes
// cleanable) when a record arrives after segment.ms, so each partition of
// each topic gets one record
// (a tombstone with a key no row has, marked with testHeader).
func nudge(t *testing.T, e *env, topics []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for _, tp := range topics {
		for p := int32(0); p < e.cfg.Partitions; p++ {
			rs = append(rs, &kgo.Record{Topic: tp, Partition: p, Key: []byte("nudge"), Headers: []kgo.RecordHeader{{Key: testHeader}}})
		}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// A record with a null key is refused by a compacted topic on a real
// broker (kfake accepts it), so nothing sragent produces may have one:
// markers carry a reserved key.
func TestCompactedTopicRefusesNullKey(t *testing.T) {
	e := envOn(t, kafkatest.Single(t))
	g := e.chain(srgen.Options{Seed: 74, Groups: 1, Orgs: 1, Batches: 2, Rows: 30})
	ctx := context.Background()
	if _, err := e.run(ctx); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: e.cfg.TopicFor("SRPatient"), Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("null key on a compacted topic: %v, want INVALID_RECORD", err)
	}
	for _, ev := range e.consume(allTopics(g, e.cfg)...) {
		if ev.key == nil {
			t.Fatalf("%s/%d@%d has no key", ev.topic, ev.partition, ev.offset)
		}
	}
}

// A transaction left open longer than the transaction timeout (a read
// stalled on a share) is aborted by the broker; the agent fails that pass
// clearly and the next resumes with every row exactly once.
func TestTransactionTimeout(t *testing.T) {
	e := envOn(t, kafkatest.Single(t))
	e.cfg.TxnRecords, e.cfg.TxnTimeout = 5000, 3*time.Second
	g := e.chain(srgen.Options{Seed: 75, Groups: 1, Orgs: 1, Batches: 1, Rows: 40000, Tables: []string{"SREvent"}})
	ctx := context.Background()
	err := e.passWithKill(ctx, 8192, func() { time.Sleep(3*e.cfg.TxnTimeout + 2*time.Second) })
	t.Logf("stalled pass: %v", err)
	if err == nil {
		t.Fatal("a transaction open past its timeout committed")
	}
	if pass, err := e.run(ctx); err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("after the abort: %+v %v", pass, err)
	}
	verifyExactlyOnce(t, e, g)
}

// A transaction timeout over the broker's transaction.max.timeout.ms (15
// minutes by default) stops the agent at start with the broker's reason.
func TestTransactionTimeoutOverBrokerMax(t *testing.T) {
	e := envOn(t, kafkatest.Single(t))
	e.cfg.TxnTimeout = 20 * time.Minute
	e.chain(srgen.Options{Seed: 76, Groups: 1, Orgs: 1, Batches: 1, Rows: 10, Tables: []string{"SRPatient"}})
	_, err := e.run(context.Background())
	if !errors.Is(err, kerr.InvalidTransactionTimeout) || !strings.Contains(err.Error(), "transactional producer") {
		t.Fatalf("got %v, want INVALID_TRANSACTION_TIMEOUT naming the producer", err)
	}
}

// A dry run reads the brokers' message.max.bytes for a topic sragent has
// yet to create, which inherits it: a row over a lowered broker limit is a
// dead letter in the prediction and in the publish.
func TestDryRunKnowsTheBrokerLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	adm := e.k.Admin(t)
	limit := "204800"
	set := func(v *string) {
		op := kadm.SetConfig
		if v == nil {
			op = kadm.DeleteConfig
		}
		if _, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: op, Name: "message.max.bytes", Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	set(&limit)
	t.Cleanup(func() { set(nil) })
	// A dynamic cluster default reaches the broker asynchronously.
	tp := newTopics(adm, e.cfg)
	for i := 0; tp.brokerMessageMax(ctx) != 204800; i++ {
		if i == 100 {
			t.Fatal("the broker does not report the lowered message.max.bytes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.fullPatients("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n1,A1,Ann,0\r\n2,A1," + strings.Repeat("B", 300<<10) + ",0\r\n")
	predicted := e.predict(ctx, DryRun{})
	published, err := e.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	comparePasses(t, predicted, published)
	if len(published.Batches) != 1 || published.Batches[0].DeadLetters != 1 || published.Batches[0].Events != 1 {
		t.Fatalf("published %+v", published.Batches)
	}
}
