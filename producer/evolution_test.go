package producer

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas"
)

// A field never changes type, whatever the catalogue says: a column an
// earlier release published as an extra string, and a table it published
// uncatalogued (every column a string), keep their registered types when
// this release types them, and an uncatalogued table whose header gains
// IDOrganisationVisibleTo keeps its key; publishing goes on and every
// subject stays BACKWARD compatible (checked here, since srfake accepts
// anything; the integration tier runs this on a real registry).
func TestSchemasOnlyEvolveSafely(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cl, err := sr.NewClient(sr.URLs(e.k.Registry))
	if err != nil {
		t.Fatal(err)
	}
	register := func(topic string, a schemas.Avro) {
		for subject, s := range map[string]string{topic + "-key": a.Key, topic + "-value": a.Value} {
			if _, err := cl.CreateSchema(ctx, subject, sr.Schema{Schema: s, Type: sr.TypeAvro}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// What an earlier release registered: SREvent without IDPatient in its
	// catalogue (the file's column an extra string), and SRPatient not
	// catalogued at all.
	ev, _ := schemas.Lookup("SREvent")
	older := *ev
	older.Columns = slices.DeleteFunc(slices.Clone(ev.Columns), func(c schemas.Column) bool { return c.Name == "IDPatient" })
	a, err := schemas.Build(older.WithExtra([]string{"IDPatient"}))
	if err != nil {
		t.Fatal(err)
	}
	register(e.cfg.TopicFor("SREvent"), a)
	dyn := schemas.Dynamic("SRPatient", []string{"RowIdentifier", "IDOrganisationVisibleTo", "FirstName", "DateBirth"})
	for i := range dyn.Columns {
		dyn.Columns[i].Type = schemas.String
	}
	if a, err = schemas.Build(dyn); err != nil {
		t.Fatal(err)
	}
	register(e.cfg.TopicFor("SRPatient"), a)

	e.batchOf("g1", "20240102_1707", "",
		tableFile{"SREvent", true, "RowIdentifier,IDOrganisationVisibleTo,IDPatient,RemovedData\r\n1,A1,123,0\r\n"},
		tableFile{"SRPatient", true, reconcilePatients + pats("A1", 1, 2, "Ann", "05 Jul 1980 00:00")},
		tableFile{"SRWidget", true, "RowIdentifier,Colour\r\n1,red\r\n"})
	e.batchOf("g1", "20240103_1707", "20240102_1707",
		tableFile{"SRWidget", false, "RowIdentifier,IDOrganisationVisibleTo,Colour,RemovedData\r\n2,A1,blue,0\r\n"})
	dry := e.predict(ctx, DryRun{}) // validate reads the registry too
	pass, err := e.run(ctx)
	if err != nil || len(pass.Batches) != 2 {
		t.Fatalf("%+v %v", pass, err)
	}
	for _, b := range pass.Batches {
		if b.Outcome != Published || b.DeadLetters != 0 {
			t.Errorf("%s: %s %q, %d dead letters", b.Batch, b.Outcome, b.Reason, b.DeadLetters)
		}
	}
	for name, p := range map[string]*Pass{"validate": dry, "publish": pass} {
		pinned := map[string]bool{}
		for _, p := range p.Batches[0].Problems {
			if strings.Contains(p.Reason, "first registered with") {
				pinned[p.File+" "+p.Column] = true
			}
		}
		for _, want := range []string{"SREvent.csv IDPatient", "SRPatient.csv RowIdentifier", "SRPatient.csv DateBirth"} {
			if !pinned[want] {
				t.Errorf("%s: no warning that %s keeps its registered type: %v", name, want, pinned)
			}
		}
		if p.Batches[0].DeadLetters != 0 {
			t.Errorf("%s: %d dead letters", name, p.Batches[0].DeadLetters)
		}
	}
	if err := kafkatest.CheckSubjectEvolution(ctx, e.k.Registry, e.cfg.TopicPrefix+"."); err != nil {
		t.Errorf("a subject evolved incompatibly: %v", err)
	}
	if got := rebuiltNames(t, e, "SREvent", "IDPatient"); got["A1/1"] != "123" {
		t.Errorf("SREvent.IDPatient as a consumer holds it: %q", got)
	}
	var rows int
	for _, ev := range e.consume(e.cfg.TopicFor("SRWidget")) {
		if ev.marker != "" {
			continue
		}
		rows++
		if _, org := ev.key["IDOrganisationVisibleTo"]; org || ev.key["RowIdentifier"] == nil {
			t.Errorf("SRWidget key %v: it must stay RowIdentifier alone", ev.key)
		}
	}
	if rows != 2 {
		t.Errorf("%d SRWidget rows", rows)
	}
}
