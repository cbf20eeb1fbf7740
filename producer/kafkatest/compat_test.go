package kafkatest

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Schemas of one subject's life. They reuse the names sragent's subjects
// share (sragent.Marker) across subjects on purpose.
const (
	compatV1 = `{"type":"record","name":"Envelope","namespace":"t.T","fields":[
		{"name":"id","type":"long"},
		{"name":"marker","type":["null",{"type":"record","name":"Marker","namespace":"sragent","fields":[
			{"name":"row_count","type":["null","long"],"default":null}]}],"default":null}]}`
	// compatV2 adds an optional field with a default: BACKWARD compatible.
	compatV2 = `{"type":"record","name":"Envelope","namespace":"t.T","fields":[
		{"name":"id","type":"long"},
		{"name":"note","type":["null","string"],"default":null},
		{"name":"marker","type":["null",{"type":"record","name":"Marker","namespace":"sragent","fields":[
			{"name":"row_count","type":["null","long"],"default":null}]}],"default":null}]}`
	// compatLongToString changes id from long to string: a reader expecting
	// a string cannot read a long.
	compatLongToString = `{"type":"record","name":"Envelope","namespace":"t.T","fields":[
		{"name":"id","type":"string"},
		{"name":"marker","type":["null",{"type":"record","name":"Marker","namespace":"sragent","fields":[
			{"name":"row_count","type":["null","long"],"default":null}]}],"default":null}]}`
	// compatNoDefault adds the field of compatV2 without a default: old data
	// has no value for it. It differs from compatV2 only in the default,
	// which hamba's memoising checker does not see (see compat.go).
	compatNoDefault = `{"type":"record","name":"Envelope","namespace":"t.T","fields":[
		{"name":"id","type":"long"},
		{"name":"note","type":["null","string"]},
		{"name":"marker","type":["null",{"type":"record","name":"Marker","namespace":"sragent","fields":[
			{"name":"row_count","type":["null","long"],"default":null}]}],"default":null}]}`
	// compatNestedChange changes a field inside the shared Marker record.
	compatNestedChange = `{"type":"record","name":"Envelope","namespace":"t.T","fields":[
		{"name":"id","type":"long"},
		{"name":"marker","type":["null",{"type":"record","name":"Marker","namespace":"sragent","fields":[
			{"name":"row_count","type":["null","string"],"default":null}]}],"default":null}]}`
	// compatDropped removes the id field: a reader ignores writer fields it
	// does not know, so this is BACKWARD compatible (FORWARD would not be).
	compatDropped = `{"type":"record","name":"Envelope","namespace":"t.T","fields":[
		{"name":"marker","type":["null",{"type":"record","name":"Marker","namespace":"sragent","fields":[
			{"name":"row_count","type":["null","long"],"default":null}]}],"default":null}]}`
)

