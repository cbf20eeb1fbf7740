package manifest

import (
	"io/fs"
	"regexp"
	"strings"
)

// Ignored is an entry of the input folder that Discover does not read
// although it looks like a batch folder or a reporting group, and why: a
// batch that is never published must be reported (validate, status, the
// log), never silently skipped.
type Ignored struct {
	// Group is the reporting group folder it is in ("" at the top).
	Group string
	// Path is the entry's path.
	Path string
	// Why says why it is not read, never quoting a file's content.
	Why string
}

// archiveNames are folders other tools (and people) keep next to the
// batches: not reporting groups, never read.
var archiveNames = []string{"Archived", "Archive", "Processed", "Errored", "Error", "Failed", "Quarantine"}

// batchLike matches names that start as a batch folder's stamp does:
// 20241301_2500, "20240329_1707 (2)", 20240329_1707.old.
var batchLike = regexp.MustCompile(`^\d{8}_\d{4}`)

// isLink reports whether an entry is a symbolic link or a Windows
// junction (which Go reports as irregular, not a directory; a cloud-synced
// folder is irregular and a directory, and is read).
func isLink(de fs.DirEntry) bool {
	return de.Type()&fs.ModeSymlink != 0 || (de.Type()&fs.ModeIrregular != 0 && !de.IsDir())
}

// notAGroup says why a top-level entry of the input folder is not read as
// a batch folder or a group folder ("" when it is, or when it is a file
// or hidden folder nobody would take for one).
func notAGroup(path string, de fs.DirEntry) string {
	name := de.Name()
	switch {
	case hidden(path, de):
		return ""
	case isLink(de):
		return "a symbolic link: not followed; move or copy the batch or group folder into the input folder"
	case !de.IsDir():
		if strings.EqualFold(name, FileName) {
			return FileName + " directly in the input folder: a batch's files go in a yyyyMMdd_HHmm folder (in a reporting-group folder)"
		}
		return ""
	case batchLike.MatchString(name):
		if _, err := ParseStamp(name); err != nil {
			return "looks like a batch folder, but its name is not a yyyyMMdd_HHmm time (" + err.Error() + "): not read"
		}
		return ""
	}
	for _, a := range archiveNames {
		if strings.EqualFold(name, a) {
			return "an archive or error folder, not a reporting group: not read"
		}
	}
	return ""
}

// notABatch says why an entry of a reporting-group folder that looks like
// a batch is not read ("" when it is not batch-like at all).
func notABatch(de fs.DirEntry) string {
	name := de.Name()
	switch {
	case !de.IsDir() && !isLink(de):
		if strings.EqualFold(name, FileName) {
			return FileName + " directly in the group folder: a batch's files go in a yyyyMMdd_HHmm folder"
		}
		return ""
	case !batchLike.MatchString(name):
		return ""
	case isLink(de):
		return "a symbolic link to a batch: not followed; move or copy the batch folder into the group folder"
	}
	if _, err := ParseStamp(name); err != nil {
		return "looks like a batch folder, but its name is not a yyyyMMdd_HHmm time (" + err.Error() + "): not read"
	}
	return ""
}
