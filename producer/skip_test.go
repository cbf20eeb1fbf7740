package producer

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sragent/sragent/codec"
)

// patientFile is the report of the batch's SRPatient file.
func patientFile(t *testing.T, pass *Pass) *FileReport {
	t.Helper()
	if len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("%+v", pass.Batches)
	}
	for _, f := range pass.Batches[0].Files {
		if f.Table == "SRPatient" {
			return f
		}
	}
	t.Fatalf("no SRPatient file in %+v", pass.Batches[0])
	return nil
}

// A full file identical to the group's last one, converted the same way,
// with the table unchanged since, is not read again: every row is
// counted unchanged, nothing is produced but its markers, and the report
// names the batch it is the same as. Whatever changed the table or the
// conversion in between, it is read again and the table comes out as the
// file says.
func TestSameFullFileNotReadAgain(t *testing.T) {
	file := patients(20, "Ann", nil)
	tests := []struct {
		name    string
		between func(t *testing.T, e *env) // after the first file, before the same one again
		same    bool
	}{
		{"nothing in between", func(*testing.T, *env) {}, true},
		{"a delta deleted a row", func(_ *testing.T, e *env) {
			e.batchOf("g1", "20240101_0400", "20240101_0300", tableFile{"SRPatient", false,
				"RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n3,A1,,1\r\n"})
		}, false},
		{"a delta changed a row", func(_ *testing.T, e *env) {
			e.batchOf("g1", "20240101_0400", "20240101_0300", tableFile{"SRPatient", false,
				"RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n4,A1,Bo,0\r\n"})
		}, false},
		{"another group changed a row", func(_ *testing.T, e *env) {
			e.batchOf("g2", "20240101_0400", "", tableFile{"SRPatient", true,
				"RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n5,A1,Cy,0\r\n"})
		}, false},
		{"another build of the agent", func(t *testing.T, _ *env) {
			old := codeID
			codeID = func() []byte { return []byte("another build") }
			t.Cleanup(func() { codeID = old })
		}, false},
		{"reconciliation turned on", func(_ *testing.T, e *env) {
			e.reconcile = ReconcileConfig{Mode: ReconcileDelete, Shared: ReconcileDelete, MinRatio: 0.5}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.namedPatients("20240101_0300", file)
			if f := patientFile(t, e.mustRun(ctx)); f.SameAs != "" || f.Events != 20 {
				t.Fatalf("first publish: %+v", f)
			}
			tt.between(t, e)
			if len(e.mustRun(ctx).Batches) > 1 {
				t.Fatal("more than one batch in between")
			}
			e.namedPatients("20240102_0300", file)
			f := patientFile(t, e.mustRun(ctx))
			switch {
			case tt.same && (f.SameAs != "20240101_0300" || f.Unchanged != 20 || f.Events != 0):
				t.Errorf("the same file again: %+v, want same_as 20240101_0300, 20 unchanged, no event", f)
			case !tt.same && f.SameAs != "":
				t.Errorf("the file was taken as the same as %s's: it was not read again", f.SameAs)
			}
			want := map[string]string{}
			for id, name := range file {
				want[fmt.Sprint(id)] = name
			}
			if got := firstNames(t, e); !maps.Equal(got, want) {
				t.Errorf("the rebuilt table holds %v, want %v", got, want)
			}
			checkEndMarker(t, e, "20240102_0300", true, 0, 0)
		})
	}
}

// A full file with a dead letter is read again when it comes again: its
// dead letter is sent again, as for any file read.
func TestSameFileWithDeadLetterReadAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	csv := reconcilePatients + "1,A1,Ann,12 Jun 1987 08:45,0\r\n2,A1,Bob,31 Feb 2023 10:00,0\r\n"
	for _, batch := range []string{"20240101_0300", "20240102_0300"} {
		e.fullPatientsAt(batch, csv)
		if f := patientFile(t, e.mustRun(ctx)); f.SameAs != "" || f.DeadLetters != 1 {
			t.Errorf("%s: %+v, want the file read, with its dead letter", batch, f)
		}
	}
}

// With labels on, a full file is read again when the group's lists
// changed: its rows' labels are the new lists'.
func TestSameFileNewLabelsReadAgain(t *testing.T) {
	e := newEnv(t)
	e.labels = true
	ctx := context.Background()
	const patients = "RowIdentifier,IDOrganisationVisibleTo,SpeaksEnglish,RemovedData\r\n1,A1,11,0\r\n2,A1,12,0\r\n"
	for _, tc := range []struct {
		batch, yes string
		events     int64
	}{{"20240101_1707", "Yes", 2}, {"20240102_1707", "Yes", 0}, {"20240103_1707", "Oui", 1}} {
		e.batchOf("g1", tc.batch, "", tableFile{"SRPatient", true, patients})
		if err := os.WriteFile(filepath.Join(e.in, "g1", tc.batch, "SRMapping.csv"), []byte("RowIdentifier,IdMappingGroup,Mapping\r\n11,1,"+tc.yes+"\r\n12,1,No\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f := patientFile(t, e.mustRun(ctx))
		if f.Events != tc.events || (f.SameAs != "") != (tc.events == 0) {
			t.Errorf("%s: %+v, want %d events (the same file as the last only with the same lists)", tc.batch, f, tc.events)
		}
		if got := e.afterByLogicalType(e.cfg.TopicFor("SRPatient"))[1]["SpeaksEnglish_label"]; got != tc.yes {
			t.Errorf("%s: row 1's label %v, want %s", tc.batch, got, tc.yes)
		}
	}
}

// fingerprint prints the conversion options with %#v: a pointer, func,
// channel or interface in them would print an address (a fingerprint
// that differs every run, or one that misses a change), so none may hold
// one; the code, the schemas and the lists are hashed apart.
func TestFingerprintOptionsPrintByValue(t *testing.T) {
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer, reflect.Uintptr:
			t.Errorf("%s is a %s: fingerprint's %%#v would print an address", path, typ.Kind())
		case reflect.Struct:
			for i := range typ.NumField() {
				walk(path+"."+typ.Field(i).Name, typ.Field(i).Type)
			}
		case reflect.Slice, reflect.Array:
			walk(path+"[]", typ.Elem())
		case reflect.Map:
			walk(path+"[key]", typ.Key())
			walk(path+"[]", typ.Elem())
		}
	}
	var p Publisher
	for name, v := range map[string]any{"dialect": p.dialect, "options": codec.Options{}, "scope": scope{}, "reconcile": p.reconcile} {
		walk(name, reflect.TypeOf(v))
	}
}