func TestBackwardCompatible(t *testing.T) {
	for _, tc := range []struct {
		name, new, old string
		// want is "" for compatible, else a substring of the error.
		want string
	}{
		{"same", compatV1, compatV1, ""},
		{"add optional field with default", compatV2, compatV1, ""},
		{"drop a field", compatDropped, compatV1, ""},
		{"long to string", compatLongToString, compatV1, "field id: reader schema string not compatible with writer schema long"},
		{"string to long", compatV1, compatLongToString, "field id:"},
		{"add field without default", compatNoDefault, compatV1, "field note: reader field note is missing in writer schema and has no default"},
		{"nested change in a shared record", compatNestedChange, compatV1, "field marker.row_count:"},
		// The trap of hamba's memoising checker: compatV2 and
		// compatNoDefault have the same canonical form, so one shared
		// checker answers "compatible" here after the case before.
		{"add optional field with default, again", compatV2, compatV1, ""},
		{"add field without default, after a default", compatNoDefault, compatV1, "has no default"},
		{"unparsable new", `{"type":"record"}`, compatV1, "new schema: parse avro schema"},
		{"undefined name", `{"type":"record","name":"E","namespace":"sragent","fields":[{"name":"m","type":"Marker"}]}`, compatV1, "unknown type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := BackwardCompatible(tc.new, tc.old)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want compatible, got %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("want an error containing %q, got compatible", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// register registers schemas under subject in order, through the sr client
// as sragent does; srfake accepts every one of them.
func register(t *testing.T, cl *sr.Client, subject string, schemas ...string) {
	t.Helper()
	for i, s := range schemas {
		if _, err := cl.CreateSchema(context.Background(), subject, sr.Schema{Schema: s, Type: sr.TypeAvro}); err != nil {
			t.Fatalf("register version %d of %s: %v", i+1, subject, err)
		}
	}
}

func newFake(t *testing.T) (*srfake.Registry, *sr.Client) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return reg, cl
}

func TestCheckSubjectEvolutionCompatible(t *testing.T) {
	reg, cl := newFake(t)
	ctx := context.Background()
	register(t, cl, "p.T-value", compatV1, compatV2, compatDropped)
	// The same record names in another subject, with another shape.
	register(t, cl, "p.U-value", compatLongToString)
	// Not Avro: skipped.
	if _, err := cl.CreateSchema(ctx, "p.J-value", sr.Schema{Schema: `{"type":"object"}`, Type: sr.TypeJSON}); err != nil {
		t.Fatal(err)
	}
	if err := CheckSubjectEvolution(ctx, reg.URL(), "p."); err != nil {
		t.Fatalf("compatible evolution reported: %v", err)
	}
}

func TestCheckSubjectEvolutionIncompatible(t *testing.T) {
	reg, cl := newFake(t)
	ctx := context.Background()
	register(t, cl, "p.T-value", compatV1, compatV2)
	// srfake's own check says yes to both, which is why this checker exists.
	for _, s := range []string{compatLongToString, compatNoDefault} {
		res, err := cl.CheckCompatibility(ctx, "p.T-value", -1, sr.Schema{Schema: s})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Is {
			t.Logf("srfake now rejects an incompatible schema (%v): tests relying on it can be tightened", res.Messages)
		}
	}
	register(t, cl, "p.T-value", compatLongToString)
	register(t, cl, "p.K-key", compatV1, compatNoDefault)
	register(t, cl, "other.T-value", compatV1, compatLongToString)

	err := CheckSubjectEvolution(ctx, reg.URL(), "p.")
	if err == nil {
		t.Fatal("incompatible evolution not reported")
	}
	msg := err.Error()
	t.Logf("reported:\n%s", msg)
	for _, want := range []string{
		"subject p.T-value: version 3 is not BACKWARD compatible with version 1 (cannot read its data): field id:",
		"subject p.T-value: version 3 is not BACKWARD compatible with version 2 (cannot read its data): field id:",
		"subject p.K-key: version 2 is not BACKWARD compatible with version 1 (cannot read its data): field note:",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "version 2 is not BACKWARD compatible with version 1 (cannot read its data): field id") {
		t.Errorf("v2 (optional field added) reported against v1:\n%s", msg)
	}
	if strings.Contains(msg, "other.T-value") {
		t.Errorf("subject outside the prefix checked:\n%s", msg)
	}
	if n := strings.Count(msg, "\n") + 1; n != 3 {
		t.Errorf("want 3 failures, got %d:\n%s", n, msg)
	}
	// Without a prefix every subject is checked.
	if err := CheckSubjectEvolution(ctx, reg.URL(), ""); err == nil || !strings.Contains(err.Error(), "other.T-value") {
		t.Errorf("empty prefix: want other.T-value reported, got %v", err)
	}
}

func TestCheckSubjectEvolutionUnreachable(t *testing.T) {
	reg := srfake.New()
	url := reg.URL()
	reg.Close()
	if err := CheckSubjectEvolution(context.Background(), url, ""); err == nil {
		t.Fatal("closed registry: want an error")
	}
}
