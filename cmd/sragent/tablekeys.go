package main

import (
	"strings"

	"github.com/spf13/viper"
)

// The per-table keys, reconcile.tables.<Table>.<field>: the table is any
// name (matched against the files' tables whatever its case), the field
// one of tableFields.

const tablesPrefix = "reconcile.tables."

var tableFields = []string{"mode", "window_column", "window_months"}

// isTableKey reports whether key is a per-table key.
func isTableKey(key string) bool {
	rest, ok := strings.CutPrefix(key, tablesPrefix)
	if !ok {
		return false
	}
	table, field, ok := strings.Cut(rest, ".")
	return ok && table != "" && contains(tableFields, field)
}

// tableKeyOfEnv maps SRAGENT_RECONCILE_TABLES_<TABLE>_<FIELD> to its key
// (table names hold no underscore).
func tableKeyOfEnv(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, envName(tablesPrefix))
	if !ok {
		return "", false
	}
	table, field, ok := strings.Cut(rest, "_")
	field = strings.ToLower(field)
	if !ok || table == "" || !contains(tableFields, field) {
		return "", false
	}
	return tablesPrefix + strings.ToLower(table) + "." + field, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// setTableKeys sets per-table keys (key → value) over the file's: the
// whole reconcile.tables map at once, since a single nested key set in
// viper hides the file's other tables.
func setTableKeys(v *viper.Viper, keys map[string]string) {
	if len(keys) == 0 {
		return
	}
	tables := map[string]map[string]any{}
	for _, k := range v.AllKeys() {
		if isTableKey(k) {
			table, field, _ := strings.Cut(strings.TrimPrefix(k, tablesPrefix), ".")
			if tables[table] == nil {
				tables[table] = map[string]any{}
			}
			tables[table][field] = v.Get(k)
		}
	}
	for k, val := range keys {
		table, field, _ := strings.Cut(strings.TrimPrefix(k, tablesPrefix), ".")
		if tables[table] == nil {
			tables[table] = map[string]any{}
		}
		tables[table][field] = val
	}
	v.Set(strings.TrimSuffix(tablesPrefix, "."), tables)
}
