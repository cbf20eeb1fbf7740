package producer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer/tablestate"
	"github.com/sragent/sragent/schemas"
)

// With lists.labels, every list column gets a label field with the text
// of its id from the group's latest lists: the batch's own SRMapping (a
// full image every batch, published with snapshot markers) and
// SRConfiguredListOption (full or delta, as the manifest says), or, in a
// batch without them, the ones the table state kept, also after it was
// lost and rebuilt from the topics. An id the lists lack is a null label,
// counted and warned by file, line and column, never by value.
func TestListLabels(t *testing.T) {
	e := newEnv(t)
	e.labels = true
	ctx := context.Background()
	const (
		patients = "RowIdentifier,IDOrganisationVisibleTo,SpeaksEnglish,RemovedData\r\n"
		events   = "RowIdentifier,IDOrganisationVisibleTo,ContactMethod,RemovedData\r\n"
		options  = "RowIdentifier,ConfiguredList,ConfiguredListOption,RemovedData\r\n"
	)
	e.batchOf("g1", "20240101_1707", "",
		tableFile{"SRConfiguredListOption", true, options + "21,7,Home visit,0\r\n22,7,Telephone,0\r\n"},
		tableFile{"SRPatient", true, patients + "1,A1,11,0\r\n2,A1,12,0\r\n3,A1,99,0\r\n4,A1,,0\r\n"},
		tableFile{"SREvent", true, events + "101,A1,21,0\r\n102,A1,22,0\r\n"})
	mapping := "RowIdentifier,IdMappingGroup,Mapping\r\n11,1,Yes\r\n12,1,No\r\n"
	if err := os.WriteFile(filepath.Join(e.in, "g1", "20240101_1707", "SRMapping.csv"), []byte(mapping), 0o644); err != nil {
		t.Fatal(err)
	}
	// A batch without SRMapping, with a delta of the configured lists.
	e.batchOf("g1", "20240102_1707", "20240101_1707",
		tableFile{"SRConfiguredListOption", false, options + "21,7,Home visit (GP),0\r\n22,,,1\r\n23,7,Video,0\r\n"},
		tableFile{"SRPatient", false, patients + "5,A1,12,0\r\n"},
		tableFile{"SREvent", false, events + "103,A1,21,0\r\n104,A1,22,0\r\n105,A1,23,0\r\n"})
	dry, pass, reg, logs := e.validateThenPublish(2)
	if pass.Batches[1].Outcome != Published {
		t.Fatalf("%+v", pass)
	}
	// The store is lost: the next batch labels with the lists rebuilt from the topics.
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	e.batchOf("g1", "20240103_1707", "20240102_1707",
		tableFile{"SRPatient", false, patients + "6,A1,11,0\r\n"},
		tableFile{"SREvent", false, events + "106,A1,23,0\r\n107,A1,21,0\r\n108,A1,22,0\r\n"})
	pass3, err := e.run(ctx)
	if err != nil || len(pass3.Batches) != 1 || pass3.Batches[0].Outcome != Published {
		t.Fatalf("%+v %v", pass3, err)
	}

	for _, tc := range []struct {
		table, column string
		want          map[int64]any // RowIdentifier → label (nil: null)
	}{
		{"SRPatient", "SpeaksEnglish", map[int64]any{1: "Yes", 2: "No", 3: nil, 4: nil, 5: "No", 6: "Yes"}},
		{"SREvent", "ContactMethod", map[int64]any{101: "Home visit", 102: "Telephone", 103: "Home visit (GP)", 104: nil,
			105: "Video", 106: "Video", 107: "Home visit (GP)", 108: nil}},
	} {
		rows := e.afterByLogicalType(e.cfg.TopicFor(tc.table))
		for id, want := range tc.want {
			row, ok := rows[id]
			if !ok {
				t.Errorf("%s %d not published", tc.table, id)
				continue
			}
			if got := row[tc.column+schemas.LabelSuffix]; got != want {
				t.Errorf("%s %d: %s_label %v, want %v", tc.table, id, tc.column, got, want)
			}
		}
	}

	// Missing labels: counted per file, warned once per column with the
	// first line, never with the id.
	file := func(r BatchReport, name string) *FileReport {
		for _, f := range r.Files {
			if f.File == name {
				return f
			}
		}
		t.Fatalf("%s: no report of %s", r.Batch, name)
		return nil
	}
	for _, tc := range []struct {
		res       BatchReport
		file, col string
		n, line   int64
	}{
		{pass.Batches[0], "SRPatient.csv", "SpeaksEnglish", 1, 4},
		{pass.Batches[1], "SREvent.csv", "ContactMethod", 1, 3},
		// validate predicts them, the second batch from the lists the first left
		{dry.Batches[0], "SRPatient.csv", "SpeaksEnglish", 1, 4},
		{dry.Batches[1], "SREvent.csv", "ContactMethod", 1, 3},
	} {
		if got := file(tc.res, tc.file).Unlabelled; got != tc.n {
			t.Errorf("%s %s: %d unlabelled, want %d", tc.res.Batch, tc.file, got, tc.n)
		}
		var warned bool
		for _, p := range tc.res.Problems {
			if p.File == tc.file && p.Column == tc.col && p.Line == tc.line && p.Severity == SeverityWarning {
				warned = true
				if strings.Contains(p.Reason, "99") || strings.Contains(p.Reason, "22") {
					t.Errorf("the warning quotes the id: %s", p.Reason)
				}
			}
		}
		if !warned {
			t.Errorf("%s %s: no warning at line %d column %s: %+v", tc.res.Batch, tc.file, tc.line, tc.col, tc.res.Problems)
		}
	}
	for i := range pass.Batches {
		for _, f := range pass.Batches[i].Files {
			if d := file(dry.Batches[i], f.File); d.Unlabelled != f.Unlabelled {
				t.Errorf("%s %s: validate predicted %d unlabelled, publish had %d", pass.Batches[i].Batch, f.File, d.Unlabelled, f.Unlabelled)
			}
		}
	}
	if !strings.Contains(logs.String(), "column=ContactMethod") || strings.Contains(logs.String(), "Telephone") {
		t.Errorf("the log does not warn of the missing label, or quotes a list's text:\n%s", logs)
	}
	// The rebuilt lists know option 22 was deleted (its d event and tombstone).
	if r := pass3.Batches[0]; file(r, "SREvent.csv").Unlabelled != 1 || file(r, "SRPatient.csv").Unlabelled != 0 {
		t.Errorf("after the rebuild: %+v", r.Files)
	}
	if got := sum(t, reg, "sragent_row_warnings_total", map[string]string{"warning": rowWarningLabelMissing}); got != 2 {
		t.Errorf("sragent_row_warnings_total{warning=%s} = %v, want 2", rowWarningLabelMissing, got)
	}

	// SRMapping is a full file: its rows are r events between snapshot markers.
	var begins, ends, rows int
	for _, ev := range e.consume(e.cfg.TopicFor(schemas.Mapping)) {
		switch {
		case ev.marker == "snapshot_begin":
			begins++
		case ev.marker == "snapshot_end":
			ends++
		case ev.value != nil && ev.value["op"] == "r":
			rows++
		}
	}
	if begins != int(e.cfg.Partitions) || ends != begins || rows != 2 {
		t.Errorf("SRMapping: %d begin markers, %d end markers, %d r events", begins, ends, rows)
	}
	if m := file(pass.Batches[0], "SRMapping.csv").Mode; m != "full" {
		t.Errorf("SRMapping.csv mode %s", m)
	}
}

