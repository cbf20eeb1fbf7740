package codec_test

// BACKWARD compatibility of every schema change a batch can cause. The agent
// registers, under <prefix>.<Table>-key and -value, whatever schema the
// layout of the file at hand gives (codec.NewLayout → codec.NewTableCodec),
// so any file's schema may follow any other's: every ordered pair of the
// variants below must be compatible, in both orders, which is what the
// registry's BACKWARD rule (and our stricter transitive check) asks.
//
// An external test package: producer/kafkatest is a test-support package
// under producer, which imports codec.

import (
	"slices"
	"testing"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer/kafkatest"
	"github.com/sragent/sragent/schemas"
)

// fileSchemas returns the schemas the agent would register for a file of
// table with header.
func fileSchemas(t *testing.T, table string, header []string) schemas.Avro {
	t.Helper()
	h := make([][]byte, len(header))
	for i, s := range header {
		h[i] = []byte(s)
	}
	l, err := codec.NewLayout(table, h)
	if err != nil {
		t.Fatalf("%s %v: %v", table, header, err)
	}
	tc, err := codec.NewTableCodec(l)
	if err != nil {
		t.Fatalf("%s %v: %v", table, header, err)
	}
	return tc.Avro
}

// pinnedSchemas returns the schemas the agent registers for a file of
// table with header when the table's subjects already hold older: the
// fields keep their registered types.
func pinnedSchemas(t *testing.T, table string, header []string, older schemas.Avro) (schemas.Avro, []string) {
	t.Helper()
	pins, err := codec.PinsOf(older.Key, older.Value)
	if err != nil {
		t.Fatal(err)
	}
	h := make([][]byte, len(header))
	for i, s := range header {
		h[i] = []byte(s)
	}
	l, err := codec.NewLayoutWith(table, h, codec.Options{Pins: pins})
	if err != nil {
		t.Fatalf("%s %v: %v", table, header, err)
	}
	tc, err := codec.NewTableCodec(l)
	if err != nil {
		t.Fatalf("%s %v: %v", table, header, err)
	}
	return tc.Avro, l.Pinned
}

type variant struct {
	name string
	avro schemas.Avro
}

