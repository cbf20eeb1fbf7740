package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sragent/sragent/producer"
	"github.com/sragent/sragent/schemas"
	"github.com/sragent/sragent/schemas/srgen"
)

// canary is planted in cells, good and bad; it must never appear in any
// output.
const canary = "ZZCANARY"

const (
	manHeader = "FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n"
	fullMan   = manHeader + "SRPatient,N,N,,20240102_1707\r\n"
	patHeader = "RowIdentifier,IDOrganisationVisibleTo,FirstName,DateBirth,TestPatient,RemovedData\r\n"
	goodRow   = "1,A81001,Zoë " + canary + ",12 Jun 1987 08:45,TRUE,0\r\n"
)

// cmdResult is one run of the sragent binary's code path.
type cmdResult struct {
	code           int
	stdout, stderr string
}

func runSragent(t *testing.T, env []string, args ...string) cmdResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, env)
	return cmdResult{code, out.String(), errb.String()}
}

func (r cmdResult) noCanary(t *testing.T) {
	t.Helper()
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, canary) || strings.Contains(s, "Zoë") {
			t.Fatalf("output quotes a cell value:\n%s", s)
		}
	}
}

type batchFiles struct {
	loose  map[string]string
	zipped map[string]string
	rawZip []byte
}

func (b batchFiles) write(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, body := range b.loose {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw := b.rawZip
	if b.zipped != nil {
		raw = zipOf(t, b.zipped)
	}
	if raw != nil {
		if err := os.WriteFile(filepath.Join(dir, "SRExtract.zip"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for n, body := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func loose(man string, files ...string) map[string]string {
	m := map[string]string{}
	if man != "" {
		m["SRManifest.csv"] = man
	}
	for i := 0; i+1 < len(files); i += 2 {
		m[files[i]] = files[i+1]
	}
	return m
}

// testConfig writes a config for input dir in with extra YAML lines
// (indented ones extend the input section); without a kafka section in
// extra, the config points at a broker and registry of its own.
func testConfig(t *testing.T, in string, extra ...string) string {
	t.Helper()
	body := fmt.Sprintf("input:\n  dir: %q\n  settle: 0s\n", in)
	own := true
	for _, e := range extra {
		body += e + "\n"
		own = own && !strings.HasPrefix(e, "kafka:")
	}
	if own {
		body += kafkaConfig(brokerAndRegistry(t), "")
	}
	body += fmt.Sprintf("archive:\n  dir: %q\nstate:\n  dir: %q\n", filepath.Join(filepath.Dir(in), "archive"), filepath.Join(t.TempDir(), "state"))
	return writeConfig(t, body)
}

func decodeReport(t *testing.T, s string) report {
	t.Helper()
	var rep report
	if err := json.Unmarshal([]byte(s), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, s)
	}
	return rep
}

func TestValidateBadInput(t *testing.T) {
	goodZip := zipOf(t, map[string]string{"SRPatient.csv": patHeader + goodRow})
	badCRC := bytes.Replace(goodZip, []byte("A81001"), []byte("B81001"), 1)
	tests := []struct {
		name    string
		waiting string // discovery reports the batch as waiting, with this reason
		fails   bool   // and validate fails on it (a listed file absent)
		warning bool   // the problem is a warning: the batch goes on
		files   batchFiles
		config  []string
		outcome producer.Outcome
		file    string
		line    int64
		column  string
		reason  string
		rows    int64 // rows that still convert
	}{
		{name: "missing manifest", waiting: "no SRManifest.csv yet", files: batchFiles{loose: loose("", "SRPatient.csv", patHeader+goodRow)},
			outcome: producer.Invalid, file: "SRManifest.csv", reason: "no SRManifest.csv"},
		{name: "manifest missing a column", files: batchFiles{loose: loose("FileName,IsDelta,IsReference,DateExtractTo\r\nSRPatient,N,N,20240102_1707\r\n", "SRPatient.csv", patHeader+goodRow)},
			outcome: producer.Invalid, file: "SRManifest.csv", line: 1, column: "DateExtractFrom", reason: "missing column"},
		{name: "manifest renamed column", files: batchFiles{loose: loose("FileName,Delta,IsReference,DateExtractFrom,DateExtractTo\r\nSRPatient,N,N,,20240102_1707\r\n", "SRPatient.csv", patHeader+goodRow)},
			outcome: producer.Invalid, file: "SRManifest.csv", line: 1, column: "IsDelta", reason: "missing column"},
		{name: "manifest bad flag", files: batchFiles{loose: loose(manHeader+"SRPatient,"+canary+",N,,20240102_1707\r\n", "SRPatient.csv", patHeader+goodRow)},
			outcome: producer.Invalid, file: "SRManifest.csv", line: 2, column: "IsDelta", reason: "not Y or N"},
		{name: "manifest bad date", files: batchFiles{loose: loose(manHeader+"SRPatient,N,N,,"+canary+"\r\n", "SRPatient.csv", patHeader+goodRow)},
			outcome: producer.Invalid, file: "SRManifest.csv", line: 2, column: "DateExtractTo", reason: "not a yyyyMMdd_HHmm date"},
		{name: "manifest lists an absent file", waiting: "SRCode.csv is listed in SRManifest.csv but not present yet", fails: true, files: batchFiles{loose: loose(fullMan+"SRCode,N,N,,20240102_1707\r\n", "SRPatient.csv", patHeader+goodRow)},
			outcome: producer.Invalid, file: "SRCode.csv", reason: "listed in SRManifest.csv line 3 but missing"},
		{name: "csv not in the manifest", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+goodRow, "SRCode.csv", patHeader)},
			outcome: producer.Published, warning: true, file: "SRCode.csv", reason: "not listed in SRManifest.csv", rows: 1},
		{name: "corrupt zip", files: batchFiles{loose: loose(fullMan), rawZip: []byte("PK\x03\x04" + canary)},
			outcome: producer.Invalid, file: "SRExtract.zip", reason: "corrupt or truncated zip"},
		{name: "truncated zip", files: batchFiles{loose: loose(fullMan), rawZip: goodZip[:len(goodZip)-30]},
			outcome: producer.Invalid, file: "SRExtract.zip", reason: "corrupt or truncated zip"},
		{name: "zip crc mismatch", files: batchFiles{loose: loose(fullMan), rawZip: badCRC},
			outcome: producer.Invalid, file: "SRPatient.csv", reason: "checksum error"},
		{name: "zip entry not a csv", files: batchFiles{loose: loose(fullMan), zipped: map[string]string{"SRPatient.csv": patHeader + goodRow, "SRPatient.xlsx": canary}},
			outcome: producer.Published, warning: true, file: "SRExtract.zip", reason: "entry SRPatient.xlsx is not a CSV file", rows: 1},
		{name: "empty file", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", "")},
			outcome: producer.Invalid, file: "SRPatient.csv", line: 1, reason: "empty file: no header row"},
		{name: "header without RowIdentifier", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", "ID,IDOrganisationVisibleTo\r\n1,"+canary+"\r\n")},
			outcome: producer.Invalid, file: "SRPatient.csv", line: 1, reason: "no RowIdentifier column"},
		{name: "duplicate column names", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", "RowIdentifier,IDOrganisationVisibleTo,FirstName,FirstName\r\n1,A1,"+canary+",x\r\n")},
			outcome: producer.Invalid, file: "SRPatient.csv", line: 1, column: "FirstName", reason: "repeats field 3"},
		{name: "unterminated quote", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+goodRow+"2,A81001,\""+canary+",12 Jun 1987 08:45,TRUE,0\r\n"+goodRow)},
			outcome: producer.Invalid, file: "SRPatient.csv", line: 3, column: "FirstName", reason: "quoted field not terminated"},
		{name: "too many fields", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+goodRow+"2,A81001,"+canary+",,TRUE,0,"+canary+"\r\n"+goodRow)},
			outcome: producer.Published, file: "SRPatient.csv", line: 3, reason: "7 fields, header has 6", rows: 2},
		{name: "too few fields", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+"2,A81001,"+canary+"\r\n"+goodRow)},
			outcome: producer.Published, file: "SRPatient.csv", line: 2, reason: "3 fields, header has 6", rows: 1},
		{name: "invalid date", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+goodRow+"2,A81001,"+canary+",31 Feb 2023 10:00,TRUE,0\r\n")},
			outcome: producer.Published, file: "SRPatient.csv", line: 3, column: "DateBirth", reason: "no such calendar date", rows: 1},
		{name: "id not an integer", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+canary+",A81001,x,,TRUE,0\r\n"+goodRow)},
			outcome: producer.Published, file: "SRPatient.csv", line: 2, column: "RowIdentifier", reason: "not an integer", rows: 1},
		{name: "id overflows int64", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+"92233720368547758070,A81001,"+canary+",,TRUE,0\r\n"+goodRow)},
			outcome: producer.Published, file: "SRPatient.csv", line: 2, column: "RowIdentifier", reason: "out of int64 range", rows: 1},
		{name: "invalid utf-8", config: []string{"  encoding: utf-8"}, files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+"2,A81001,"+canary+"\xA3,,TRUE,0\r\n"+goodRow)},
			outcome: producer.Published, file: "SRPatient.csv", line: 2, column: "FirstName", reason: "not valid in utf-8", rows: 1},
		{name: "record over the size limit", config: []string{"  max_record_bytes: 1024"}, files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+"2,A81001,\""+strings.Repeat(canary, 1000)+"\",,TRUE,0\r\n"+goodRow)},
			outcome: producer.Published, file: "SRPatient.csv", line: 2, reason: "record longer than 1024 bytes", rows: 1},
		{name: "bad RemovedData", files: batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+"2,A81001,x,,TRUE,"+canary+"\r\n"+goodRow)},
			outcome: producer.Published, file: "SRPatient.csv", line: 2, column: "RemovedData", reason: "not 1, 0 or empty", rows: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			in := filepath.Join(root, "in")
			dir := filepath.Join(in, "g1", "20240102_1707")
			tt.files.write(t, dir)
			cfg := testConfig(t, in, tt.config...)
			// Named batch folder, JSON; then discovery, human output. A
			// batch still arriving is incomplete for both, as for publish.
			want, wantCode := tt.outcome, exitInvalid
			if tt.waiting != "" && !tt.fails {
				want, wantCode = producer.Incomplete, exitOK
			} else if tt.waiting != "" {
				want = producer.Incomplete
			} else if tt.warning {
				wantCode = exitOK
			}
			res := runSragent(t, nil, "validate", "--config", cfg, "--json", dir)
			res.noCanary(t)
			if res.code != wantCode {
				t.Errorf("exit %d, want %d; stderr %s", res.code, wantCode, res.stderr)
			}
			rep := decodeReport(t, res.stdout)
			if len(rep.Batches) != 1 {
				t.Fatalf("%d batches", len(rep.Batches))
			}
			br := rep.Batches[0]
			if br.Outcome != want || br.Batch != "20240102_1707" || br.Group != "g1" {
				t.Errorf("batch %s/%s outcome %s, want %s", br.Group, br.Batch, br.Outcome, want)
			}
			found := tt.waiting != "" && br.Reason == tt.waiting
			named := !tt.fails // a failing incomplete batch names its missing file
			for _, p := range br.Problems {
				named = named || (p.File == tt.file && p.Severity == "error" && strings.Contains(p.Reason, "not present"))
				if p.File == tt.file && p.Line == tt.line && p.Column == tt.column && strings.Contains(p.Reason, tt.reason) && (p.Severity == "error") != tt.warning {
					found = true
				}
			}
			if !found || !named {
				t.Errorf("no problem %s line %d column %q: %q in %+v (%s)", tt.file, tt.line, tt.column, tt.reason, br.Problems, br.Reason)
			}
			if tt.rows > 0 && rep.Summary.Events+rep.Summary.Unchanged != tt.rows {
				t.Errorf("%d rows converted (%d unchanged), want %d: a bad row must not stop the file", rep.Summary.Events, rep.Summary.Unchanged, tt.rows)
			}
			human := runSragent(t, nil, "validate", "--config", cfg)
			human.noCanary(t)
			reason := tt.reason
			if tt.waiting != "" {
				reason = tt.waiting
			}
			if !strings.Contains(human.stdout, "batch g1/20240102_1707: "+strings.ToUpper(want.String())) || !strings.Contains(human.stdout, reason) {
				t.Errorf("human report lacks outcome or reason:\n%s", human.stdout)
			}
		})
	}
}

