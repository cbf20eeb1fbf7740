//go:build windows

package manifest

import (
	"io/fs"
	"strings"
	"syscall"
)

// hidden reports whether an entry is hidden: its name starts with a dot,
// or it has the Windows hidden or system attribute.
func hidden(_ string, de fs.DirEntry) bool {
	if strings.HasPrefix(de.Name(), ".") {
		return true
	}
	info, err := de.Info()
	if err != nil {
		return false
	}
	a, ok := info.Sys().(*syscall.Win32FileAttributeData)
	return ok && a.FileAttributes&(syscall.FILE_ATTRIBUTE_HIDDEN|syscall.FILE_ATTRIBUTE_SYSTEM) != 0
}
