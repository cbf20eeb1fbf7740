package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer"
)

// deadletter list shows where each row that did not convert was (group,
// batch, file, line, column) and why, in order, filtered by group, and
// never a cell: the planted canary stays out of the output.
func TestDeadletterList(t *testing.T) {
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	const header = "RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth,RemovedData\r\n"
	for _, g := range []string{"g1", "g2"} {
		b := filepath.Join(in, g, "20240102_1707")
		os.MkdirAll(b, 0o755)
		os.WriteFile(filepath.Join(b, "SRManifest.csv"), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,N,N,,20240102_1707\r\n"), 0o644)
		os.WriteFile(filepath.Join(b, "SRPatient.csv"), []byte(header+"1,A1,Ann,,0\r\n2,A1,"+canary+",31 Feb 2020 00:00,0\r\nx3,A1,"+canary+",,0\r\n"), 0o644)
	}
	cfg := writeConfig(t, fmt.Sprintf("input: {dir: %q, settle: 0s}\narchive: {dir: %q}\nstate: {dir: %q}\n%s",
		in, filepath.Join(dir, "archive"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 1")))
	if r := runSragent(t, nil, "publish", "--config", cfg); r.code != 0 {
		t.Fatalf("publish: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := runSragent(t, nil, "deadletter", "list", "--json", "--config", cfg)
	r.noCanary(t)
	var got struct {
		DeadLetters []producer.DeadLetter `json:"dead_letters"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("%v %d %s %s", err, r.code, r.stdout, r.stderr)
	}
	var where []string
	for _, d := range got.DeadLetters {
		where = append(where, fmt.Sprintf("%s/%s/%s:%d:%s:%t", d.Group, d.Batch, d.File, d.Line, d.Column, d.Cells))
		if d.Reason == "" || d.Table != "SRPatient" {
			t.Errorf("%+v", d)
		}
	}
	want := "g1/20240102_1707/SRPatient.csv:3:DateBirth:true g1/20240102_1707/SRPatient.csv:4:RowIdentifier:true " +
		"g2/20240102_1707/SRPatient.csv:3:DateBirth:true g2/20240102_1707/SRPatient.csv:4:RowIdentifier:true"
	if strings.Join(where, " ") != want {
		t.Errorf("dead letters %v, want %s", where, want)
	}
	r = runSragent(t, nil, "deadletter", "list", "--group", "g2", "--config", cfg)
	r.noCanary(t)
	if r.code != 0 || strings.Contains(r.stdout, "g1 ") || !strings.Contains(r.stdout, "2 dead letters") || !strings.Contains(r.stdout, "DateBirth") {
		t.Errorf("--group g2: %d\n%s", r.code, r.stdout)
	}
}

// deadletter replay publishes the dead letters that convert now (rows too
// large for their topic, once max.message.bytes is raised) exactly once:
// the second replay publishes nothing, list shows them resolved, and no
// cell reaches the output. One that still does not convert stays pending
// (exit 4).
func TestDeadletterReplay(t *testing.T) {
	ctx := context.Background()
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	b := filepath.Join(dir, "in", "g1", "20240102_1707")
	os.MkdirAll(b, 0o755)
	big := strings.Repeat(canary, 700)
	os.WriteFile(filepath.Join(b, "SRManifest.csv"), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,N,N,,20240102_1707\r\n"), 0o644)
	os.WriteFile(filepath.Join(b, "SRPatient.csv"), []byte("RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth,RemovedData\r\n"+
		"1,A1,Ann,,0\r\n2,A1,"+big+",,0\r\n3,A1,"+canary+",31 Feb 2020 00:00,0\r\n"), 0o644)
	cfg := writeConfig(t, fmt.Sprintf("input: {dir: %q, settle: 0s}\narchive: {dir: %q}\nstate: {dir: %q}\n%s",
		filepath.Join(dir, "in"), filepath.Join(dir, "archive"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 1")))
	topic := k.Prefix + ".SRPatient"
	adm := k.Admin(t)
	if _, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact"),
		"max.message.bytes": kadm.StringPtr("6000")}, topic); err != nil {
		t.Fatal(err)
	}
	if r := runSragent(t, nil, "publish", "--config", cfg); r.code != 0 {
		t.Fatalf("publish: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: kadm.StringPtr("1048588")}}, topic); err != nil {
		t.Fatal(err)
	}
	var rep producer.ReplayReport
	r := runSragent(t, nil, "deadletter", "replay", "--json", "--config", cfg)
	r.noCanary(t)
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitAttention {
		t.Fatalf("replay: %v %d %s %s", err, r.code, r.stdout, r.stderr)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Line != 3 || rep.Rows[0].Outcome != producer.ReplayReplayed ||
		rep.Rows[1].Line != 4 || rep.Rows[1].Outcome != producer.ReplayPending || !strings.Contains(rep.Rows[1].Reason, "DateBirth") {
		t.Errorf("replay: %+v", rep.Rows)
	}
	r = runSragent(t, nil, "deadletter", "replay", "--config", cfg)
	r.noCanary(t)
	if r.code != exitAttention || !strings.Contains(r.stdout, "0 replayed, 0 superseded, 1 still pending; 1 resolved by an earlier replay") {
		t.Errorf("second replay: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rows int
	err := producer.ReadCommitted(ctx, producer.Config{Brokers: k.Brokers, TopicPrefix: k.Prefix}, []string{topic}, func(rec *kgo.Record) {
		if rec.Value != nil && strings.Contains(string(rec.Value), big) {
			rows++
		}
	})
	if err != nil || rows != 1 {
		t.Errorf("row 2 published %d times (%v)", rows, err)
	}
	r = runSragent(t, nil, "deadletter", "list", "--config", cfg)
	r.noCanary(t)
	if !strings.Contains(r.stdout, "2 dead letters, 1 pending") || !strings.Contains(r.stdout, " replayed ") {
		t.Errorf("list: %d\n%s", r.code, r.stdout)
	}
}