// lists.labels can be turned on and off on a running feed: the registry
// (a real one in the integration tier) accepts each schema, and a full
// file after the change publishes its rows again, with their labels or
// without, although their cells did not change.
func TestLabelsTurnedOnAndOff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const patients = "RowIdentifier,IDOrganisationVisibleTo,SpeaksEnglish,RemovedData\r\n1,A1,11,0\r\n2,A1,12,0\r\n"
	for _, tc := range []struct {
		batch  string
		labels bool
		want   any // the label of row 1
	}{
		{"20240101_1707", false, nil},
		{"20240102_1707", true, "Yes"},
		{"20240103_1707", false, nil},
	} {
		e.labels = tc.labels
		e.batchOf("g1", tc.batch, "", tableFile{"SRPatient", true, patients})
		if err := os.WriteFile(filepath.Join(e.in, "g1", tc.batch, "SRMapping.csv"), []byte("RowIdentifier,IdMappingGroup,Mapping\r\n11,1,Yes\r\n12,1,No\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		pass, err := e.run(ctx)
		if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
			t.Fatalf("%s: %+v %v", tc.batch, pass, err)
		}
		var events int64
		for _, f := range pass.Batches[0].Files {
			if f.Table == "SRPatient" {
				events = f.Events
			}
		}
		if events != 2 {
			t.Errorf("%s (labels %t): %d SRPatient events, want both rows again", tc.batch, tc.labels, events)
		}
		row := e.afterByLogicalType(e.cfg.TopicFor("SRPatient"))[1]
		if got, has := row["SpeaksEnglish_label"]; got != tc.want || has != tc.labels {
			t.Errorf("%s (labels %t): SpeaksEnglish_label %v (field present %t)", tc.batch, tc.labels, got, has)
		}
	}
}

