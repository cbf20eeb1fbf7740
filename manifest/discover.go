package manifest

import (
	"archive/zip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultGroup is the group of batch folders placed directly in the input
// folder rather than inside a reporting-group folder.
const DefaultGroup = "default"

// UnreadableGroup is the Name of the Pending that stands for a group
// folder Discover cannot read: never ready, it stops only its own group.
const UnreadableGroup = "(group folder)"

// Pending is a batch folder found in the input folder.
type Pending struct {
	Group, Name, Dir string
	// Stamp is the folder name parsed: when the batch was extracted.
	Stamp Stamp
	// CutOff is the instant of the manifest's data cut-off
	// (Manifest.CutOffTime); zero when the manifest cannot be read (yet)
	// or has no dated row.
	CutOff time.Time
	// From and To are the manifest's wall-clock DateExtractFrom of its
	// deltas (Manifest.DeltaFrom) and DateExtractTo (Manifest.CutOff);
	// zero when the manifest cannot be read or has none.
	From, To Stamp
	// Ready is true when the batch can be read: the manifest and every
	// file it lists are there and nothing changed for the settle time.
	Ready bool
	// Waiting says why a batch is not ready.
	Waiting string
	// Missing names a file the manifest lists that is not there, once
	// nothing changed for the settle time ("" otherwise).
	Missing string
	// Changed is when the folder or a file in it last changed.
	Changed time.Time
}

// Discover lists the batch folders under root, directly (group
// DefaultGroup) or one level down in reporting-group folders. Other
// folders and files are ignored. Manifests are read with opt.
//
// Groups are sorted by name, and the batches of each group are ordered as
// a chain by OrderChain (a new chain: no previous cut-off).
func Discover(root string, opt Options, settle time.Duration, now time.Time) ([]Pending, error) {
	ps, _, err := Survey(root, opt, settle, now)
	return ps, err
}

// Survey is Discover, and also returns the entries of the input folder
// that are not read although they look like batches or groups (see
// Ignored), so that they can be reported rather than silently skipped.
func Survey(root string, opt Options, settle time.Duration, now time.Time) ([]Pending, []Ignored, error) {
	if err := opt.Validate(); err != nil {
		return nil, nil, fmt.Errorf("manifest options: %w", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read input folder: %w", err)
	}
	var out []Pending
	var ignored []Ignored
	for _, de := range entries {
		dir := filepath.Join(root, de.Name())
		if why := notAGroup(dir, de); why != "" {
			ignored = append(ignored, Ignored{Path: dir, Why: why})
			continue
		}
		if !de.IsDir() || hidden(dir, de) {
			continue
		}
		if s, err := ParseStamp(de.Name()); err == nil {
			out = append(out, pending(DefaultGroup, dir, s, opt, settle, now))
			continue
		}
		sub, err := os.ReadDir(dir)
		if err != nil {
			// Only this group waits: a Pending that is never ready.
			out = append(out, Pending{Group: de.Name(), Name: UnreadableGroup, Dir: dir,
				Waiting: fmt.Sprintf("cannot read the group folder: %v", err)})
			continue
		}
		for _, se := range sub {
			path := filepath.Join(dir, se.Name())
			if s, err := ParseStamp(se.Name()); err == nil && se.IsDir() {
				out = append(out, pending(de.Name(), path, s, opt, settle, now))
			} else if why := notABatch(se); why != "" {
				ignored = append(ignored, Ignored{Group: de.Name(), Path: path, Why: why})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		if c := out[i].Stamp.Compare(out[j].Stamp); c != 0 {
			return c < 0
		}
		return out[i].Name < out[j].Name
	})
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].Group == out[i].Group {
			j++
		}
		OrderChain(out[i:j], time.Time{})
		i = j
	}
	return out, ignored, nil
}

// OrderChain orders the batches of one group, sorted by folder stamp, as
// a chain by data cut-off, not by folder name. prev is the cut-off instant
// the chain has reached (zero for a new chain). Repeatedly, of the
// batches left, the one whose cut-off instant, read as the continuation of
// the chain (ChainRange after the cut-off just placed), is earliest comes
// next; ties go by folder name. Batches whose manifest cannot be read keep
// their place in folder order, the others fill the other places. So
// sub-daily deltas across the autumn change, whose folder names and
// cut-offs repeat 01:00-01:59, come in the order they were cut, and each
// Pending.CutOff is its instant in the chain.
func OrderChain(ps []Pending, prev time.Time) {
	var slots []int // places of the batches with a cut-off, ascending
	var left []Pending
	for i, p := range ps {
		if !p.To.IsZero() {
			slots = append(slots, i)
			left = append(left, p)
		}
	}
	for _, slot := range slots {
		best, bestTo := -1, time.Time{}
		for k, p := range left {
			_, to := ChainRange(prev, p.From, p.To)
			if best < 0 || to.Before(bestTo) || (to.Equal(bestTo) && p.Name < left[best].Name) {
				best, bestTo = k, to
			}
		}
		p := left[best]
		p.CutOff = bestTo
		ps[slot] = p
		prev = bestTo
		left = append(left[:best], left[best+1:]...)
	}
}

// Inspect returns the Pending of one batch folder of group, as Discover
// would list it (readiness with settle, manifest read with opt).
func Inspect(dir, group string, opt Options, settle time.Duration, now time.Time) Pending {
	s, _ := ParseStamp(filepath.Base(dir))
	return pending(group, dir, s, opt, settle, now)
}

func pending(group, dir string, s Stamp, opt Options, settle time.Duration, now time.Time) Pending {
	p := Pending{Group: group, Name: filepath.Base(dir), Dir: dir, Stamp: s}
	m, present := readPendingManifest(dir, opt)
	if m != nil {
		p.CutOff, p.From, p.To = m.CutOffTime(), m.DeltaFrom(), m.CutOff()
	}
	p.Waiting, p.Missing, p.Changed = waiting(dir, m, present, settle, now)
	p.Ready = p.Waiting == ""
	return p
}

// readPendingManifest parses the manifest of dir with opt: nil when it is
// absent or cannot be read or parsed (present tells which).
func readPendingManifest(dir string, opt Options) (m *Manifest, present bool) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		return nil, !errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	m, err = Parse(f, opt)
	if err != nil {
		return nil, true
	}
	return m, true
}

