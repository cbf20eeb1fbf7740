package producer

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// createPatientTopic creates the SRPatient topic as an operator would
// before the agent: compacted, with the configs given.
func (e *env) createPatientTopic(configs map[string]string) {
	e.t.Helper()
	cfg := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	for k, v := range configs {
		cfg[k] = kadm.StringPtr(v)
	}
	resp, err := e.k.Admin(e.t).CreateTopic(context.Background(), e.cfg.Partitions, -1, cfg, e.cfg.TopicFor("SRPatient"))
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// setPatientTopic changes a config of the SRPatient topic.
func (e *env) setPatientTopic(key, value string) {
	e.t.Helper()
	rs, err := e.k.Admin(e.t).AlterTopicConfigs(context.Background(),
		[]kadm.AlterConfig{{Op: kadm.SetConfig, Name: key, Value: kadm.StringPtr(value)}}, e.cfg.TopicFor("SRPatient"))
	if err == nil {
		_, err = rs.On(e.cfg.TopicFor("SRPatient"), nil)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// replay runs a replay of every dead letter.
func (e *env) replay(ctx context.Context) ReplayReport {
	e.t.Helper()
	var rep ReplayReport
	if err := e.withAgent(ctx, nil, func(a *Agent) (err error) {
		rep, err = a.Replay(ctx, DeadLetterFilter{})
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// outcomes maps "line" → "outcome: reason" of a report's rows of batch.
func outcomes(rep ReplayReport, batch string) map[string]string {
	out := map[string]string{}
	for _, r := range rep.Rows {
		if r.Batch == batch {
			out[strconv.FormatInt(r.Line, 10)] = r.Outcome + ": " + r.Reason
		}
	}
	return out
}

// Rows too large for their topic are dead letters; once the operator
// raises max.message.bytes, a replay publishes those no later event of
// their key replaced, exactly once, at their place in time: a later
// upsert or delete, or a later dead letter of the key, supersedes one;
// a row that still does not convert stays pending. A marker-dropping
// consumer's table is then what the batches say, and the table state
// knows the replayed images.
func TestReplayDeadLetters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.createPatientTopic(map[string]string{"max.message.bytes": "6000"})
	big := func(c string) string { return strings.Repeat(c, 5000) }
	e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, reconcilePatients +
		"1,A1,Ann,,0\r\n" +
		"2,A1," + big("B") + ",,0\r\n" +
		"3,A1," + big("C") + ",,0\r\n" +
		"4,A1," + big("D") + ",,0\r\n" +
		"5,A1,Eve,31 Feb 2023 10:00,0\r\n" +
		"6,A1," + big("F") + ",,0\r\n"})
	e.batchOf("g1", "20240103_1707", "20240102_1707", tableFile{"SRPatient", false, reconcilePatients +
		"3,A1,Cat,,0\r\n" +
		"4,A1,Dan,,1\r\n" +
		"6,A1," + big("G") + ",,0\r\n"})
	pass := e.mustRun(ctx)
	if len(pass.Batches) != 2 || pass.Batches[0].DeadLetters != 5 || pass.Batches[1].DeadLetters != 1 {
		t.Fatalf("%+v", pass.Batches)
	}
	e.setPatientTopic("max.message.bytes", "1048588")

	rep := e.replay(ctx)
	first, second := outcomes(rep, "20240102_1707"), outcomes(rep, "20240103_1707")
	for line, want := range map[string]string{"3": "replayed: ", "4": "superseded: a later event of its key was published (batch 20240103_1707",
		"5": "superseded: its key was deleted later", "6": "pending: it still does not convert: column DateBirth",
		"7": "superseded: a later dead letter of its key (batch 20240103_1707, SRPatient.csv line 4) was replayed"} {
		if !strings.HasPrefix(first[line], want) {
			t.Errorf("batch 1 line %s: %q, want %q…", line, first[line], want)
		}
	}
	if len(second) != 1 || second["4"] != "replayed: " || rep.Resolved != 0 {
		t.Errorf("batch 2: %v, resolved before %d", second, rep.Resolved)
	}
	want := map[string]string{"A1/1": "Ann", "A1/2": big("B"), "A1/3": "Cat", "A1/6": big("G")}
	if got := rebuiltNames(t, e, "SRPatient", "FirstName"); !maps.Equal(got, want) {
		t.Errorf("rebuilt table: %d rows %v", len(got), keysOf(got))
	}
	// A replayed event has its dead letter's record time: where it would
	// have been.
	events := e.consume(e.cfg.TopicFor("SRPatient"))
	byRow := map[string][]event{}
	for _, ev := range events {
		if ev.value != nil && ev.marker == "" {
			id := fmt.Sprint(ev.key["RowIdentifier"])
			byRow[id] = append(byRow[id], ev)
		}
	}
	if evs := byRow["2"]; len(evs) != 1 {
		t.Errorf("row 2 has %d events", len(evs))
	} else if src := sourceOf(evs[0]); evs[0].value["op"] != "u" || src["batch"] != "20240102_1707" || src["line"] != int64(3) {
		t.Errorf("row 2's event: op %v, source %v", evs[0].value["op"], src)
	} else if snap, _ := cellString(src["snapshot"]); snap != "false" {
		t.Errorf("row 2's event: source.snapshot %q", snap)
	} else if dl := firstDeadLetter(e, "20240102_1707", 3); !evs[0].at.Equal(dl.at) {
		// A replayed event has its dead letter's record time: where it
		// would have been.
		t.Errorf("row 2's event at %v, its dead letter at %v", evs[0].at, dl.at)
	}
	if evs := byRow["6"]; len(evs) != 1 || sourceOf(evs[0])["batch"] != "20240103_1707" {
		t.Errorf("row 6's events: %d", len(evs))
	}

	// Resolved dead letters drop their cells and are never replayed again.
	again := e.replay(ctx)
	if again.Resolved != 5 || len(again.Rows) != 1 || again.Rows[0].Line != 6 || again.Rows[0].Outcome != ReplayPending {
		t.Errorf("second replay: %+v", again)
	}
	if n := len(e.consume(e.cfg.TopicFor("SRPatient"))); n != len(events) {
		t.Errorf("a second replay changed the topic: %d records, then %d", len(events), n)
	}
	cells := 0
	for _, d := range latestDeadLetters(e) {
		if d["fields"] != nil {
			cells++
		}
	}
	if cells != 1 {
		t.Errorf("%d dead letters keep their cells, want 1 (the pending one)", cells)
	}

	// The table state holds the replayed image: the same row again is
	// unchanged.
	e.batchOf("g1", "20240104_1707", "20240103_1707", tableFile{"SRPatient", false, reconcilePatients + "2,A1," + big("B") + ",,0\r\n"})
	if p := e.mustRun(ctx); len(p.Batches) != 1 || p.Batches[0].Events != 0 || p.Batches[0].Unchanged != 1 {
		t.Errorf("the replayed image again: %+v", p.Batches)
	}
}

// What a replay must not do, found in review: publish a row whose key a
// later batch sent again unchanged (which publishes no record), publish a
// row a later full file dropped (reconcile delete), or decide without the
// table state's mark (a state rebuilt from the topics has lost it).
func TestReplayOrdering(t *testing.T) {
	ctx := context.Background()
	big := strings.Repeat("B", 5000)
	tests := []struct {
		name    string
		delete  bool
		later   []tableFile // batch 3
		rebuild bool
		outcome string
		want    map[string]string
	}{
		{name: "a later row repeats the image published before",
			later:   []tableFile{{"SRPatient", false, reconcilePatients + "1,A1,Ann,,0\r\n"}},
			outcome: "superseded: a later event of its key was published (batch 20240104_1707", want: map[string]string{"A1/1": "Ann", "A1/2": "Bob"}},
		{name: "a later full file drops the key", delete: true,
			later:   []tableFile{{"SRPatient", true, reconcilePatients + "2,A1,Bob,,0\r\n"}},
			outcome: "superseded: its key was deleted later", want: map[string]string{"A1/2": "Bob"}},
		{name: "nothing later", outcome: "replayed: ", want: map[string]string{"A1/1": big, "A1/2": "Bob"}},
		{name: "the table state was rebuilt", rebuild: true,
			outcome: "pending: the table state no longer says", want: map[string]string{"A1/1": "Ann", "A1/2": "Bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.delete {
				e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileOff, MinRatio: 0.1}
			}
			e.createPatientTopic(map[string]string{"max.message.bytes": "6000"})
			e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, reconcilePatients + "1,A1,Ann,,0\r\n2,A1,Bob,,0\r\n"})
			e.batchOf("g1", "20240103_1707", "20240102_1707", tableFile{"SRPatient", false, reconcilePatients + "1,A1," + big + ",,0\r\n"})
			if tt.later != nil {
				e.batchOf("g1", "20240104_1707", "20240103_1707", tt.later...)
			}
			e.mustRun(ctx)
			e.setPatientTopic("max.message.bytes", "1048588")
			if tt.rebuild {
				if err := os.RemoveAll(e.stateDir); err != nil {
					t.Fatal(err)
				}
			}
			rep := e.replay(ctx)
			if len(rep.Rows) != 1 || !strings.HasPrefix(rep.Rows[0].Outcome+": "+rep.Rows[0].Reason, tt.outcome) {
				t.Fatalf("%+v, want %q…", rep.Rows, tt.outcome)
			}
			if got := rebuiltNames(t, e, "SRPatient", "FirstName"); !maps.Equal(got, tt.want) {
				t.Errorf("rebuilt table: %v, want %v", keysOf(got), keysOf(tt.want))
			}
		})
	}
}

// sourceOf returns an event's source.
func sourceOf(ev event) map[string]any {
	s, _ := ev.value["source"].(map[string]any)
	return s
}

// firstDeadLetter returns the first dead letter of batch and line.
func firstDeadLetter(e *env, batch string, line int64) event {
	for _, ev := range e.consume(e.cfg.DeadLetterTopic()) {
		if ev.key["batch"] == batch && ev.key["line"] == line {
			return ev
		}
	}
	e.t.Fatalf("no dead letter of %s line %d", batch, line)
	return event{}
}

// latestDeadLetters returns the latest value of every dead letter.
func latestDeadLetters(e *env) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, ev := range e.consume(e.cfg.DeadLetterTopic()) {
		out[string(ev.raw)] = ev.value
	}
	return out
}
