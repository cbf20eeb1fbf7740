package producer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A crash inside a reconciled full file, then state.dir lost: the store is
// rebuilt from the topics, which do not hold the file's unchanged rows;
// the resume walks the file again and the group holds the committed rows
// again, so only the row that really vanished is deleted.
func TestRebuildThenResumeKeepsUnchangedRows(t *testing.T) {
	midFile := 0
	for failAt := int64(2); failAt <= 12 && midFile < 3; failAt++ {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			e, ctx := tenPatients(t)
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 9, "n", "")})
			failProduce(e.k.Fake, failAt)
			if _, err := e.run(ctx); err == nil {
				return // the failure came too late
			}
			if prog := e.state(ctx).Progress("g1"); prog.Done || prog.Line == 0 {
				return // not inside the file
			}
			midFile++
			if err := os.RemoveAll(e.stateDir); err != nil {
				t.Fatal(err)
			}
			pass := e.mustRun(ctx)
			if b := pass.Batches; len(b) != 1 || b[0].Vanished != 1 || b[0].VanishedDeleted != 1 {
				t.Fatalf("after the rebuild and resume: %+v", pass.Batches)
			}
			want := ids("A1", 1, 9)
			slices.Sort(want)
			if got := keysOf(rebuiltNames(t, e, "SRPatient", "FirstName")); !slices.Equal(got, want) {
				t.Errorf("the rebuilt table holds %v, want %v", got, want)
			}
		})
	}
	if midFile == 0 {
		t.Fatal("no failure interrupted the file: the resume after a rebuild went untested")
	}
}

// After a rebuild the store does not know which keys another group sent
// again unchanged (suppressed, so not on the topics): until that group
// publishes a full file of the table, nothing it might hold is deleted.
func TestRebuildHoldingsIncomplete(t *testing.T) {
	e := newEnv(t)
	e.reconcile = ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
	ctx := context.Background()
	e.batchOf("g1", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(1, 2, 3, 4)})
	e.batchOf("g2", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(3, 4)}) // all suppressed
	e.mustRun(ctx)
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	e.batchOf("g1", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(1, 2)})
	pass := e.mustRun(ctx)
	if b := pass.Batches; len(b) != 1 || b[0].Vanished != 2 || b[0].VanishedDeleted != 0 || !hasWarning(b[0].Result, "group(s) g2 have not published") {
		t.Fatalf("g1 after the rebuild: %+v", pass.Batches)
	}
	// g2's full file completes its holdings; g1's next one deletes only
	// what neither holds.
	e.batchOf("g2", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(3)})
	e.mustRun(ctx)
	e.batchOf("g1", "20240103_0300", "", tableFile{"SRStaffMember", true, staff(1, 2)})
	if b := e.mustRun(ctx).Batches; len(b) != 1 || b[0].VanishedDeleted != 1 {
		t.Errorf("g1 once g2's holdings are known: %+v", b)
	}
	if got := keysOf(rebuiltNames(t, e, "SRStaffMember", "StaffName")); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("the rebuilt table holds %v, want [1 2 3]", got)
	}
}

func hasWarning(r Result, text string) bool {
	for _, p := range r.Problems {
		if p.Severity == SeverityWarning && strings.Contains(p.Reason, text) {
			return true
		}
	}
	return false
}

// A group whose full file was all unchanged (nothing of it on the topics)
// is interrupted, then state.dir is lost: the resume records the group as
// holding the rows it had already sent, so the other group's next full
// file does not delete them.
func TestRebuildThenResumeKeepsTheGroupsHoldings(t *testing.T) {
	all := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	midFile := 0
	for failAt := int64(1); failAt <= 12 && midFile < 3; failAt++ {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			e := newFakeEnv(t)
			e.reconcile = ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
			ctx := context.Background()
			e.batchOf("g2", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(all...)})
			e.mustRun(ctx)
			e.cfg.TxnRecords = 3
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRStaffMember", true, staff(all...)})
			failProduce(e.k.Fake, failAt)
			if _, err := e.run(ctx); err == nil {
				return
			}
			if prog := e.state(ctx).Progress("g1"); prog.Done || prog.Line == 0 {
				return
			}
			midFile++
			if err := os.RemoveAll(e.stateDir); err != nil {
				t.Fatal(err)
			}
			e.mustRun(ctx) // g1 resumes
			e.batchOf("g2", "20240102_0300", "", tableFile{"SRStaffMember", true, staff(6, 7, 8, 9, 10)})
			if b := e.mustRun(ctx).Batches; len(b) != 1 || b[0].VanishedDeleted != 0 {
				t.Errorf("g2 deleted keys g1 holds: %+v", b)
			}
			if got := rebuiltNames(t, e, "SRStaffMember", "StaffName"); len(got) != 10 {
				t.Errorf("the topic holds %v, want 1..10", keysOf(got))
			}
		})
	}
	if midFile == 0 {
		t.Fatal("no failure interrupted g1's file")
	}
}

// The rebuild reads what is committed: another producer's transaction
// still open on a table topic, another deployment's topics under a longer
// prefix and records that are not sragent's do not stop it.
func TestRebuildReadsOnlyWhatIsCommitted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.namedPatients("20240101_0300", patients(10, "Ann", nil))
	e.mustRun(ctx)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.k.Brokers...), kgo.TransactionalID("open-txn"+e.k.Prefix),
		kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	plain, err := kgo.NewClient(kgo.SeedBrokers(e.k.Brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	foreign := []*kgo.Record{
		{Topic: e.cfg.TopicFor("SRPatient"), Key: []byte("not avro"), Value: []byte("x")},
		{Topic: e.cfg.TopicPrefix + ".dev.state", Key: []byte("other"), Value: []byte("deployment")},
	}
	if _, err := kadm.NewClient(plain).CreateTopic(ctx, 1, -1, nil, e.cfg.TopicPrefix+".dev.state"); err != nil {
		t.Fatal(err)
	}
	if err := plain.ProduceSync(ctx, foreign...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: e.cfg.TopicFor("SRPatient"), Key: []byte("open"), Value: []byte("txn")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	defer cl.EndTransaction(ctx, kgo.TryAbort)
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	e.namedPatients("20240102_0300", patients(10, "Ann", map[int]string{2: "Bo"}))
	began := time.Now()
	pass := e.mustRun(ctx)
	if b := pass.Batches; len(b) != 1 || b[0].Events != 1 || b[0].Unchanged != 9 {
		t.Errorf("after the rebuild: %+v", b)
	}
	if took := time.Since(began); took > 12*time.Second {
		t.Errorf("the pass took %v: the rebuild waited for the open transaction", took)
	}
}
