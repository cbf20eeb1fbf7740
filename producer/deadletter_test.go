package producer

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fullPatients writes batch g1/20240102_1707 with one full SRPatient file.
func (e *env) fullPatients(csv string) { e.fullPatientsAt("20240102_1707", csv) }

// fullPatientsAt writes batch g1/name with one full SRPatient file.
func (e *env) fullPatientsAt(name, csv string) {
	e.t.Helper()
	dir := filepath.Join(e.in, "g1", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	man := "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,N,N,," + name + "\r\n"
	for file, body := range map[string]string{"SRManifest.csv": man, "SRPatient.csv": csv} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// Rows that do not convert go to the dead-letter topic with reason, file,
// line and column; the rest of the batch publishes and the END event
// counts them.
func TestDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.fullPatients("RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth,RemovedData\r\n" +
		"1,A1,Ann,12 Jun 1987 08:45,0\r\n" +
		"2,A1,Bob,31 Feb 2023 10:00,0\r\n" +
		"x3,A1,Cat,,0\r\n" +
		"4,A1,Dan,,0\r\n")
	pass, err := e.run(context.Background())
	if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published || pass.Batches[0].Events != 2 || pass.Batches[0].DeadLetters != 2 {
		t.Fatalf("%+v %v", pass, err)
	}
	var dead []map[string]any
	var end map[string]any
	for _, ev := range e.consume(e.cfg.DeadLetterTopic(), e.cfg.BatchesTopic()) {
		if ev.topic == e.cfg.DeadLetterTopic() {
			dead = append(dead, ev.value)
		} else if ev.value["status"] == "END" {
			end = ev.value
		}
	}
	if len(dead) != 2 {
		t.Fatalf("%d dead letters", len(dead))
	}
	sort.Slice(dead, func(i, j int) bool { return dead[i]["line"].(int64) < dead[j]["line"].(int64) })
	want := []struct {
		line           int64
		column, reason string
	}{{3, "DateBirth", "no such calendar date"}, {4, "RowIdentifier", "not an integer"}}
	for i, w := range want {
		d := dead[i]
		col, _ := d["column"].(map[string]any)
		if d["line"] != w.line || col["string"] != w.column || !strings.Contains(d["reason"].(string), w.reason) || d["file"] != "SRPatient.csv" {
			t.Errorf("dead letter %d: %v", i, d)
		}
		if d["fields"] == nil {
			t.Errorf("dead letter %d has no fields", i)
		}
	}
	cols := end["data_collections"].([]any)
	c := cols[0].(map[string]any)
	if c["data_collection"] != e.cfg.TopicFor("SRPatient") || c["event_count"] != int64(2) || c["dead_letters"] != int64(2) {
		t.Errorf("END event %v", end)
	}
}

// A row whose event is larger than its topic accepts (max.message.bytes,
// 1 MiB by default) is a dead letter, without its cells; so is a bad row
// whose cells would make its dead letter too large. The rest of the batch
// publishes and the chain goes on.
func TestRecordTooLargeIsDeadLetter(t *testing.T) {
	e := newEnv(t)
	e.fullPatients("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n" +
		"1,A1,Ann,0\r\n" +
		"2,A1," + strings.Repeat("B", 1536<<10) + ",0\r\n" +
		"x3,A1," + strings.Repeat("C", 1536<<10) + ",0\r\n" + // not an integer, and too large to quote
		"4,A1,Dan,0\r\n")
	pass, err := e.run(context.Background())
	if err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published || pass.Batches[0].Events != 2 || pass.Batches[0].DeadLetters != 2 {
		t.Fatalf("%+v %v", pass, err)
	}
	var dead []map[string]any
	for _, ev := range e.consume(e.cfg.DeadLetterTopic(), e.cfg.TopicFor("SRPatient")) {
		if ev.topic == e.cfg.DeadLetterTopic() {
			dead = append(dead, ev.value)
		}
	}
	sort.Slice(dead, func(i, j int) bool { return dead[i]["line"].(int64) < dead[j]["line"].(int64) })
	if len(dead) != 2 || dead[0]["line"] != int64(3) || !strings.Contains(dead[0]["reason"].(string), "max.message.bytes") || dead[0]["fields"] != nil ||
		dead[1]["line"] != int64(4) || !strings.Contains(dead[1]["reason"].(string), "not an integer") || dead[1]["fields"] != nil {
		t.Fatalf("dead letters: %d %v", len(dead), dead)
	}
}
