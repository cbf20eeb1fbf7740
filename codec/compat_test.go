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
	"strings"
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

// Tables the catalogue does not know get an all-string schema built from
// each file's header, so every new or dropped column changes the value
// schema, and IDOrganisationVisibleTo changes the key.
func TestDynamicTableEvolution(t *testing.T) {
	const table = "SRNotInTheCatalogue"
	base := []string{"RowIdentifier", "Alpha", "Beta", "RemovedData"}
	withOrg := []string{"RowIdentifier", "IDOrganisationVisibleTo", "Alpha", "Beta", "RemovedData"}
	for _, tc := range []struct {
		name          string
		older, newer  []string
		keyCompatible bool
		// finding explains a change the registry rejects, or one it
		// accepts that still changes how rows are keyed.
		finding string
	}{
		{name: "gains a column", older: base, newer: []string{"RowIdentifier", "Alpha", "Beta", "Gamma"}, keyCompatible: true},
		{name: "loses a column", older: base, newer: []string{"RowIdentifier", "Beta"}, keyCompatible: true},
		{name: "reorders its columns", older: base, newer: []string{"Beta", "RowIdentifier", "RemovedData", "Alpha"}, keyCompatible: true},
		{name: "gains a column that is not an Avro name", older: base, newer: []string{"RowIdentifier", "Alpha", "Beta", "Col 3"}, keyCompatible: true},
		{name: "gains a column and loses another", older: base, newer: []string{"RowIdentifier", "Alpha", "Gamma"}, keyCompatible: true},
		{name: "gains IDOrganisationVisibleTo", older: base, newer: withOrg, keyCompatible: false,
			finding: "the key gains IDOrganisationVisibleTo, a field without a default: a registry under BACKWARD refuses the new key schema and the file cannot be published"},
		{name: "loses IDOrganisationVisibleTo", older: withOrg, newer: base, keyCompatible: true,
			finding: "the key loses IDOrganisationVisibleTo: the registry accepts it, but the same row now has another key, so compaction keeps both and per-key ordering breaks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			older := fileSchemas(t, table, tc.older)
			newer := fileSchemas(t, table, tc.newer)
			if err := kafkatest.BackwardCompatible(newer.Value, older.Value); err != nil {
				t.Errorf("value: %v", err)
			}
			err := kafkatest.BackwardCompatible(newer.Key, older.Key)
			switch {
			case tc.keyCompatible && err != nil:
				t.Errorf("key: %v", err)
			case !tc.keyCompatible && err == nil:
				t.Errorf("key: want incompatible (%s), got compatible: update this case and the report", tc.finding)
			case !tc.keyCompatible:
				t.Logf("FINDING: a dynamic table that %s: %s: %v", tc.name, tc.finding, err)
			case tc.finding != "":
				if older.Key == newer.Key {
					t.Errorf("key schema unchanged; the finding no longer holds")
				}
				t.Logf("FINDING: a dynamic table that %s: %s", tc.name, tc.finding)
			}
		})
	}
}

// Changes that come with an agent upgrade rather than with a batch: the
// catalogue learns a table that was dynamic, or a column that was extra.
// An extra column is an optional string and a dynamic table is all strings,
// so cataloguing either with another type is a change the registry refuses
// for subjects that already have the string version. These cases pin that
// down (each is logged as a FINDING); the catalogue's own evolution between
// releases is checked in schemas/compat_test.go.
func TestCatalogueGrowthEvolution(t *testing.T) {
	t.Run("a dynamic table becomes catalogued", func(t *testing.T) {
		var incompatible []string
		for _, tab := range schemas.Tables() {
			var cols []string
			for _, c := range tab.Columns {
				cols = append(cols, c.Name)
			}
			old, err := schemas.Build(schemas.Dynamic(tab.Name, cols))
			if err != nil {
				t.Fatal(err)
			}
			cur := fileSchemas(t, tab.Name, cols)
			kerr := kafkatest.BackwardCompatible(cur.Key, old.Key)
			verr := kafkatest.BackwardCompatible(cur.Value, old.Value)
			allStrings := !slices.ContainsFunc(tab.Columns, func(c schemas.Column) bool { return c.Type != schemas.String })
			if allStrings && slices.Equal(tab.Key, schemas.Dynamic(tab.Name, cols).Key) {
				if kerr != nil || verr != nil {
					t.Errorf("%s: all-string table with the dynamic key: %v %v", tab.Name, kerr, verr)
				}
				continue
			}
			if verr == nil && !allStrings {
				t.Errorf("%s: typed columns read string data: want incompatible", tab.Name)
			}
			if kerr != nil || verr != nil {
				incompatible = append(incompatible, tab.Name)
			}
		}
		if len(incompatible) == 0 {
			t.Fatal("want every typed table incompatible with its dynamic (all-string) schema")
		}
		t.Logf("FINDING: a table published while uncatalogued (all strings, key RowIdentifier string) that a later release catalogues gets incompatible key and value schemas; %d of %d catalogued tables would: %s",
			len(incompatible), len(schemas.Tables()), strings.Join(incompatible, ", "))
	})
	t.Run("an extra column becomes catalogued", func(t *testing.T) {
		for _, tc := range []struct {
			table, column string
			compatible    bool
		}{
			{"SREvent", "IDPatient", false},       // long
			{"SREvent", "DateEvent", false},       // timestamp-millis
			{"SRCode", "NumericValue", false},     // double
			{"SREvent", "EventIncomplete", false}, // boolean
			{"SRCode", "CTV3Text", true},          // string
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
			cur, err := schemas.Build(tab)
			if err != nil {
				t.Fatal(err)
			}
			err = kafkatest.BackwardCompatible(cur.Value, old.Value)
			switch {
			case tc.compatible && err != nil:
				t.Errorf("%s.%s (%s): %v", tc.table, tc.column, col.Type, err)
			case !tc.compatible && err == nil:
				t.Errorf("%s.%s (%s): want incompatible, got compatible", tc.table, tc.column, col.Type)
			case !tc.compatible:
				t.Logf("FINDING: %s.%s published as an extra (string) column, later catalogued as %s: %v", tc.table, tc.column, col.Type, err)
			}
		}
	})
}
