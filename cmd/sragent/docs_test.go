package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// deploy/README.md's configuration table lists every config key, each
// with its default, and no key that does not exist.
func TestConfigTableIsTheDefaults(t *testing.T) {
	text, err := os.ReadFile("../../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(text), "## Configuration")
	end := strings.Index(string(text)[start:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("no Configuration section")
	}
	section := string(text)[start : start+end]
	row := regexp.MustCompile("(?m)^\\| (`[^|]+`) \\|([^|]*)\\|")
	key := regexp.MustCompile("`([a-z_]+(?:\\.[a-z_]+)+|\\.[a-z_]+|reconcile\\.tables\\.<Table>\\.[a-z_]+)`")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		prefix := ""
		for _, k := range key.FindAllStringSubmatch(m[1], -1) {
			name := k[1]
			if strings.HasPrefix(name, ".") { // `a.b.c`, `.d`: a sibling of the last key
				name = prefix + name
			}
			prefix = name[:strings.LastIndex(name, ".")]
			documented[name] = strings.Trim(strings.TrimSpace(m[2]), "`")
		}
	}
	var missing []string
	for k, d := range defaults {
		if k == "reconcile.tables" {
			continue // the per-table keys, documented as reconcile.tables.<Table>.*
		}
		doc, ok := documented[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		if want := defaultText(d); !sameDefault(doc, want) {
			t.Errorf("%s: the table says the default is %q, it is %q", k, doc, want)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("keys missing from deploy/README.md's configuration table: %s", strings.Join(missing, ", "))
	}
	for k := range documented {
		if _, ok := defaults[k]; !ok && !isTableKey(strings.ReplaceAll(k, "<Table>", "srcode")) {
			t.Errorf("deploy/README.md documents %s, which is not a config key", k)
		}
	}
}

// defaultText is a default as the table writes it.
func defaultText(v any) string {
	switch x := v.(type) {
	case []string:
		return strings.Join(x, ",")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// sameDefault compares a documented default with the real one: durations
// by value (1h is 1h0m0s), an empty one as blank or "(none)".
func sameDefault(doc, want string) bool {
	if doc == "(none)" {
		doc = ""
	}
	if d, err := time.ParseDuration(want); err == nil {
		got, err := time.ParseDuration(doc)
		return err == nil && got == d
	}
	return doc == want
}

// Every table of the documentation renders: a block of "|" lines starts
// with a header and a separator row, and all its rows have the header's
// number of cells (a blank line inside a table makes its rest a paragraph).
func TestDocTablesRender(t *testing.T) {
	sep := regexp.MustCompile(`^\|( *:?-+:? *\|)+$`)
	cells := func(line string) int {
		n := strings.Count(strings.ReplaceAll(line, "\\|", ""), "|") - 1
		for _, code := range regexp.MustCompile("`[^`]*`").FindAllString(line, -1) {
			n -= strings.Count(strings.ReplaceAll(code, "\\|", ""), "|") // a | inside code is escaped or not a separator
		}
		return n
	}
	for _, path := range []string{"../../README.md", "../../deploy/README.md", "../../schemas/README.md"} {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(text), "\n")
		fence := false
		for i := 0; i < len(lines); i++ {
			if strings.HasPrefix(strings.TrimSpace(lines[i]), "```") {
				fence = !fence
			}
			if fence || !strings.HasPrefix(lines[i], "|") {
				continue
			}
			if i+1 >= len(lines) || !sep.MatchString(strings.TrimSpace(lines[i+1])) {
				t.Errorf("%s:%d: a table row without a header and separator row above it (a blank line inside a table?)", path, i+1)
			}
			want := cells(lines[i])
			j := i + 2
			for ; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
				if got := cells(lines[j]); got != want {
					t.Errorf("%s:%d: %d cells, the table's header has %d", path, j+1, got, want)
				}
			}
			i = j - 1
		}
	}
}
