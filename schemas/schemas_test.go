package schemas_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"

	"github.com/sragent/sragent/schemas"
)

var update = flag.Bool("update", false, "rewrite avsc/ from the catalogue")

// The checked-in .avsc files are exactly what the catalogue generates.
func TestAvscUpToDate(t *testing.T) {
	for _, tab := range schemas.Tables() {
		files, err := schemas.Files(tab)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range files {
			path := filepath.Join("avsc", name)
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is stale: run go generate ./schemas (or go test ./schemas -update)", path)
			}
		}
		emb, err := schemas.Embedded(tab.Name)
		if err != nil {
			t.Fatal(err)
		}
		built, _ := schemas.Build(tab)
		if compact(t, emb.Value) != built.Value || compact(t, emb.Key) != built.Key {
			t.Errorf("%s: embedded schemas differ from the catalogue", tab.Name)
		}
	}
}

func compact(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Every schema parses, and every field of the row record is an optional
// union with default null (BACKWARD compatible evolution needs it).
func TestSchemasParseAndFieldsAreOptional(t *testing.T) {
	tables := schemas.Tables()
	if len(tables) < 38 {
		t.Fatalf("catalogue has %d tables, want at least the 38 of sr-format §7.4", len(tables))
	}
	for _, tab := range tables {
		a, err := schemas.Build(tab)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{a.Key, a.Value} {
			if _, err := goavro.NewCodec(s); err != nil {
				t.Fatalf("%s: %v", tab.Name, err)
			}
		}
		var env struct {
			Fields []struct {
				Name string
				Type json.RawMessage
			}
		}
		if err := json.Unmarshal([]byte(a.Value), &env); err != nil {
			t.Fatal(err)
		}
		var before []json.RawMessage
		if err := json.Unmarshal(env.Fields[1].Type, &before); err != nil {
			t.Fatal(err)
		}
		var row struct {
			Fields []map[string]any
		}
		if err := json.Unmarshal(before[1], &row); err != nil {
			t.Fatal(err)
		}
		if len(row.Fields) != len(tab.Columns) {
			t.Errorf("%s: %d fields, %d columns", tab.Name, len(row.Fields), len(tab.Columns))
		}
		for _, f := range row.Fields {
			d, has := f["default"]
			u, _ := f["type"].([]any)
			if !has || d != nil || len(u) != 2 || u[0] != "null" {
				t.Errorf("%s.%s is not [\"null\", T] with default null: %v", tab.Name, f["name"], f)
			}
		}
	}
}

func TestCatalogue(t *testing.T) {
	tests := []struct {
		table, column string
		typ           schemas.Type
		ref           string
	}{
		{"SRPatient", "RowIdentifier", schemas.Long, ""},
		{"SRPatient", "IDOrganisationVisibleTo", schemas.String, ""},
		{"SRPatient", "DateBirth", schemas.CalendarMinutes, ""},
		{"SRPatient", "DateDeath", schemas.Calendar, ""},
		{"SRPatientRegistration", "DateRegistration", schemas.Calendar, ""},
		{"SRPatientRelationship", "RelationshipWithDateOfBirth", schemas.CalendarMinutes, ""},
		{"SRPatientRelationship", "DateEvent", schemas.DateTime, ""},
		{"SRPatientAddressHistory", "DateEvent", schemas.Calendar, ""},
		{"SREvent", "DateEventRecorded", schemas.DateTime, ""},
		{"SRAppointment", "DateStart", schemas.DateTime, ""},
		{"SRPatient", "TestPatient", schemas.Boolean, ""},
		{"SRPatient", "SpeaksEnglish", schemas.Long, "SRMapping"},
		{"SRPatient", "NHSNumber", schemas.String, ""},
		{"SREvent", "ContactMethod", schemas.Long, "SRConfiguredListOption"},
		{"SREvent", "IDPatient", schemas.Long, ""},
		{"SRCode", "NumericValue", schemas.Double, ""},
		{"SRCode", "CTV3Code", schemas.String, ""},
		{"SRCode", "SNOMEDCode", schemas.String, ""},
		{"SRStaffMemberProfile", "IdProfileCreatedBy", schemas.Long, ""},
		{"SROrganisation", "ID", schemas.String, ""},
		{"SRQuestionnaire", "DtPublished", schemas.DateTime, ""},
		{"SRRecall", "RecallStatusDate", schemas.Calendar, ""},
	}
	for _, tt := range tests {
		tab, ok := schemas.Lookup(tt.table)
		if !ok {
			t.Fatalf("no table %s", tt.table)
		}
		c, ok := tab.Column(tt.column)
		if !ok || c.Type != tt.typ || c.Ref != tt.ref {
			t.Errorf("%s.%s = %+v, want %s ref %q", tt.table, tt.column, c, tt.typ, tt.ref)
		}
	}
	keys := map[string]string{
		"SRPatient":                   "IDOrganisationVisibleTo,RowIdentifier",
		"SRCode":                      "IDOrganisationVisibleTo,RowIdentifier",
		"SRStaffMember":               "RowIdentifier",
		"SROrganisationBranch":        "RowIdentifier",
		"SRMapping":                   "RowIdentifier",
		"SRCtv3":                      "Ctv3Code",
		"SRCtv3Hierarchy":             "Ctv3CodeParent,Ctv3CodeChild",
		"SRCtv3ToSnomed":              "Ctv3Code",
		"SRMedicationReadCodeDetails": "IDMultiLexProduct",
	}
	for table, want := range keys {
		tab, _ := schemas.Lookup(table)
		if got := strings.Join(tab.Key, ","); got != want {
			t.Errorf("%s key %s, want %s", table, got, want)
		}
	}
	for _, tab := range schemas.Tables() {
		if _, ok := tab.Column(schemas.RemovedData); ok {
			t.Errorf("%s lists RemovedData as a column", tab.Name)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{"Good_1": "Good_1", "a b": "a_b", "1st": "_1st", "£x": "__x", "": "_"} {
		if got := schemas.SanitizeName(in); got != want || !schemas.ValidName(got) {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
