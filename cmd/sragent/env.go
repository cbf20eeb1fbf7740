package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/viper"
)

// The SRAGENT_* environment: each variable a config key (dots become
// underscores), SRAGENT_CONFIG the config file.

// applyEnv sets every SRAGENT_* variable that names a config key. One that
// does not (a typo, or another program's SRAGENT_HOME) is ignored with a
// warning naming the closest key, so that a typo does not silently leave a
// default in place.
func applyEnv(v *viper.Viper, environ []string) (warnings []string) {
	byEnv := map[string]string{}
	for k := range defaults {
		byEnv[envName(k)] = k
	}
	tables := map[string]string{} // per-table keys, set together
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SRAGENT_") || name == configEnv {
			continue
		}
		if key, ok := byEnv[name]; ok {
			v.Set(key, val)
			continue
		}
		key, ok := tableKeyOfEnv(name)
		if !ok {
			hint := ""
			if near, d := closest(name, byEnv); d <= 3 {
				hint = "did you mean " + near + "? "
			}
			warnings = append(warnings, fmt.Sprintf("environment variable %s is not a config key and is ignored (%sthe keys are in deploy/README.md)", name, hint))
			continue
		}
		tables[key] = val
	}
	setTableKeys(v, tables)
	sort.Strings(warnings)
	return warnings
}

// closest returns the name of names nearest to s, and its edit distance.
func closest(s string, names map[string]string) (string, int) {
	best, dist := "", -1
	for n := range names {
		if d := editDistance(s, n); dist < 0 || d < dist || (d == dist && n < best) {
			best, dist = n, d
		}
	}
	return best, dist
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func envName(key string) string {
	return "SRAGENT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
