package producer

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sragent/sragent/schemas"
	"github.com/sragent/sragent/schemas/srgen"
)

// predict runs one dry-run pass over the env's input.
func (e *env) predict(ctx context.Context, dry DryRun) *Pass {
	e.t.Helper()
	var pass *Pass
	err := e.withAgent(ctx, []Opt{WithDryRun(dry)}, func(a *Agent) (err error) {
		pass, err = a.RunOnce(ctx)
		return err
	})
	if err != nil {
		e.t.Fatalf("dry run: %v", err)
	}
	return pass
}

// world is everything a dry run must leave alone: the folders, the topics,
// the registry's subjects and the committed state.
func (e *env) world(ctx context.Context) string {
	e.t.Helper()
	var files []string
	for _, root := range []string{e.in, e.archive, e.quarantine} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				fi, _ := d.Info()
				files = append(files, path+" "+fi.ModTime().String())
			}
			return nil
		})
	}
	topics, err := e.k.Admin(e.t).ListTopics(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	src, err := sr.NewClient(sr.URLs(e.k.Registry))
	if err != nil {
		e.t.Fatal(err)
	}
	subjects, err := src.Subjects(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := ReadState(ctx, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"files": files, "topics": topics.Names(), "subjects": subjects, "state": st})
	return string(out)
}

