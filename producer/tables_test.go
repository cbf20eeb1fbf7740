package producer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sragent/sragent/schemas"
)

// A value schema keeps its name in image hashes however a registry gives
// its text back (reformatted, keys reordered, docs and logical types
// dropped), and changes it when a field's type or name changes.
func TestSchemaSum(t *testing.T) {
	tab, _ := schemas.Lookup("SRPatient")
	avsc, err := schemas.Build(tab)
	if err != nil {
		t.Fatal(err)
	}
	base := avsc.Value
	var tree any
	if err := json.Unmarshal([]byte(base), &tree); err != nil {
		t.Fatal(err)
	}
	stripDocs(tree)
	pretty, _ := json.MarshalIndent(tree, "", "    ") // keys sorted, no docs
	bare := strings.ReplaceAll(base, `{"logicalType":"timestamp-millis","type":"long"}`, `"long"`)
	if bare == base {
		t.Fatal("no logical type to drop")
	}
	same := []string{base, string(pretty), bare}
	other := []string{
		strings.Replace(base, `"FirstName"`, `"Forename"`, 1),
		strings.Replace(base, `["null","string"]`, `["null","long"]`, 1),
	}
	want, err := schemaSum(base)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range same {
		if got, err := schemaSum(s); err != nil || got != want {
			t.Errorf("same schema %d: sum %x %v, want %x", i, got, err, want)
		}
	}
	for i, s := range other {
		if s == base {
			t.Fatalf("other schema %d is not changed", i)
		}
		if got, err := schemaSum(s); err != nil || got == want {
			t.Errorf("changed schema %d: sum %x %v, the same as the original", i, got, err)
		}
	}
}

func stripDocs(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "doc")
		for _, y := range x {
			stripDocs(y)
		}
	case []any:
		for _, y := range x {
			stripDocs(y)
		}
	}
}
