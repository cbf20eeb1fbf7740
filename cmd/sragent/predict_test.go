package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sragent/sragent/producer"
)

// delimitedBatch writes batch g1/20240102_1707 with a full SRPatient file
// of three rows, one with a quoted field holding the delimiter, written
// with delimiter d and quote q.
func delimitedBatch(t *testing.T, in string, d, q string) {
	t.Helper()
	line := func(cells ...string) string { return strings.Join(cells, d) + "\r\n" }
	man := line("FileName", "IsDelta", "IsReference", "DateExtractFrom", "DateExtractTo") +
		line(q+"SRPatient"+q, "N", "N", "", "20240102_1707")
	pat := line("RowIdentifier", "IDOrganisationVisibleTo", "FirstName", "DateBirth", "RemovedData") +
		line("1", "A81001", "Ann", "12 Jun 1987 08:45", "0") +
		line("2", "A81001", q+"Bo"+d+"b"+q, "", "0") +
		line("3", "A81001", "Cy", "01 Jan 2001 00:00", "0")
	batchFiles{loose: loose(man, "SRPatient.csv", pat)}.write(t, filepath.Join(in, "g1", "20240102_1707"))
}

// Every documented spelling of input.delimiter (and a custom quote) means
// the same to validate and to publish: the manifest, the readiness check
// and the tables are all read with it, validate predicts published, and
// publish publishes every row.
func TestDelimiterSpellings(t *testing.T) {
	tests := []struct {
		name, yaml, delim, quote string
	}{
		{"comma", `","`, ",", `"`},
		{"semicolon", `";"`, ";", `"`},
		{"pipe", `"|"`, "|", `"`},
		{"tab character", `"\t"`, "\t", `"`},
		{"backslash t", `'\t'`, "\t", `"`},
		{"tab", `tab`, "\t", `"`},
		{"quote apostrophe", `"|"` + "\n  quote: \"'\"", "|", "'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "in")
			delimitedBatch(t, in, tt.delim, tt.quote)
			k := brokerAndRegistry(t)
			cfg := testConfig(t, in, "  delimiter: "+tt.yaml, kafkaConfig(k, ""),
				fmt.Sprintf("quarantine:\n  dir: %q", filepath.Join(filepath.Dir(in), "quarantine")))
			res := runSragent(t, nil, "validate", "--json", "--config", cfg)
			rep := decodeReport(t, res.stdout)
			if res.code != exitOK || len(rep.Batches) != 1 || rep.Batches[0].Outcome != producer.Published || rep.Batches[0].Events != 3 {
				t.Fatalf("validate: exit %d %s %s", res.code, res.stdout, res.stderr)
			}
			pub := runSragent(t, nil, "publish", "--config", cfg)
			if pub.code != exitOK || !strings.Contains(pub.stdout, "published") {
				t.Fatalf("publish: exit %d %s %s", pub.code, pub.stdout, pub.stderr)
			}
			var names []string
			for _, r := range readCommitted(t, k, k.Prefix+".SRPatient") {
				if r.Value != nil && len(r.Headers) == 0 {
					names = append(names, string(r.Key))
				}
			}
			if len(names) != 3 {
				t.Fatalf("%d events on the topic, want 3", len(names))
			}
		})
	}
}

// validate says what publish then does, through the binary's paths: after
// the archive was pruned, a batch that skips a delta is halted (the state
// in Kafka knows the chain), and a row too large for its topic is a dead
// letter.
func TestValidatePredictsPublish(t *testing.T) {
	root := t.TempDir()
	in := filepath.Join(root, "in")
	k := brokerAndRegistry(t)
	cfg := testConfig(t, in, kafkaConfig(k, ""), fmt.Sprintf("quarantine:\n  dir: %q", filepath.Join(root, "quarantine")))
	pat := patHeader + goodRow
	batchFiles{loose: loose(fullMan, "SRPatient.csv", pat)}.write(t, filepath.Join(in, "g1", "20240102_1707"))
	if res := runSragent(t, nil, "publish", "--config", cfg); res.code != exitOK {
		t.Fatalf("publish: %d %s %s", res.code, res.stdout, res.stderr)
	}
	if err := os.RemoveAll(filepath.Join(root, "archive")); err != nil {
		t.Fatal(err)
	}
	// A delta that starts a day after the published cut-off: a gap.
	gapMan := manHeader + "SRPatient,Y,N,20240103_1707,20240104_1707\r\n"
	batchFiles{loose: loose(gapMan, "SRPatient.csv", pat)}.write(t, filepath.Join(in, "g1", "20240104_1707"))
	// Another chain with a row larger than the topic takes.
	big := patHeader + "7,A81001," + strings.Repeat("x", 1100<<10) + ",,TRUE,0\r\n" + goodRow
	batchFiles{loose: loose(fullMan, "SRPatient.csv", big)}.write(t, filepath.Join(in, "g2", "20240102_1707"))

	res := runSragent(t, nil, "validate", "--json", "--config", cfg)
	res.noCanary(t)
	rep := decodeReport(t, res.stdout)
	predicted := map[string]producer.BatchReport{}
	for _, b := range rep.Batches {
		predicted[b.Group+"/"+b.Batch] = b
	}
	if res.code != exitInvalid || predicted["g1/20240104_1707"].Outcome != producer.Halted ||
		predicted["g2/20240102_1707"].Outcome != producer.Published || predicted["g2/20240102_1707"].DeadLetters != 1 {
		t.Fatalf("validate: exit %d\n%s", res.code, res.stdout)
	}
	pub := runSragent(t, nil, "publish", "--config", cfg)
	if pub.code != exitAttention {
		t.Fatalf("publish: exit %d %s %s", pub.code, pub.stdout, pub.stderr)
	}
	for key, b := range predicted {
		group, batch, _ := strings.Cut(key, "/")
		if !containsRow(pub.stdout, group, batch, b.Outcome.String(), fmt.Sprint(b.Events), fmt.Sprint(b.Deletes), fmt.Sprint(b.DeadLetters), fmt.Sprint(b.Unchanged), vanished(b.Vanished, b.VanishedDeleted)) {
			t.Errorf("publish did not do what validate predicted for %s (%s, %d events, %d dead letters):\n%s", key, b.Outcome, b.Events, b.DeadLetters, pub.stdout)
		}
	}
	var dead int
	for _, r := range readCommitted(t, k, k.Prefix+".deadletter") {
		if r.Value != nil {
			dead++
		}
	}
	if dead != 1 {
		t.Errorf("%d dead letters published, want 1", dead)
	}
}

// containsRow reports whether publish's table has a row of these cells.
func containsRow(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(cells, " ") {
			return true
		}
	}
	return false
}
