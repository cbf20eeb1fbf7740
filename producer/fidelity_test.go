package producer

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/schemas"
)

// afterByLogicalType reads the "after" image of every row event of topics
// the way a consumer that trusts Avro logical types does (hamba/avro, as
// Java's and Python's decoders): date-times come out as time.Time, by
// key column RowIdentifier.
func (e *env) afterByLogicalType(topics ...string) map[int64]map[string]any {
	e.t.Helper()
	cl, err := sr.NewClient(sr.URLs(e.k.Registry))
	if err != nil {
		e.t.Fatal(err)
	}
	schemas := map[int]avro.Schema{}
	out := map[int64]map[string]any{}
	err = ReadCommitted(context.Background(), e.cfg, topics, func(r *kgo.Record) {
		if r.Value == nil || len(r.Value) < 5 {
			return
		}
		id := int(binary.BigEndian.Uint32(r.Value[1:5]))
		s := schemas[id]
		if s == nil {
			got, err := cl.SchemaByID(context.Background(), id)
			if err != nil {
				e.t.Fatal(err)
			}
			if s, err = avro.Parse(got.Schema); err != nil {
				e.t.Fatal(err)
			}
			schemas[id] = s
		}
		var v map[string]any
		if err := avro.Unmarshal(s, r.Value[5:], &v); err != nil {
			e.t.Fatalf("decode: %v", err)
		}
		if after, ok := unwrap(v["after"]).(map[string]any); ok {
			row := map[string]any{}
			for col, x := range after {
				row[col] = unwrap(x)
			}
			switch id := row["RowIdentifier"].(type) {
			case int:
				out[int64(id)] = row
			case int64:
				out[id] = row
			}
		}
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// cellString returns a decoded string or long field as its cell (and
// date-times as cellAs does).
func cellString(v any) (string, bool) { return cellAs(v, schemas.String) }

// cellAs returns a decoded field of column type typ as srgen wrote
// its cell (see wantCell): calendar dates straight from their
// local-timestamp-millis value (no zone), instants as "@" and their Unix
// milliseconds. A calendar column that decodes as an instant is reported
// as such.
func cellAs(v any, typ schemas.Type) (string, bool) {
	if v == nil {
		return "", true
	}
	layout := "02 Jan 2006 15:04:05"
	if typ.Minutes() {
		layout = "02 Jan 2006 15:04"
	}
	for branch, x := range v.(map[string]any) {
		switch {
		case branch == "string":
			return x.(string), true
		case branch == "long" && typ.Local():
			return time.UnixMilli(x.(int64)).UTC().Format(layout), true
		case branch == "long":
			return strconv.FormatInt(x.(int64), 10), true
		case branch == "long.timestamp-millis" && typ.Local():
			return "an instant, not a calendar date", true
		case branch == "long.timestamp-millis":
			return "@" + strconv.FormatInt(x.(time.Time).UnixMilli(), 10), true
		}
	}
	return "", false // other types are compared by the codec's tests
}

// wantCell is what cellAs must return for a cell srgen wrote: the cell,
// or for an instant column the instant the UK wall-clock time is (a time
// in the spring-forward gap does not come back as it was written, so the
// comparison is of instants, read by the documented rules).
func wantCell(t *testing.T, cell string, typ schemas.Type) string {
	if cell == "" || !typ.Temporal() || typ.Local() {
		return cell
	}
	ms, err := codec.NewClock(nil).ParseDateTime([]byte(cell), typ.Minutes())
	if err != nil {
		t.Fatalf("srgen wrote an unreadable date-time: %v", err)
	}
	return "@" + strconv.FormatInt(ms, 10)
}

// unwrap returns the value of a union that hamba's generic decoding
// gives as a one-entry map named by the branch's type.
func unwrap(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for _, x := range m {
			return x
		}
	}
	return v
}

// A date-semantic column (a date of birth, of death, of registration) is
// the UK calendar date to a consumer that decodes it by its logical type,
// with no timezone arithmetic: 05 Jul 1980 00:00 is 5 July, never the
// instant 4 July 23:00 UTC. Instants (when an event was recorded) stay
// UTC instants.
func TestCalendarDatesStayDates(t *testing.T) {
	e := newEnv(t)
	e.batchOf("g1", "20240702_1707", "",
		tableFile{"SRPatient", true, "RowIdentifier,IDOrganisationVisibleTo,DateBirth,DateDeath,RemovedData\r\n" +
			"1,A1,05 Jul 1980 00:00,01 Aug 2020 00:00:00,0\r\n" +
			"2,A1,5 Jan 1980 23:30,,0\r\n" +
			"3,A1,31 Mar 2024 01:30:00,27 Oct 2024 01:30:00,0\r\n"}, // no such UK time, and one that repeats
		tableFile{"SRPatientRegistration", true, "RowIdentifier,IDOrganisationVisibleTo,DateRegistration,DateEventRecorded,RemovedData\r\n" +
			"10,A1,14 Jun 2001 00:00:00,14 Jun 2001 00:00:00,0\r\n"})
	pass, err := e.run(context.Background())
	if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published || pass.Batches[0].DeadLetters != 0 {
		t.Fatalf("%+v %v", pass, err)
	}
	rows := e.afterByLogicalType(e.cfg.TopicFor("SRPatient"), e.cfg.TopicFor("SRPatientRegistration"))
	// What a sink that casts the decoded value to a date or a timestamp
	// without zone stores: its own fields, in the zone it came in.
	wall := func(v any) string {
		ts, ok := v.(time.Time)
		if !ok {
			return "not a date-time"
		}
		return ts.Format("2006-01-02 15:04:05")
	}
	for _, c := range []struct {
		id     int64
		column string
		want   string
	}{
		{1, "DateBirth", "1980-07-05 00:00:00"},
		{1, "DateDeath", "2020-08-01 00:00:00"},
		{2, "DateBirth", "1980-01-05 23:30:00"},
		{3, "DateBirth", "2024-03-31 01:30:00"}, // written as it was, though no UK clock showed it
		{3, "DateDeath", "2024-10-27 01:30:00"},
		{10, "DateRegistration", "2001-06-14 00:00:00"},
	} {
		if got := wall(rows[c.id][c.column]); got != c.want {
			t.Errorf("row %d %s: a consumer decoding by logical type gets %s, want %s", c.id, c.column, got, c.want)
		}
	}
	if v := rows[2]["DateDeath"]; v != nil {
		t.Errorf("empty DateDeath decodes as %v, want null", v)
	}
	// An instant: 00:00 on 14 June in the UK is 23:00 UTC the day before.
	recorded, _ := rows[10]["DateEventRecorded"].(time.Time)
	if got := recorded.UTC().Format(time.RFC3339); got != "2001-06-13T23:00:00Z" {
		t.Errorf("DateEventRecorded is the instant %s, want 2001-06-13T23:00:00Z", got)
	}
	if got := recorded.In(manifest.London).Format("02 Jan 2006 15:04"); got != "14 Jun 2001 00:00" {
		t.Errorf("DateEventRecorded in the UK is %s", got)
	}
}

// validateThenPublish runs validate (a dry run) and then publish over the
// input, which must hold n batches, with metrics and a captured log.
func (e *env) validateThenPublish(n int) (dry, pass *Pass, reg *prometheus.Registry, logs *bytes.Buffer) {
	e.t.Helper()
	ctx := context.Background()
	dry = e.predict(ctx, DryRun{})
	reg, logs = prometheus.NewRegistry(), &bytes.Buffer{}
	pass, err := e.runWith(ctx, WithMetrics(NewMetrics(reg, "test")), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil || len(pass.Batches) != n || len(dry.Batches) != n {
		e.t.Fatalf("%+v %v", pass, err)
	}
	return dry, pass, reg, logs
}

// A delete needs only its key: a RemovedData=1 row whose other cells do
// not convert still deletes (d event, tombstone), with those cells null in
// its before image, a warning naming file, line and column (never the
// cell) in validate and publish, and a metric; a row that is not a delete
// with the same cell is a dead letter as before.
func TestDeleteNeedsOnlyItsKey(t *testing.T) {
	const canary = "CANARY-4711"
	e := newEnv(t)
	e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 3, "Ann", "05 Jul 1980 00:00")})
	e.batchOf("g1", "20240103_1707", "20240102_1707", tableFile{"SRPatient", false, reconcilePatients +
		"1,A1,Ann1,31 Feb " + canary + ",1\r\n" + // a delete with a bad date of birth
		"2,A1,Ann2,31 Feb " + canary + ",0\r\n" + // an update with it: a dead letter
		"3,A1,,,1\r\n"})
	dry, pass, reg, logs := e.validateThenPublish(2)
	for name, p := range map[string]*Pass{"validate": dry, "publish": pass} {
		res := p.Batches[1]
		if res.Outcome != Published || res.Deletes != 2 || res.DeadLetters != 1 || res.Files[0].NulledCells != 1 {
			t.Errorf("%s: %+v", name, res)
		}
		var warned bool
		for _, pr := range res.Problems {
			warned = warned || (pr.Severity == SeverityWarning && pr.File == "SRPatient.csv" && pr.Line == 2 && pr.Column == "DateBirth" &&
				strings.Contains(pr.Reason, "delete"))
			if strings.Contains(pr.String(), canary) {
				t.Errorf("%s: a problem quotes the cell: %s", name, pr)
			}
		}
		if !warned {
			t.Errorf("%s: no warning for line 2's DateBirth in %v", name, res.Problems)
		}
	}
	if strings.Contains(logs.String(), canary) {
		t.Error("the log quotes the cell")
	}
	if got := sum(t, reg, "sragent_row_warnings_total", map[string]string{"table": "SRPatient", "warning": rowWarningDeleteCellNull}); got != 1 {
		t.Errorf("row_warnings_total{delete_cell_null} = %v, want 1", got)
	}
	if got := keysOf(rebuiltNames(t, e, "SRPatient", "FirstName")); strings.Join(got, ",") != "A1/2" {
		t.Errorf("a marker-dropping consumer holds %v, want only A1/2 (1 and 3 deleted)", got)
	}
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
		if ev.value == nil || ev.value["op"] != "d" {
			continue
		}
		before := ev.value["before"].(map[string]any)["sragent.SRPatient.Value"].(map[string]any)
		if id, _ := cellString(before["RowIdentifier"]); id == "1" {
			if before["DateBirth"] != nil || before["FirstName"].(map[string]any)["string"] != "Ann1" {
				t.Errorf("the delete's before image: %v", before)
			}
		}
	}
}

