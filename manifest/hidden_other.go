//go:build !windows

package manifest

import (
	"io/fs"
	"strings"
)

// hidden reports whether an entry is hidden: its name starts with a dot.
func hidden(_ string, de fs.DirEntry) bool { return strings.HasPrefix(de.Name(), ".") }