// A gap halts the chain of one group, not the other; a duplicate and an
// overlap are warnings only.
func TestValidateContinuity(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	file := patHeader + goodRow
	for _, b := range []struct{ dir, man string }{
		{"g1/20240101_1707", fullMan[:len(manHeader)] + "SRPatient,N,N,,20240101_1707\r\n"},
		{"g1/20240103_1707", manHeader + "SRPatient,Y,N,20240102_1707,20240103_1707\r\n"}, // gap: 0101 → 0102
		{"g2/20240101_1707", manHeader + "SRPatient,N,N,,20240101_1707\r\n"},
		{"g2/20240102_1707", manHeader + "SRPatient,Y,N,20240101_1707,20240102_1707\r\n"},
		{"g2/20240103_1707", manHeader + "SRPatient,Y,N,20240101_1707,20240103_1707\r\n"}, // overlap
	} {
		batchFiles{loose: loose(b.man, "SRPatient.csv", file)}.write(t, filepath.Join(in, filepath.FromSlash(b.dir)))
	}
	res := runSragent(t, nil, "validate", "--json", "--config", testConfig(t, in))
	res.noCanary(t)
	rep := decodeReport(t, res.stdout)
	got := map[string]string{}
	for _, br := range rep.Batches {
		got[br.Group+"/"+br.Batch] = br.Outcome.String()
	}
	want := map[string]string{"g1/20240101_1707": "published", "g1/20240103_1707": "halted", "g2/20240101_1707": "published",
		"g2/20240102_1707": "published", "g2/20240103_1707": "published"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if res.code != exitInvalid {
		t.Errorf("exit %d with a halted chain", res.code)
	}
}

// srgen's output is valid end to end, in both encodings, zipped and loose,
// and validate exits 0.
func TestValidateGeneratedChains(t *testing.T) {
	for _, opt := range []srgen.Options{{Seed: 7, Zip: true}, {Seed: 8, UTF8: true, Tables: append(allTables(), "SRAppointmentAttendees")}} {
		in := filepath.Join(t.TempDir(), "in")
		opt.Groups, opt.Orgs, opt.Batches, opt.Rows = 2, 2, 4, 40
		if err := srgen.New(opt).Write(in); err != nil {
			t.Fatal(err)
		}
		var extra []string
		if opt.UTF8 {
			extra = []string{"  encoding: utf-8"}
		}
		res := runSragent(t, nil, "validate", "--json", "--config", testConfig(t, in, extra...))
		rep := decodeReport(t, res.stdout)
		if res.code != exitOK || rep.Summary.Outcomes[producer.Published] != 8 || rep.Summary.Events == 0 {
			t.Fatalf("exit %d summary %+v\n%s", res.code, rep.Summary, res.stdout)
		}
		for _, br := range rep.Batches {
			for _, p := range br.Problems {
				if p.Severity == "error" {
					t.Errorf("%s/%s: %+v", br.Group, br.Batch, p)
				}
			}
		}
	}
}

func TestValidateExitCodes(t *testing.T) {
	root := t.TempDir()
	if res := runSragent(t, nil, "validate", "--config", filepath.Join(root, "nope.yaml")); res.code != exitUsage {
		t.Errorf("missing config file: exit %d", res.code)
	}
	if res := runSragent(t, []string{"SRAGENT_INPUT_ENCODING=ebcdic"}, "validate"); res.code != exitUsage || !strings.Contains(res.stderr, "input.encoding") {
		t.Errorf("bad env: exit %d %s", res.code, res.stderr)
	}
	if res := runSragent(t, nil, "validate", "--config", testConfig(t, filepath.Join(root, "absent"))); res.code != exitFailed || !strings.Contains(res.stderr, "read input folder") {
		t.Errorf("absent input dir: exit %d %s", res.code, res.stderr)
	}
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	if res := runSragent(t, nil, "validate", "--config", testConfig(t, empty)); res.code != exitOK || !strings.Contains(res.stdout, "0 batches") {
		t.Errorf("empty input dir: exit %d %s", res.code, res.stdout)
	}
}

func allTables() []string {
	var out []string
	for _, t := range schemas.Tables() {
		out = append(out, t.Name)
	}
	return out
}

// --check-registry asks the registry about every schema without
// registering anything; a refused schema blocks the batch.
func TestValidateCheckRegistry(t *testing.T) {
	k := brokerAndRegistry(t)
	subject := k.Prefix + ".SRPatient-value"
	in := filepath.Join(t.TempDir(), "in")
	batchFiles{loose: loose(fullMan, "SRPatient.csv", patHeader+goodRow)}.write(t, filepath.Join(in, "g1", "20240102_1707"))
	cfg := testConfig(t, in, kafkaConfig(k, ""))
	res := runSragent(t, nil, "validate", "--json", "--check-registry", "--config", cfg)
	if rep := decodeReport(t, res.stdout); res.code != exitOK || rep.Batches[0].Outcome != producer.Published {
		t.Fatalf("compatible: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	src, err := sr.NewClient(sr.URLs(k.Registry))
	if err != nil {
		t.Fatal(err)
	}
	if subjects, err := src.Subjects(context.Background()); err != nil || slices.Contains(subjects, subject) {
		t.Errorf("validate registered a schema (%v)", err)
	}
	avsc, err := schemas.Embedded("SRPatient")
	if err != nil {
		t.Fatal(err)
	}
	k.MakeIncompatible(t, subject, avsc.Value, "DateBirth")
	res = runSragent(t, nil, "validate", "--json", "--check-registry", "--config", cfg)
	res.noCanary(t)
	rep := decodeReport(t, res.stdout)
	br := rep.Batches[0]
	if res.code != exitInvalid || br.Outcome != producer.Blocked || len(br.Problems) == 0 ||
		!strings.Contains(fmt.Sprint(br.Problems), "subject "+subject+": schema is not compatible") {
		t.Fatalf("incompatible: exit %d %+v", res.code, br)
	}
}
