package schemas_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas"
)

// releasedDir holds the schemas of the last release; see its README.
const releasedDir = "testdata/released"

// compareWithReleased checks every current/*.avsc against released/ and
// returns one error per incompatible, unparsable or dropped schema, and the
// names of files new since the release.
func compareWithReleased(current, released string) (errs []error, added []string) {
	cur, err := filepath.Glob(filepath.Join(current, "*.avsc"))
	if err != nil || len(cur) == 0 {
		return []error{fmt.Errorf("no .avsc files in %s (%v)", current, err)}, nil
	}
	rel, err := filepath.Glob(filepath.Join(released, "*.avsc"))
	if err != nil || len(rel) == 0 {
		return []error{fmt.Errorf("no .avsc files in %s (%v)", released, err)}, nil
	}
	have := map[string]bool{}
	for _, path := range cur {
		name := filepath.Base(path)
		have[name] = true
		newer, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		older, err := os.ReadFile(filepath.Join(released, name))
		if errors.Is(err, os.ErrNotExist) {
			added = append(added, name)
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := kafkatest.BackwardCompatible(string(newer), string(older)); err != nil {
			errs = append(errs, fmt.Errorf("%s is not BACKWARD compatible with the released %s: %w", name, name, err))
		}
		errs = append(errs, logicalChanges(name, newer, older)...)
	}
	for _, path := range rel {
		if name := filepath.Base(path); !have[name] {
			errs = append(errs, fmt.Errorf("%s was released but is no longer generated: a table dropped from the catalogue is published with an all-string dynamic schema, which is not compatible", name))
		}
	}
	return errs, added
}

// logicalChanges reports the fields of a schema file whose logical type
// differs from the released one's. Avro's compatibility rules (and so every
// registry) ignore logical types, but a long read as timestamp-millis and
// as local-timestamp-millis are different quantities: a field keeps its
// logical type. The one exception is the correction of date-semantic
// columns (schemas/README.md, "Dates"): timestamp-millis to
// local-timestamp-millis, on a column the catalogue marks as a calendar
// date.
func logicalChanges(file string, newer, older []byte) []error {
	now, then := logicalTypes(newer), logicalTypes(older)
	table, _, _ := strings.Cut(file, "-")
	var errs []error
	for path, was := range then {
		is, ok := now[path]
		if !ok || is == was {
			continue
		}
		col := path[strings.LastIndex(path, ".")+1:]
		if t, ok := schemas.Lookup(table); ok && was == "timestamp-millis" && is == "local-timestamp-millis" {
			if c, ok := t.Column(col); ok && c.Type.Local() {
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: field %s changes its logical type from %q to %q: its values would read as another quantity", file, path, was, is))
	}
	return errs
}

// logicalTypes maps the path of every field of an Avro schema (its record
// fields' names, joined by dots) to its logical type ("" for none).
func logicalTypes(schema []byte) map[string]string {
	var root any
	if err := json.Unmarshal(schema, &root); err != nil {
		return nil
	}
	out := map[string]string{}
	var walk func(path string, t any)
	walk = func(path string, t any) {
		switch t := t.(type) {
		case []any: // a union
			for _, m := range t {
				walk(path, m)
			}
		case map[string]any:
			if lt, ok := t["logicalType"].(string); ok {
				out[path] = lt
			} else if _, ok := out[path]; !ok && path != "" {
				out[path] = ""
			}
			fields, _ := t["fields"].([]any)
			for _, f := range fields {
				if f, ok := f.(map[string]any); ok {
					name, _ := f["name"].(string)
					walk(strings.TrimPrefix(path+"."+name, "."), f["type"])
				}
			}
		case string:
			if _, ok := out[path]; !ok && path != "" {
				out[path] = ""
			}
		}
	}
	walk("", root)
	return out
}

// Every checked-in schema can read data written with its last released
// version (TestAvscUpToDate ties avsc/ to the catalogue).
func TestAvscBackwardCompatibleWithRelease(t *testing.T) {
	errs, added := compareWithReleased("avsc", releasedDir)
	for _, err := range errs {
		t.Error(err)
	}
	if len(added) > 0 {
		t.Logf("new since the release (nothing to be compatible with): %s", strings.Join(added, ", "))
	}
}

// The check above does catch an incompatible change: a copy of avsc/ with
// one field's type changed, one field added without a default, an
// instant's logical type changed and one table dropped must be reported,
// and a new table must not (nor the released date columns' correction).
func TestCompareWithReleasedCatchesChanges(t *testing.T) {
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join("avsc", "*.avsc"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no avsc files: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(name, old, new string) {
		t.Helper()
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("%s: %q not found", name, old)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// RowIdentifier long → string in a key.
	edit("SRCode-key.avsc", `"name": "RowIdentifier",
      "type": "long"`, `"name": "RowIdentifier",
      "type": "string"`)
	// The first nullable long of SREvent's row becomes a nullable string.
	edit("SREvent-value.avsc", `"name": "RowIdentifier",
              "type": [
                "null",
                "long"
              ]`, `"name": "RowIdentifier",
              "type": [
                "null",
                "string"
              ]`)
	// A field added to the shared Source record without a default.
	edit("SRPatient-value.avsc", `"name": "line",`, `"name": "added", "type": "string"}, {"name": "line",`)
	// An instant becomes a date: compatible for Avro, not for a reader.
	edit("SRCode-value.avsc", `"name": "DateEventRecorded",
              "type": [
                "null",
                {
                  "logicalType": "timestamp-millis"`, `"name": "DateEventRecorded",
              "type": [
                "null",
                {
                  "logicalType": "local-timestamp-millis"`)
	if err := os.Remove(filepath.Join(dir, "SRTrust-value.avsc")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "SRBrandNew-key.avsc"), []byte(`{"type":"record","name":"Key","fields":[{"name":"table","type":"string"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	errs, added := compareWithReleased(dir, releasedDir)
	msg := errors.Join(errs...).Error()
	t.Logf("reported:\n%s", msg)
	for _, want := range []string{
		"SRCode-key.avsc is not BACKWARD compatible with the released SRCode-key.avsc: field RowIdentifier: reader schema string not compatible with writer schema long",
		"SREvent-value.avsc is not BACKWARD compatible with the released SREvent-value.avsc: field before.RowIdentifier: reader union lacking writer schema long",
		"SRPatient-value.avsc is not BACKWARD compatible with the released SRPatient-value.avsc: field source.added: reader field added is missing in writer schema and has no default",
		"SRTrust-value.avsc was released but is no longer generated",
		`SRCode-value.avsc: field before.DateEventRecorded changes its logical type from "timestamp-millis" to "local-timestamp-millis"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q", want)
		}
	}
	if len(errs) != 5 {
		t.Errorf("want 5 errors, got %d", len(errs))
	}
	if len(added) != 1 || added[0] != "SRBrandNew-key.avsc" {
		t.Errorf("added = %v, want [SRBrandNew-key.avsc]", added)
	}
}

// Turning lists.labels on adds an optional label field after every list
// column; turning it off removes them again: both are BACKWARD compatible
// changes a real checker accepts, for every table with a list column, and
// nothing else of the schema changes.
func TestLabelFieldsEvolveSafely(t *testing.T) {
	labelled := 0 // list columns
	for _, tb := range schemas.Tables() {
		with := tb.WithLabels()
		if with == tb {
			continue
		}
		plain, err := schemas.Build(tb)
		if err != nil {
			t.Fatal(err)
		}
		lab, err := schemas.Build(with)
		if err != nil {
			t.Fatal(err)
		}
		if lab.Key != plain.Key {
			t.Errorf("%s: labels change the key schema", tb.Name)
		}
		if err := kafkatest.BackwardCompatible(lab.Value, plain.Value); err != nil {
			t.Errorf("%s: turning labels on: %v", tb.Name, err)
		}
		if err := kafkatest.BackwardCompatible(plain.Value, lab.Value); err != nil {
			t.Errorf("%s: turning labels off: %v", tb.Name, err)
		}
		for _, c := range tb.Columns {
			if _, ok := with.Column(c.Name + schemas.LabelSuffix); ok != (c.Ref != "") {
				t.Errorf("%s.%s: label field %t, list column %t", tb.Name, c.Name, ok, c.Ref != "")
			}
			if c.Ref != "" {
				labelled++
			}
		}
	}
	if labelled != 23 {
		t.Errorf("%d list columns, want the 23 of sr-format §6.4", labelled)
	}
}
