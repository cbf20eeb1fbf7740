package producer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer/tablestate"
)

// namedPatients writes batch g1/name: a full SRPatient file with the rows
// id → FirstName of rows.
func (e *env) namedPatients(name string, rows map[int]string) {
	e.t.Helper()
	var pat strings.Builder
	pat.WriteString("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n")
	for id := 1; id <= 1000; id++ {
		if v, ok := rows[id]; ok {
			fmt.Fprintf(&pat, "%d,A1,%s,0\r\n", id, v)
		}
	}
	e.fullPatientsAt(name, pat.String())
}

// patients returns ids 1..n named name, with overrides.
func patients(n int, name string, overrides map[int]string) map[int]string {
	out := map[int]string{}
	for id := 1; id <= n; id++ {
		out[id] = name
	}
	for id, v := range overrides {
		out[id] = v
	}
	return out
}

// firstNames rebuilds SRPatient's FirstName by RowIdentifier the way a
// marker-dropping sink does.
func firstNames(t *testing.T, e *env) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, row := range rebuild(t, e.consume(e.cfg.TopicFor("SRPatient")))["g1"]["SRPatient"].rows {
		v := row["sragent.SRPatient.Value"].(map[string]any)
		id, _ := cellString(v["RowIdentifier"])
		out[id], _ = cellString(v["FirstName"])
	}
	return out
}

// A full re-send publishes only the rows that changed (and the new ones);
// the unchanged ones are counted in the result, the end marker and the
// metrics, and a marker-dropping consumer still has every row's latest
// image. With unchanged.suppress off, every row is published.
func TestUnchangedRowsNotPublished(t *testing.T) {
	for _, suppress := range []bool{true, false} {
		t.Run(fmt.Sprint("suppress=", suppress), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.namedPatients("20240101_0300", patients(100, "Ann", nil))
			e.mustRun(ctx)
			e.namedPatients("20240102_0300", patients(102, "Ann", map[int]string{3: "Bo", 50: "Cy", 51: "Di", 99: "Ed", 100: "Flo"}))
			reg := prometheus.NewRegistry()
			cfg := e.agentConfig()
			cfg.SuppressUnchanged = suppress
			a, err := Open(ctx, cfg, WithMetrics(NewMetrics(reg, "test")))
			if err != nil {
				t.Fatal(err)
			}
			pass, err := a.RunOnce(ctx)
			a.Close()
			if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
				t.Fatalf("%v %+v", err, pass)
			}
			wantEvents, wantSame := int64(7), int64(95)
			if !suppress {
				wantEvents, wantSame = 102, 0
			}
			res := pass.Batches[0].Result
			if res.Events != wantEvents || res.Unchanged != wantSame || res.Files[0].Unchanged != wantSame {
				t.Errorf("events %d unchanged %d (file %d), want %d and %d", res.Events, res.Unchanged, res.Files[0].Unchanged, wantEvents, wantSame)
			}
			if n := sum(t, reg, "sragent_rows_unchanged_total", map[string]string{"table": "SRPatient"}); n != float64(wantSame) {
				t.Errorf("sragent_rows_unchanged_total %v, want %d", n, wantSame)
			}
			for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
				if ev.marker != "snapshot_end" || ev.value["source"].(map[string]any)["batch"] != "20240102_0300" {
					continue
				}
				m := ev.value["marker"].(map[string]any)["sragent.Marker"].(map[string]any)
				if m["unchanged"].(map[string]any)["long"] != wantSame || m["row_count"].(map[string]any)["long"] != wantEvents {
					t.Fatalf("end marker %v", m)
				}
			}
			names := firstNames(t, e)
			want := patients(102, "Ann", map[int]string{3: "Bo", 50: "Cy", 51: "Di", 99: "Ed", 100: "Flo"})
			if len(names) != len(want) {
				t.Fatalf("%d rows rebuilt, want %d", len(names), len(want))
			}
			for id, v := range want {
				if names[fmt.Sprint(id)] != v {
					t.Errorf("row %d: %q, want %q", id, names[fmt.Sprint(id)], v)
				}
			}
		})
	}
}

// A table state that is behind what is committed is never trusted: when
// another agent (its own state.dir) published a change in between, a row
// sent again with its earlier image is published, not suppressed, so the
// consumer ends with the image sent last.
func TestStaleTableStateNotTrusted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.agentConfig(), e.agentConfig()
	b.StateDir = filepath.Join(t.TempDir(), "other-pc")
	run := func(cfg AgentConfig) {
		t.Helper()
		ag, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer ag.Close()
		if pass, err := ag.RunOnce(ctx); err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
			t.Fatalf("%v %+v", err, pass)
		}
	}
	e.namedPatients("20240101_0300", patients(10, "Ann", nil))
	run(a)
	e.namedPatients("20240102_0300", patients(10, "Ann", map[int]string{4: "Bo"}))
	run(b) // a knows 4 as Ann; 4 is Bo on the topic
	e.namedPatients("20240103_0300", patients(10, "Ann", nil))
	run(a)
	if got := firstNames(t, e)["4"]; got != "Ann" {
		t.Errorf("row 4 is %q on the topic; it was sent last as Ann (a stale table state suppressed it)", got)
	}
}

