package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Patient data never leaves the data path: canary values planted in good
// rows, in rows that go to the dead-letter topic and in a batch that is
// quarantined never appear in anything any command prints or logs, nor in
// the quarantine's error.txt.
func TestCanariesNeverLeak(t *testing.T) {
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in, logFile := filepath.Join(dir, "in"), filepath.Join(dir, "logs", "sragent.log")
	canaries := []string{"CANARY-Ailsa", "CANARY9999", "CANARY£Street", "31 Feb 1999 CANARY"}
	write := func(batch, man, patients string) {
		d := filepath.Join(in, "g1", batch)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "SRManifest.csv"), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n"+man), 0o644)
		os.WriteFile(filepath.Join(d, "SRPatient.csv"), []byte(patients), 0o644)
	}
	header := "RowIdentifier,IDOrganisationVisibleTo,FirstName,Surname,DateBirth,RemovedData\r\n"
	write("20240101_1707", "SRPatient,N,N,,20240101_1707\r\n", header+
		"1,A81001,CANARY-Ailsa,\"CANARY£Street, Flat 2\",12 Jun 1987 08:45,0\r\n"+
		"CANARY9999,A81001,Bob,Jones,,0\r\n"+ // not an integer: dead letter
		"3,A81001,Cat,Smith,31 Feb 1999 CANARY,0\r\n"+ // bad date: dead letter
		"4,A81001,Dan,Lee,,0,CANARY-Ailsa\r\n") // too many fields: dead letter
	write("20240102_1707", "SRPatient,Y,N,20240101_1707,20240102_1707\r\n", header+
		"5,A81001,\"CANARY-Ailsa unterminated,x,,0\r\n") // structural: quarantined
	cfg := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s, poll: 100ms}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
%smetrics: {listen: %q}
log: {level: debug, file: %q}
`, in, filepath.Join(dir, "archive"), filepath.Join(dir, "quarantine"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 2"), freeAddr(t), logFile))

	var outputs []string
	for _, args := range [][]string{
		{"validate", "--config", cfg}, {"validate", "--json", "--config", cfg},
		{"validate", "--config", cfg, filepath.Join(in, "g1", "20240102_1707")},
		{"publish", "--config", cfg}, {"status", "--config", cfg}, {"status", "--json", "--config", cfg},
		{"chain", "resume", "g1", "--config", cfg}, {"publish", "--config", cfg}, {"service", "status"},
	} {
		res := runSragent(t, nil, args...)
		outputs = append(outputs, strings.Join(args, " ")+"\n"+res.stdout+res.stderr)
	}
	cmd, out := agentProcess(t, "run", "--config", cfg)
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	outputs = append(outputs, "run\n"+out.String())

	log, err := os.ReadFile(logFile)
	if err != nil || len(log) == 0 {
		t.Fatalf("no log file written: %v", err)
	}
	outputs = append(outputs, "log file\n"+string(log))
	quarantined, _ := filepath.Glob(filepath.Join(dir, "quarantine", "g1", "*", "error.txt"))
	if len(quarantined) != 1 {
		t.Fatalf("expected one quarantined batch, found %v", quarantined)
	}
	text, _ := os.ReadFile(quarantined[0])
	outputs = append(outputs, "error.txt\n"+string(text))
	if !strings.Contains(outputs[3], "dead letters") || !strings.Contains(string(text), "quoted field not terminated") {
		t.Fatalf("the scenario did not run as planned:\n%s\n%s", outputs[3], text)
	}
	for _, o := range outputs {
		for _, c := range canaries {
			for _, probe := range []string{c, strings.ReplaceAll(c, "£", `\u00a3`), "CANARY"} {
				if strings.Contains(o, probe) {
					t.Errorf("%q leaked in:\n%s", probe, o)
				}
			}
		}
	}
}