// validate predicts exactly what publish does, batch by batch (outcome,
// reason, counts, files, problems), over good, bad, halted, resumed,
// conflicting, duplicate, half-published and oversize input and after the
// archive was pruned; and the dry run changes nothing.
func TestDryRunPredictsPublish(t *testing.T) {
	opts := srgen.Options{Seed: 21, Groups: 2, Orgs: 1, Batches: 3, Rows: 30, Tables: []string{"SRPatient", "SRCode"}}
	tests := []struct {
		name  string
		fake  bool // needs kfake's fault injection
		dry   DryRun
		fails bool // publishing fails the pass (and retries later)
		setup func(t *testing.T, e *env, ctx context.Context)
		want  map[string]Outcome // group/batch index → outcome, for the scenario's own check
		dead  int64              // dead letters published
		gone  int64              // vanished rows deleted
	}{
		{name: "good chains", setup: func(t *testing.T, e *env, ctx context.Context) { e.chain(opts) },
			want: map[string]Outcome{"group1/0": Published, "group1/2": Published, "group2/2": Published}},
		{name: "structurally bad", setup: func(t *testing.T, e *env, ctx context.Context) {
			g := e.chain(opts)
			os.WriteFile(filepath.Join(e.in, "group1", g.BatchName(1), "SRCode.csv"), []byte(""), 0o644)
		}, want: map[string]Outcome{"group1/1": Invalid, "group1/2": Halted, "group2/2": Published}},
		{name: "gap", setup: func(t *testing.T, e *env, ctx context.Context) {
			g := e.chain(opts)
			os.RemoveAll(filepath.Join(e.in, "group1", g.BatchName(1)))
		}, want: map[string]Outcome{"group1/0": Published, "group1/2": Halted}},
		{name: "halted in the state", setup: func(t *testing.T, e *env, ctx context.Context) {
			g := e.chain(opts)
			os.RemoveAll(filepath.Join(e.in, "group1", g.BatchName(1)))
			e.mustRun(ctx)
		}, want: map[string]Outcome{"group1/2": Halted}},
		{name: "pending resume", setup: func(t *testing.T, e *env, ctx context.Context) {
			g := e.chain(opts)
			os.RemoveAll(filepath.Join(e.in, "group1", g.BatchName(1)))
			e.mustRun(ctx)
			if err := e.resume(ctx, "group1"); err != nil {
				t.Fatal(err)
			}
		}, want: map[string]Outcome{"group1/2": Published}},
		{name: "duplicate and conflict", setup: func(t *testing.T, e *env, ctx context.Context) {
			g := e.chain(opts)
			e.mustRun(ctx)
			for i := range 2 {
				name := g.BatchName(i)
				if err := copyDir(filepath.Join(e.archive, "group1", name), filepath.Join(e.in, "group1", name)); err != nil {
					t.Fatal(err)
				}
			}
			man := filepath.Join(e.in, "group1", g.BatchName(1), "SRManifest.csv")
			raw, _ := os.ReadFile(man)
			os.WriteFile(man, []byte(strings.ReplaceAll(string(raw), "\r\n", "\n")), 0o644)
		}, want: map[string]Outcome{"group1/0": Duplicate, "group1/1": Conflict}},
		{name: "archive pruned", setup: func(t *testing.T, e *env, ctx context.Context) {
			g := e.chain(opts)
			aside := filepath.Join(t.TempDir(), "aside")
			os.Rename(filepath.Join(e.in, "group1", g.BatchName(2)), aside)
			os.RemoveAll(filepath.Join(e.in, "group1", g.BatchName(1)))
			e.mustRun(ctx)
			os.RemoveAll(e.archive)
			os.Rename(aside, filepath.Join(e.in, "group1", g.BatchName(2)))
		}, want: map[string]Outcome{"group1/2": Halted}},
		{name: "half-published", setup: func(t *testing.T, e *env, ctx context.Context) {
			*e = *halfPublished(t, "group1", func(e *env) {
				e.cfg.TxnRecords = 40
				e.chain(opts)
			})
		}, want: map[string]Outcome{"group1/0": Published, "group1/2": Published}},
		{name: "oversize record and bad rows", setup: func(t *testing.T, e *env, ctx context.Context) {
			e.fullPatients("RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth,RemovedData\r\n1,A1,Ann,,0\r\n" +
				"2,A1," + strings.Repeat("B", 1536<<10) + ",,0\r\n3,A1,Cy,31 Feb 2020 10:00,0\r\nx4,A1,Dee,,0\r\n5,A1,Eve,,1\r\n")
		}, want: map[string]Outcome{"g1/20240102_1707": Published}, dead: 3},
		{name: "vanished rows", setup: func(t *testing.T, e *env, ctx context.Context) {
			e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileDelete, MinRatio: 0.5}
			e.batchOf("g1", "20240101_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 10, "n", "")},
				tableFile{"SRStaffMember", true, staff(1, 2, 3)})
			e.mustRun(ctx)
			// Two more in one pass: the second's vanished keys include one
			// the dry run only knows from the first.
			e.batchOf("g1", "20240102_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 8, "n", "") + pats("A1", 20, 21, "n", "")},
				tableFile{"SRStaffMember", true, staff(1, 2)})
			e.batchOf("g1", "20240103_0300", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 7, "n", "") + pats("A1", 21, 21, "n", "")},
				tableFile{"SRStaffMember", true, staff(1)})
		}, want: map[string]Outcome{"g1/20240102_0300": Published, "g1/20240103_0300": Published}, gone: 6},
		{name: "the same full file again", setup: func(t *testing.T, e *env, ctx context.Context) {
			file := tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 10, "n", "")}
			e.batchOf("g1", "20240101_0300", "", file, tableFile{"SRStaffMember", true, staff(1, 2, 3)})
			e.mustRun(ctx)
			// Skipped twice in one pass, and read again after a change.
			e.batchOf("g1", "20240102_0300", "", file, tableFile{"SRStaffMember", true, staff(1, 2, 3)})
			e.batchOf("g1", "20240103_0300", "", file, tableFile{"SRStaffMember", true, staff(1, 2, 4)})
			e.batchOf("g1", "20240104_0300", "", file, tableFile{"SRStaffMember", true, staff(1, 2, 4)})
		}, want: map[string]Outcome{"g1/20240102_0300": Published, "g1/20240104_0300": Published}},
		{name: "registry refuses a schema", dry: DryRun{CheckRegistry: true}, fails: true, setup: func(t *testing.T, e *env, ctx context.Context) {
			e.chain(opts)
			avsc, err := schemas.Embedded("SRPatient")
			if err != nil {
				t.Fatal(err)
			}
			e.k.MakeIncompatible(t, e.cfg.TopicFor("SRPatient")+"-value", avsc.Value, "DateBirth")
		}, want: map[string]Outcome{"group1/0": Blocked, "group1/1": Halted, "group2/0": Blocked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.fake {
				e = newFakeEnv(t)
			}
			ctx := context.Background()
			tt.setup(t, e, ctx)
			before := e.world(ctx)
			predicted := e.predict(ctx, tt.dry)
			if after := e.world(ctx); after != before {
				t.Fatalf("the dry run changed something:\nbefore %s\nafter  %s", before, after)
			}
			published, err := e.run(ctx)
			var ie *IncompatibleError
			if tt.fails != errors.As(err, &ie) || (err != nil && !tt.fails) {
				t.Fatalf("publish: %v", err)
			}
			comparePasses(t, predicted, published)
			var dead, gone int64
			for _, b := range published.Batches {
				dead += b.DeadLetters
				gone += b.VanishedDeleted
			}
			if dead != tt.dead || gone != tt.gone {
				t.Errorf("%d dead letters and %d vanished rows deleted, want %d and %d", dead, gone, tt.dead, tt.gone)
			}
			got := map[string]Outcome{}
			for _, b := range published.Batches {
				got[b.Group+"/"+b.Batch] = b.Outcome
			}
			g := srgen.New(opts)
			for k, want := range tt.want {
				group, idx, _ := strings.Cut(k, "/")
				name := idx
				if len(idx) == 1 {
					name = g.BatchName(int(idx[0] - '0'))
				}
				if got[group+"/"+name] != want {
					t.Errorf("%s/%s: %s, want %s", group, name, got[group+"/"+name], want)
				}
			}
		})
	}
}

func (e *env) mustRun(ctx context.Context) *Pass {
	e.t.Helper()
	pass, err := e.run(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return pass
}

// comparePasses asserts that a dry run predicted a pass: every batch's
// report but where it was moved, and the halts.
func comparePasses(t *testing.T, predicted, published *Pass) {
	t.Helper()
	if len(predicted.Batches) != len(published.Batches) {
		t.Fatalf("predicted %d batches, published %d:\n%s\n%s", len(predicted.Batches), len(published.Batches), dump(predicted), dump(published))
	}
	for i := range published.Batches {
		p, q := predicted.Batches[i], published.Batches[i]
		q.MovedTo = ""
		if !reflect.DeepEqual(p, q) {
			t.Errorf("batch %s/%s: predicted\n%s\npublished\n%s", q.Group, q.Batch, dump(p), dump(q))
		}
	}
	if !reflect.DeepEqual(predicted.Halted, published.Halted) {
		t.Errorf("halts: predicted %v, published %v", predicted.Halted, published.Halted)
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}
