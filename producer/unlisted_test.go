package producer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// One odd file never stops a feed: a list file without RowIdentifier is
// published keyed by a hash of its cells (a later RemovedData=1 copy of a
// row deletes it); a list file that cannot be read, a table file the
// manifest does not list and a stray file are warnings naming the file,
// and the batch publishes.
func TestOddFilesNeverStopTheBatch(t *testing.T) {
	e := newEnv(t)
	e.batchOf("g1", "20240102_1707", "", tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 2, "Ann", "")})
	dir := filepath.Join(e.in, "g1", "20240102_1707")
	for name, body := range map[string]string{
		"SRMappingGroup.csv": "IdMappingGroup,Description\r\n7,Ethnicity\r\n8,Religion\r\n",
		"SRMapping.csv":      "RowIdentifier,IdMappingGroup,Mapping\r\n1,7,\"unterminated\r\n",
		"SREvent.csv":        "RowIdentifier,IDOrganisationVisibleTo\r\n1,A1\r\n",
		"notes.docx":         "x",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	dry, pass, _, _ := e.validateThenPublish(1)
	for name, p := range map[string]*Pass{"validate": dry, "publish": pass} {
		res := p.Batches[0]
		warned := map[string]bool{}
		for _, pr := range res.Problems {
			if pr.Severity == SeverityWarning {
				warned[pr.File] = warned[pr.File] || strings.Contains(pr.Reason, map[string]string{
					"SRMappingGroup.csv": "no RowIdentifier column", "SRMapping.csv": "not published",
					"SREvent.csv": "not listed in SRManifest.csv", "notes.docx": "not a table file"}[pr.File])
			}
		}
		if res.Outcome != Published || res.Events != 4 || !warned["SRMappingGroup.csv"] || !warned["SRMapping.csv"] ||
			!warned["SREvent.csv"] || !warned["notes.docx"] {
			t.Errorf("%s: %s %d events, warnings %v: %+v", name, res.Outcome, res.Events, warned, res.Problems)
		}
	}
	if groups := descriptions(t, e); strings.Join(groups, ",") != "Ethnicity,Religion" {
		t.Fatalf("SRMappingGroup rebuilt as %v", groups)
	}
	// A later batch deletes one row by its cells.
	e.batchOf("g1", "20240103_1707", "20240102_1707", tableFile{"SRPatient", false, reconcilePatients})
	if err := os.WriteFile(filepath.Join(e.in, "g1", "20240103_1707", "SRMappingGroup.csv"),
		[]byte("IdMappingGroup,Description,RemovedData\r\n8,Religion,1\r\n7,Ethnicity,0\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pass := e.mustRun(ctx); pass.Batches[0].Deletes != 1 {
		t.Errorf("second batch: %+v", pass.Batches[0])
	}
	if got := descriptions(t, e); strings.Join(got, ",") != "Ethnicity" {
		t.Errorf("SRMappingGroup holds %v, want only Ethnicity", got)
	}
}

// descriptions is the sorted Description column of SRMappingGroup as a
// marker-dropping consumer holds it, one per key.
func descriptions(t *testing.T, e *env) []string {
	var out []string
	for _, tb := range rebuild(t, e.consume(e.cfg.TopicFor("SRMappingGroup"))) {
		for _, row := range tb["SRMappingGroup"].rows {
			v := row["sragent.SRMappingGroup.Value"].(map[string]any)
			d, _ := cellString(v["Description"])
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}