// waiting returns why dir is not ready yet, or "", the listed file that is
// missing once it settled, and when it last changed. m is its manifest,
// nil when absent (present false) or unreadable.
func waiting(dir string, m *Manifest, present bool, settle time.Duration, now time.Time) (why, missing string, changed time.Time) {
	changed, err := newestChange(dir)
	if err != nil {
		return err.Error(), "", changed
	}
	if !present {
		return "no SRManifest.csv yet", "", changed
	}
	if age := now.Sub(changed); age < settle {
		return fmt.Sprintf("changed %s ago; waiting until nothing changed for %s", age.Round(time.Second), settle), "", changed
	}
	if missing = missingListed(dir, m); missing != "" {
		return missing + " is listed in SRManifest.csv but not present yet", missing, changed
	}
	return "", "", changed
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

// missingListed returns the first file the manifest m of dir lists that is
// absent, or "". A manifest (nil m) or zip that cannot be read counts as
// ready: reading the batch then reports the problem.
func missingListed(dir string, m *Manifest) string {
	if m == nil {
		return ""
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	have := map[string]bool{} // lower-case names, loose or in the zip: any case matches, as on Windows
	for _, de := range entries {
		have[strings.ToLower(de.Name())] = true
		if !strings.EqualFold(de.Name(), ZipName) {
			continue
		}
		zr, err := zip.OpenReader(filepath.Join(dir, de.Name()))
		if err != nil {
			return "" // reading the batch reports the zip
		}
		for _, zf := range zr.File {
			have[strings.ToLower(zf.Name)] = true
		}
		zr.Close()
	}
	for _, e := range m.Entries {
		if name := e.FileName + ".csv"; !have[strings.ToLower(name)] {
			return name
		}
	}
	return ""
}