// Input quirks a real file has: a UTF-8 byte order mark makes the file
// UTF-8 though input.encoding says Windows-1252 (with a warning), and
// typed cells with surrounding spaces convert; neither is a dead letter.
func TestInputQuirksPublish(t *testing.T) {
	e := newEnv(t)
	e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, "\xEF\xBB\xBFRowIdentifier,IDOrganisationVisibleTo,Surname,DateBirth,TestPatient,RemovedData\r\n" +
		"1,A1,M\xC3\xBCller, 05 Jul 1980 00:00 ,TRUE ,0\r\n" +
		" 2 ,A1,Zo\xC3\xAB,,\tFALSE,0 \r\n"})
	ctx := context.Background()
	dry := e.predict(ctx, DryRun{})
	pass, err := e.run(ctx)
	if err != nil || len(pass.Batches) != 1 {
		t.Fatalf("%+v %v", pass, err)
	}
	for name, p := range map[string]*Pass{"validate": dry, "publish": pass} {
		res := p.Batches[0]
		var warned bool
		for _, pr := range res.Problems {
			warned = warned || (pr.Severity == SeverityWarning && pr.Line == 1 && strings.Contains(pr.Reason, "byte order mark"))
		}
		if res.Outcome != Published || res.Events != 2 || res.DeadLetters != 0 || !warned {
			t.Errorf("%s: %+v", name, res)
		}
	}
	if got := rebuiltNames(t, e, "SRPatient", "Surname"); got["A1/1"] != "Müller" || got["A1/2"] != "Zoë" {
		t.Errorf("surnames %q", got)
	}
}

