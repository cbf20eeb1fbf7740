package manifest

import (
	"archive/zip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// DefaultGroup is the group of batch folders placed directly in the input
// folder rather than inside a reporting-group folder.
const DefaultGroup = "default"

// Pending is a batch folder found in the input folder.
type Pending struct {
	Group, Name, Dir string
	Stamp            Stamp
	// Ready is true when the batch can be read: the manifest and every
	// file it lists are there and nothing changed for the settle time.
	Ready bool
	// Waiting says why a batch is not ready.
	Waiting string
}

// Discover lists the batch folders under root, directly (group
// DefaultGroup) or one level down in reporting-group folders, ordered by
// group and then by folder timestamp. Other folders and files are ignored.
func Discover(root string, settle time.Duration, now time.Time) ([]Pending, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read input folder: %w", err)
	}
	var out []Pending
	for _, de := range entries {
		if !de.IsDir() {
			continue
		}
		dir := filepath.Join(root, de.Name())
		if s, err := ParseStamp(de.Name()); err == nil {
			out = append(out, pending(DefaultGroup, dir, s, settle, now))
			continue
		}
		sub, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("read group folder %s: %w", de.Name(), err)
		}
		for _, se := range sub {
			if s, err := ParseStamp(se.Name()); err == nil && se.IsDir() {
				out = append(out, pending(de.Name(), filepath.Join(dir, se.Name()), s, settle, now))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Stamp.Before(out[j].Stamp)
	})
	return out, nil
}

func pending(group, dir string, s Stamp, settle time.Duration, now time.Time) Pending {
	p := Pending{Group: group, Name: filepath.Base(dir), Dir: dir, Stamp: s}
	p.Waiting = waiting(dir, settle, now)
	p.Ready = p.Waiting == ""
	return p
}

// waiting returns why dir is not ready yet, or "".
func waiting(dir string, settle time.Duration, now time.Time) string {
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		return "no SRManifest.csv yet"
	}
	newest, err := newestChange(dir)
	if err != nil {
		return err.Error()
	}
	if age := now.Sub(newest); age < settle {
		return fmt.Sprintf("changed %s ago; waiting until nothing changed for %s", age.Round(time.Second), settle)
	}
	if missing := missingListed(dir); missing != "" {
		return missing + " is listed in SRManifest.csv but not present yet"
	}
	return ""
}

func newestChange(dir string) (time.Time, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return time.Time{}, fmt.Errorf("stat batch folder: %w", err)
	}
	newest := info.ModTime()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}, fmt.Errorf("read batch folder: %w", err)
	}
	for _, de := range entries {
		if fi, err := de.Info(); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return newest, nil
}

// missingListed returns the first listed file that is absent, or "". A
// manifest or zip that cannot be read counts as ready: reading the batch
// then reports the problem.
func missingListed(dir string) string {
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		return ""
	}
	m, err := Parse(f, ',')
	f.Close()
	if err != nil {
		return ""
	}
	inZip := map[string]bool{}
	if zr, err := zip.OpenReader(filepath.Join(dir, ZipName)); err == nil {
		for _, zf := range zr.File {
			inZip[zf.Name] = true
		}
		zr.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	for _, e := range m.Entries {
		name := e.FileName + ".csv"
		if inZip[name] {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return name
		}
	}
	return ""
}