// Losing state.dir (a new PC, a deleted folder) rebuilds the table state
// from the topics: an unchanged re-send publishes nothing twice, a change
// is published, and a full file's vanished rows are deleted as before.
func TestLostTableStateIsRebuilt(t *testing.T) {
	e := newEnv(t)
	e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.5}
	ctx := context.Background()
	e.namedPatients("20240101_0300", patients(20, "Ann", nil))
	e.mustRun(ctx)
	e.namedPatients("20240101_0400", patients(20, "Ann", map[int]string{7: "Cy"}))
	e.mustRun(ctx)
	for _, tc := range []struct {
		batch                      string
		rows                       map[int]string
		events, unchanged, deleted int64
	}{
		{"20240102_0300", patients(20, "Ann", map[int]string{7: "Cy"}), 0, 20, 0},
		{"20240103_0300", patients(20, "Ann", map[int]string{4: "Bo", 7: "Cy"}), 1, 19, 0},
		{"20240104_0300", patients(18, "Ann", map[int]string{4: "Bo", 7: "Cy"}), 2, 18, 2},
	} {
		if err := os.RemoveAll(e.stateDir); err != nil {
			t.Fatal(err)
		}
		e.namedPatients(tc.batch, tc.rows)
		pass := e.mustRun(ctx)
		if b := pass.Batches; len(b) != 1 || b[0].Events != tc.events || b[0].Unchanged != tc.unchanged || b[0].VanishedDeleted != tc.deleted {
			t.Errorf("%s: %+v", tc.batch, pass.Batches)
		}
	}
	names := firstNames(t, e)
	if len(names) != 18 || names["4"] != "Bo" || names["7"] != "Cy" || names["1"] != "Ann" {
		t.Errorf("rebuilt table %v", names)
	}
}

// Groups (here two in one agent) that hold the same organisation write
// the same keys; each sees the other's images, so a row sent again by one
// after the other changed it is published. Shared tables, whose keys
// name no organisation, are never suppressed at all (other agents write
// them too).
func TestSuppressionAcrossGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	write := func(group, batch, cell string) {
		dir := filepath.Join(e.in, group, batch)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "SRManifest.csv"), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n"+
			"SRPatient,N,N,,"+batch+"\r\nSRStaffMember,N,N,,"+batch+"\r\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "SRPatient.csv"), []byte("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n4,A1,"+cell+",0\r\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "SRStaffMember.csv"), []byte("RowIdentifier,StaffName,RemovedData\r\n7,"+cell+",0\r\n"), 0o644)
		if pass := e.mustRun(ctx); len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
			t.Fatalf("%s/%s: %+v", group, batch, pass.Batches)
		}
	}
	write("g1", "20240101_0300", "Ann")
	write("g2", "20240101_0300", "Bo")
	write("g1", "20240102_0300", "Ann")
	last := map[string]string{}
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient"), e.cfg.TopicFor("SRStaffMember")) {
		if ev.value == nil || ev.marker != "" {
			continue
		}
		for _, v := range ev.value["after"].(map[string]any) {
			for _, col := range []string{"FirstName", "StaffName"} {
				if c, ok := v.(map[string]any)[col]; ok && c != nil {
					last[col], _ = cellString(c)
				}
			}
		}
	}
	if last["FirstName"] != "Ann" || last["StaffName"] != "Ann" {
		t.Errorf("last images on the topics: %v, want Ann for both: a row sent again after another group changed it was suppressed", last)
	}
}

// A store write that fails after Kafka committed leaves the store behind:
// it is not used again until it has been emptied, so a row that goes back
// to an earlier image is published, also after a restart.
func TestFailedStoreCommitNotTrusted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.namedPatients("20240101_0300", patients(10, "Ann", nil))
	e.mustRun(ctx)
	fail := true
	commitBatch = func(b *tablestate.Batch, cp []byte) error {
		if fail {
			fail = false
			b.Discard()
			return errors.New("disk full")
		}
		return b.Commit(cp)
	}
	defer func() { commitBatch = (*tablestate.Batch).Commit }()
	// The first transaction publishes row 4 as Bo and its store write
	// fails (the store still says Ann); a later transaction of the same
	// file sends row 4 as Ann again, and so does the next batch.
	e.cfg.TxnRecords = 3
	var csv strings.Builder
	csv.WriteString("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n4,A1,Bo,0\r\n")
	for id := 1; id <= 10; id++ {
		fmt.Fprintf(&csv, "%d,A1,Ann,0\r\n", id)
	}
	e.fullPatientsAt("20240102_0300", csv.String())
	e.mustRun(ctx)
	if got := firstNames(t, e)["4"]; got != "Ann" {
		t.Errorf("row 4 is %q on the topic; it was sent last as Ann", got)
	}
	e.namedPatients("20240103_0300", patients(10, "Ann", nil))
	e.mustRun(ctx)
	if got := firstNames(t, e)["4"]; got != "Ann" {
		t.Errorf("after the next batch row 4 is %q on the topic; it was sent last as Ann", got)
	}
}