// checkAllPairs requires every variant to read every other's data, key and
// value. Pairs of identical schema text (a file that registers no new
// version) are checked once.
func checkAllPairs(t *testing.T, table string, vs []variant) {
	t.Helper()
	done := map[[2]string]bool{}
	check := func(what, newer, older, newerName, olderName string) {
		if newer == older || done[[2]string{newer, older}] {
			return
		}
		done[[2]string{newer, older}] = true
		if err := kafkatest.BackwardCompatible(newer, older); err != nil {
			t.Errorf("%s %s: a file %s after a file %s: %v", table, what, newerName, olderName, err)
		}
	}
	for _, older := range vs {
		for _, newer := range vs {
			check("key", newer.avro.Key, older.avro.Key, newer.name, older.name)
			check("value", newer.avro.Value, older.avro.Value, newer.name, older.name)
		}
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Catalogued tables: the file's header may carry the catalogued columns in
// any order, lack some (they stay in the schema and are null), carry
// RemovedData or not, and carry columns the catalogue does not know (they
// become optional strings appended in header order; names that are not
// Avro names are sanitized).
func TestCataloguedTableEvolution(t *testing.T) {
	extra := []string{"ExtraText", "Extra Col 2", "IDExtraThing", "DateExtra"}
	for _, tab := range schemas.Tables() {
		t.Run(tab.Name, func(t *testing.T) {
			t.Parallel()
			var cols []string
			for _, c := range tab.Columns {
				cols = append(cols, c.Name)
			}
			// The smallest header NewLayout accepts: the key columns and
			// RowIdentifier.
			minimal := slices.Clone(tab.Key)
			if !slices.Contains(minimal, schemas.RowIdentifier) {
				minimal = append(minimal, schemas.RowIdentifier)
			}
			rd := []string{schemas.RemovedData}
			vs := []variant{
				{"with the catalogued columns", fileSchemas(t, tab.Name, cols)},
				{"with RemovedData", fileSchemas(t, tab.Name, cat(cols, rd))},
				{"with its columns in reverse order", fileSchemas(t, tab.Name, cat(reversed(cols), rd))},
				{"with only its key columns", fileSchemas(t, tab.Name, cat(minimal, rd))},
				{"with extra columns", fileSchemas(t, tab.Name, cat(cols, extra, rd))},
				{"with the extra columns in another order", fileSchemas(t, tab.Name, cat(reversed(extra), cols, rd))},
				{"with its key columns and one extra", fileSchemas(t, tab.Name, cat(minimal, extra[1:2]))},
				{"with another extra column", fileSchemas(t, tab.Name, cat(cols, []string{"AnotherExtra"}, rd))},
			}
			checkAllPairs(t, tab.Name, vs)

			// What the agent does with a missing or reordered column: the
			// schema stays the catalogue's, so none of these files registers
			// a new version at all.
			built, err := schemas.Build(tab)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs[:4] {
				if v.avro != built {
					t.Errorf("%s: a file %s changes the schema", tab.Name, v.name)
				}
			}
			for _, v := range vs {
				if v.avro.Key != built.Key {
					t.Errorf("%s: a file %s changes the key schema", tab.Name, v.name)
				}
			}
		})
	}
}

// Tables the catalogue does not know get a schema built from each file's
// header (strings, RowIdentifier a long), so every new or dropped column
// changes the value schema; the key's shape and types are pinned by what
// the subject holds, so a header that gains IDOrganisationVisibleTo keeps
// the key it had.
func TestDynamicTableEvolution(t *testing.T) {
	const table = "SRNotInTheCatalogue"
	base := []string{"RowIdentifier", "Alpha", "Beta", "RemovedData"}
	withOrg := []string{"RowIdentifier", "IDOrganisationVisibleTo", "Alpha", "Beta", "RemovedData"}
	for _, tc := range []struct {
		name         string
		older, newer []string
		// finding explains a change the registry accepts that still
		// changes how rows are keyed.
		finding string
	}{
		{name: "gains a column", older: base, newer: []string{"RowIdentifier", "Alpha", "Beta", "Gamma"}},
		{name: "loses a column", older: base, newer: []string{"RowIdentifier", "Beta"}},
		{name: "reorders its columns", older: base, newer: []string{"Beta", "RowIdentifier", "RemovedData", "Alpha"}},
		{name: "gains a column that is not an Avro name", older: base, newer: []string{"RowIdentifier", "Alpha", "Beta", "Col 3"}},
		{name: "gains a column and loses another", older: base, newer: []string{"RowIdentifier", "Alpha", "Gamma"}},
		{name: "gains IDOrganisationVisibleTo", older: base, newer: withOrg},
		{name: "keyed by its row hash, gains RowIdentifier", older: []string{"Alpha", "Beta"}, newer: []string{"RowIdentifier", "Alpha", "Beta"}},
		{name: "loses IDOrganisationVisibleTo", older: withOrg, newer: base,
			finding: "the key loses IDOrganisationVisibleTo: the registry accepts it, but the same row now has another key, so compaction keeps both and per-key ordering breaks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			older := fileSchemas(t, table, tc.older)
			newer, _ := pinnedSchemas(t, table, tc.newer, older)
			if err := kafkatest.BackwardCompatible(newer.Value, older.Value); err != nil {
				t.Errorf("value: %v", err)
			}
			if err := kafkatest.BackwardCompatible(newer.Key, older.Key); err != nil {
				t.Errorf("key: %v", err)
			}
			switch {
			case tc.finding != "" && older.Key == newer.Key:
				t.Errorf("key schema unchanged; the finding no longer holds")
			case tc.finding != "":
				t.Logf("FINDING: a dynamic table that %s: %s", tc.name, tc.finding)
			case older.Key != newer.Key:
				t.Errorf("the key schema changed:\n%s\n%s", older.Key, newer.Key)
			}
		})
	}
}

// Changes that come with an agent upgrade rather than with a batch: the
// catalogue learns a table that an earlier release published as an
// uncatalogued one (every column a string, RowIdentifier too), or a column
// it published as an extra string. Built alone, the catalogued schema is
// one the registry refuses; built over what the subjects hold (pinned),
// each field keeps the type it was registered with, and the schema is
// compatible.
func TestCatalogueGrowthEvolution(t *testing.T) {
	t.Run("a dynamic table becomes catalogued", func(t *testing.T) {
		for _, tab := range schemas.Tables() {
			var cols []string
			for _, c := range tab.Columns {
				cols = append(cols, c.Name)
			}
			dyn := schemas.Dynamic(tab.Name, cols)
			for i := range dyn.Columns {
				dyn.Columns[i].Type = schemas.String // as releases before RowIdentifier became a long wrote it
			}
			old, err := schemas.Build(dyn)
			if err != nil {
				t.Fatal(err)
			}
			alone := fileSchemas(t, tab.Name, cols)
			cur, pinned := pinnedSchemas(t, tab.Name, cols, old)
			if kafkatest.BackwardCompatible(alone.Value, old.Value) == nil && len(pinned) > 0 {
				t.Errorf("%s: the catalogued schema alone reads the old data: no column needed its type kept", tab.Name)
			}
			if err := kafkatest.BackwardCompatible(cur.Key, old.Key); err != nil && slices.Equal(tab.Key, dyn.Key) {
				t.Errorf("%s key: %v", tab.Name, err)
			}
			if err := kafkatest.BackwardCompatible(cur.Value, old.Value); err != nil {
				t.Errorf("%s value: %v", tab.Name, err)
			}
		}
	})
	t.Run("an extra column becomes catalogued", func(t *testing.T) {
		for _, tc := range []struct{ table, column string }{
			{"SREvent", "IDPatient"},       // long
			{"SREvent", "DateEvent"},       // timestamp-millis
			{"SRCode", "NumericValue"},     // double
			{"SREvent", "EventIncomplete"}, // boolean
			{"SRCode", "CTV3Text"},         // string
		} {
			tab, ok := schemas.Lookup(tc.table)
			if !ok {
				t.Fatalf("no table %s", tc.table)
			}
			col, ok := tab.Column(tc.column)
			if !ok {
				t.Fatalf("%s has no column %s", tc.table, tc.column)
			}
			// The table as an older catalogue without the column saw it: an
			// extra optional string at the end.
			before := *tab
			before.Columns = slices.DeleteFunc(slices.Clone(tab.Columns), func(c schemas.Column) bool { return c.Name == tc.column })
			old, err := schemas.Build(before.WithExtra([]string{tc.column}))
			if err != nil {
				t.Fatal(err)
			}
			var header []string
			for _, c := range tab.Columns {
				header = append(header, c.Name)
			}
			cur, pinned := pinnedSchemas(t, tc.table, header, old)
			if err := kafkatest.BackwardCompatible(cur.Value, old.Value); err != nil {
				t.Errorf("%s.%s (%s): %v", tc.table, tc.column, col.Type, err)
			}
			if typed := col.Type != schemas.String; typed != slices.Contains(pinned, tc.column) {
				t.Errorf("%s.%s (%s): pinned %v", tc.table, tc.column, col.Type, pinned)
			}
		}
	})
}