// SRMapping is reconciled as the full file it is: with reconcile.shared
// delete, a list row a later SRMapping no longer holds is deleted, and
// rows that hold its id lose their label.
func TestMappingReconciled(t *testing.T) {
	e := newEnv(t)
	e.labels = true
	e.reconcile = ReconcileConfig{Mode: ReconcileReport, Shared: ReconcileDelete, MinRatio: 0.5}
	ctx := context.Background()
	for _, tc := range []struct {
		batch, mapping string
	}{
		{"20240101_1707", "11,1,Yes\r\n12,1,No\r\n13,1,Unknown\r\n"},
		{"20240102_1707", "11,1,Yes\r\n13,1,Unknown\r\n"},
	} {
		e.batchOf("g1", tc.batch, "", tableFile{"SRPatient", true, "RowIdentifier,IDOrganisationVisibleTo,SpeaksEnglish,RemovedData\r\n1,A1,12,0\r\n"})
		if err := os.WriteFile(filepath.Join(e.in, "g1", tc.batch, "SRMapping.csv"), []byte("RowIdentifier,IdMappingGroup,Mapping\r\n"+tc.mapping), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pass, err := e.run(ctx)
	if err != nil || len(pass.Batches) != 2 {
		t.Fatalf("%+v %v", pass, err)
	}
	var deleted, unlabelled int64
	for _, f := range pass.Batches[1].Files {
		switch f.Table {
		case schemas.Mapping:
			deleted = f.VanishedDeleted
		case "SRPatient":
			unlabelled = f.Unlabelled
		}
	}
	if deleted != 1 || unlabelled != 1 {
		t.Errorf("second batch: %d SRMapping rows deleted, %d SRPatient ids unlabelled; want 1 and 1", deleted, unlabelled)
	}
	if got := rebuiltNames(t, e, schemas.Mapping, "Mapping"); len(got) != 2 || got["11"] != "Yes" || got["13"] != "Unknown" {
		t.Errorf("SRMapping as a sink rebuilds it: %v", got)
	}
	if got := e.afterByLogicalType(e.cfg.TopicFor("SRPatient"))[1]["SpeaksEnglish_label"]; got != nil {
		t.Errorf("SpeaksEnglish_label %v after its list row was deleted", got)
	}
}

// The lists are kept while lists.labels is off, so that turning it on
// labels with the group's configured lists as their deltas left them, not
// only once a full file of them arrives; a row published again unchanged
// is not counted again as unlabelled.
func TestListsKeptWhileLabelsOff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const (
		events  = "RowIdentifier,IDOrganisationVisibleTo,ContactMethod,RemovedData\r\n"
		options = "RowIdentifier,ConfiguredList,ConfiguredListOption,RemovedData\r\n"
	)
	e.batchOf("g1", "20240101_1707", "",
		tableFile{"SRConfiguredListOption", true, options + "21,7,Home visit,0\r\n22,7,Telephone,0\r\n"},
		tableFile{"SREvent", true, events + "101,A1,21,0\r\n"})
	e.batchOf("g1", "20240102_1707", "20240101_1707",
		tableFile{"SRConfiguredListOption", false, options + "21,7,Home visit (GP),0\r\n22,,,1\r\n"},
		tableFile{"SREvent", false, events + "102,A1,21,0\r\n"})
	e.mustRun(ctx)
	e.labels = true
	e.batchOf("g1", "20240103_1707", "20240102_1707",
		tableFile{"SRConfiguredListOption", false, options + "23,7,Video,0\r\n"},
		tableFile{"SREvent", false, events + "103,A1,21,0\r\n104,A1,22,0\r\n105,A1,23,0\r\n"})
	e.mustRun(ctx)
	rows := e.afterByLogicalType(e.cfg.TopicFor("SREvent"))
	for id, want := range map[int64]any{103: "Home visit (GP)", 104: nil, 105: "Video"} {
		if got := rows[id]["ContactMethod_label"]; got != want {
			t.Errorf("SREvent %d: ContactMethod_label %v, want %v", id, got, want)
		}
	}
	// The same rows again: unchanged, not published, not counted.
	e.batchOf("g1", "20240104_1707", "20240103_1707", tableFile{"SREvent", false, events + "104,A1,22,0\r\n"})
	pass := e.mustRun(ctx)
	if f := pass.Batches[0].Files[len(pass.Batches[0].Files)-1]; f.Unchanged != 1 || f.Unlabelled != 0 {
		t.Errorf("an unchanged row with an unlabelled id: %+v", f)
	}
}

// When the table state cannot be rebuilt from the topics (here a record
// whose key schema the registry does not have), it is emptied and learned
// again, but keeps the groups' lists: rows are not published again with
// null labels.
func TestListsSurviveAFailedRebuild(t *testing.T) {
	e := newEnv(t)
	e.labels = true
	ctx := context.Background()
	const events = "RowIdentifier,IDOrganisationVisibleTo,ContactMethod,RemovedData\r\n"
	e.batchOf("g1", "20240101_1707", "",
		tableFile{"SRConfiguredListOption", true, "RowIdentifier,ConfiguredList,ConfiguredListOption,RemovedData\r\n21,7,Home visit,0\r\n"},
		tableFile{"SREvent", true, events + "101,A1,21,0\r\n"})
	e.mustRun(ctx)
	// An unreadable record in a table topic, and a store that no longer
	// matches what is committed.
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte{0, 0x7f, 0xff, 0xff, 0xf0, 14}, "SREvent"...) // schema id 2147483632, table "SREvent"
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: e.cfg.TopicFor("SREvent"), Key: key, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	s, err := tablestate.Open(filepath.Join(e.stateDir, "tables"), tablestate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch("g1")
	if err := b.Commit([]byte("not the committed checkpoint")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	e.batchOf("g1", "20240102_1707", "20240101_1707", tableFile{"SREvent", false, events + "102,A1,21,0\r\n"})
	pass := e.mustRun(ctx)
	if got := e.afterByLogicalType(e.cfg.TopicFor("SREvent"))[102]["ContactMethod_label"]; got != "Home visit" || pass.Batches[0].Files[0].Unlabelled != 0 {
		t.Errorf("after a failed rebuild: ContactMethod_label %v, %+v", got, pass.Batches[0].Files[0])
	}
}