// A row deleted and then sent again with its old image is published.
func TestDeleteThenSameImage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.namedPatients("20240101_0300", patients(5, "Ann", nil))
	e.mustRun(ctx)
	e.fullPatientsAt("20240102_0300", "RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n3,A1,,1\r\n")
	e.mustRun(ctx)
	e.namedPatients("20240103_0300", patients(5, "Ann", nil))
	if pass := e.mustRun(ctx); pass.Batches[0].Events != 1 || pass.Batches[0].Unchanged != 4 {
		t.Errorf("%+v", pass.Batches)
	}
	if names := firstNames(t, e); names["3"] != "Ann" || len(names) != 5 {
		t.Errorf("%v", names)
	}
}

// A re-send whose rows are all unchanged produces (almost) nothing, yet
// its transactions still end as often as the rows' would (so that none
// outlives the transaction timeout): rows read count, not only rows
// produced.
func TestUnchangedResendWithinTransactionTimeout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.cfg.TxnRecords = 1 << 30
	e.namedPatients("20240101_0300", patients(1000, "Ann", nil))
	e.mustRun(ctx)
	e.cfg.TxnRecords = 100 // rows read, not produced, end the next transactions
	// The last row edited: an identical file is not read again at all
	// (TestSameFullFileNotReadAgain).
	e.namedPatients("20240102_0300", patients(1000, "Ann", map[int]string{1000: "Bo"}))
	pass := e.mustRun(ctx)
	if pass.Batches[0].Unchanged != 999 {
		t.Fatalf("%+v", pass.Batches)
	}
	commits := 0
	for _, r := range e.stateRecords() {
		if strings.HasPrefix(r, "group/g1") {
			commits++
		}
	}
	if commits < 10 {
		t.Errorf("%d checkpoints for a batch of 1,000 unchanged rows in transactions of 100", commits)
	}
}

// stateRecords returns the keys of the committed state records, in order.
func (e *env) stateRecords() []string {
	e.t.Helper()
	var keys []string
	if err := ReadCommitted(context.Background(), e.cfg, []string{e.cfg.StateTopic()}, func(r *kgo.Record) { keys = append(keys, string(r.Key)) }); err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// Another agent committing on the same state topic while this one runs
// (it took a group over, say, and deleted a key this agent's store knows)
// is noticed at the next pass: the state is read again and the table
// state rebuilt from the topics, so nothing is suppressed against a stale
// image.
func TestOtherAgentsCommitRebuildsTableState(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.namedPatients("20240101_0300", patients(10, "Ann", nil))
	a, err := Open(ctx, e.agentConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Another agent's checkpoint of another group, committed meanwhile.
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.k.Brokers...), kgo.TransactionalID("other-agent"+e.k.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rec, _ := progressRecord(e.cfg.StateTopic(), &Progress{Group: "g2", Batch: "20240101_0300", Done: true, Updated: time.Now().UTC()})
	var key4 []byte // row 4's key, which the other agent deletes
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
		if id, _ := ev.key["RowIdentifier"].(int64); id == 4 && ev.marker == "" {
			key4 = ev.raw
		}
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, rec, &kgo.Record{Topic: e.cfg.TopicFor("SRPatient"), Key: key4}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// A real broker writes the commit markers after EndTransaction
	// returns: wait until a read_committed reader sees the checkpoint.
	for i := 0; ; i++ {
		if st, err := ReadState(ctx, e.cfg); err == nil && st.Groups["g2"] != nil {
			break
		}
		if i == 100 {
			t.Fatal("the other agent's checkpoint never became readable")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.namedPatients("20240102_0300", patients(10, "Ann", nil))
	pass, err := a.RunOnce(ctx)
	if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Events != 1 || pass.Batches[0].Unchanged != 9 {
		t.Fatalf("after another agent's commit: %v %+v", err, pass.Batches)
	}
	if names := firstNames(t, e); len(names) != 10 || names["4"] != "Ann" {
		t.Errorf("rebuilt table %v", names)
	}
}