// A delta without RemovedData cannot delete: the file is a warning in
// validate and in the log, and a row with only its key filled (what a
// delete looks like in such a file) is published as the upsert it is,
// counted and warned by line; a consumer holds the record with every
// other field null.
func TestDeltaWithoutRemovedData(t *testing.T) {
	e := newEnv(t)
	e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 2, "Ann", "05 Jul 1980 00:00")})
	e.batchOf("g1", "20240103_1707", "20240102_1707", tableFile{"SRPatient", false, "RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth\r\n" +
		"1,A1,,\r\n" + // only its key
		"2,A1,Bea,\r\n"})
	dry, pass, reg, logs := e.validateThenPublish(2)
	for name, p := range map[string]*Pass{"validate": dry, "publish": pass} {
		res := p.Batches[1]
		var file, row bool
		for _, pr := range res.Problems {
			file = file || (pr.Severity == SeverityWarning && pr.Line == 1 && pr.Column == "RemovedData" && strings.Contains(pr.Reason, "cannot delete"))
			row = row || (pr.Severity == SeverityWarning && pr.Line == 2 && strings.Contains(pr.Reason, "only the key"))
			if pr.Line == 3 {
				t.Errorf("%s: line 3 is a real update, warned: %s", name, pr)
			}
		}
		if res.Outcome != Published || res.Events != 2 || res.Files[0].KeyOnlyUpserts != 1 || !file || !row {
			t.Errorf("%s: %+v", name, res)
		}
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"the delta file has no RemovedData column") {
		t.Errorf("no warning in the log:\n%s", logs.String())
	}
	if got := sum(t, reg, "sragent_row_warnings_total", map[string]string{"table": "SRPatient", "warning": rowWarningKeyOnlyUpsert}); got != 1 {
		t.Errorf("row_warnings_total{key_only_upsert} = %v, want 1", got)
	}
	if got := rebuiltNames(t, e, "SRPatient", "FirstName"); len(got) != 2 || got["A1/1"] != "" || got["A1/2"] != "Bea" {
		t.Errorf("a consumer holds %q, want A1/1 with no name and A1/2 Bea", got)
	}
}
