package manifest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ZipName is the archive SystmOne packs the table files into.
const ZipName = "SRExtract.zip"

// List files: delivered beside the manifest, never listed in it.
const (
	MappingFile      = "SRMapping"
	MappingGroupFile = "SRMappingGroup"
)

// File is one table file of a batch.
type File struct {
	// Table is the manifest FileName ("SRPatient"), also for the list files
	// that the manifest does not name.
	Table string
	// Name is the file name, "SRPatient.csv".
	Name string
	// InZip tells whether the file is an entry of SRExtract.zip.
	InZip bool
	// Size is the file's (uncompressed) size in bytes.
	Size int64
	// Entry is the table's manifest row; Listed is false for the list files.
	Entry  Entry
	Listed bool

	zf *zip.File
}

// Full reports whether f is a full image of its table: a file the
// manifest lists and does not call a delta, or SRMapping, TPP's built-in
// lists, which every batch delivers whole beside the manifest (it never
// had a RemovedData column; sr-format §6.1). SRMappingGroup, whose
// columns no source shows, is neither.
func (f *File) Full() bool {
	if !f.Listed {
		return f.Table == MappingFile
	}
	return !f.Entry.IsDelta
}

// Batch is one loaded batch folder whose structure is valid.
type Batch struct {
	// Group is the reporting group (the chain the batch belongs to).
	Group string
	// Name is the folder name, `yyyyMMdd_HHmm`.
	Name string
	// Stamp is Name parsed.
	Stamp Stamp
	// Dir is the folder path.
	Dir      string
	Manifest *Manifest
	// ManifestSHA256 is the hex SHA-256 of SRManifest.csv: a batch's
	// identity when it is delivered again.
	ManifestSHA256 string
	// Files are the list files (when present) and then every manifest
	// entry, in manifest order.
	Files []*File
	// Warnings are files in the batch that are not read, none of which
	// stops it: table files (CSV, loose or in the zip) that the manifest
	// does not list, other than the list files (nothing says whether they
	// are full or delta files), and anything else in the folder.
	Warnings ErrorList

	zip     *zip.ReadCloser
	zipName string // SRExtract.zip as the folder spells it
}

// ignored are files operating systems leave in folders, and the ones
// sragent itself writes into a batch it archives (SHA256SUMS) or
// quarantines (error.txt), so that a batch copied back is read as it was.
var ignored = map[string]bool{"thumbs.db": true, "desktop.ini": true, ".ds_store": true, "sha256sums": true, "error.txt": true}

// Load opens the batch folder dir of group and checks its structure: the
// folder name, the manifest (read with opt), and that the folder (and SRExtract.zip) hold
// exactly the files the manifest lists, plus the list files. All problems
// are returned together as an ErrorList. Close the batch when done.
func Load(dir, group string, opt Options) (*Batch, error) {
	b := &Batch{Group: group, Name: filepath.Base(dir), Dir: dir}
	var errs ErrorList
	fail := func(file string, err error) { errs = append(errs, &Error{File: file, Err: err}) }
	var err error
	if b.Stamp, err = ParseStamp(b.Name); err != nil {
		fail("", fmt.Errorf("folder name: %w", err))
	}
	b.Manifest, b.ManifestSHA256, err = readManifest(dir, opt)
	if err != nil {
		var list ErrorList
		if !errors.As(err, &list) {
			list = ErrorList{{File: FileName, Err: err}}
		}
		errs = append(errs, list...)
	}
	found, ferrs := b.listFiles()
	errs = append(errs, ferrs...)
	if b.Manifest != nil {
		errs = append(errs, b.match(found)...)
	}
	if len(errs) > 0 {
		b.Close()
		return nil, errs.withBatch(b.Name)
	}
	return b, nil
}

func readManifest(dir string, opt Options) (*Manifest, string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", errors.New("no SRManifest.csv in the batch folder")
	}
	if err != nil {
		return nil, "", fmt.Errorf("read manifest: %w", err)
	}
	sum := sha256.Sum256(raw)
	m, err := Parse(bytes.NewReader(raw), opt)
	return m, hex.EncodeToString(sum[:]), err
}

// listFiles finds every CSV of the batch, loose or zipped, by table name.
func (b *Batch) listFiles() (map[string][]*File, ErrorList) {
	var errs ErrorList
	found := map[string][]*File{}
	entries, err := os.ReadDir(b.Dir)
	if err != nil {
		return nil, ErrorList{{Err: fmt.Errorf("read folder: %w", err)}}
	}
	for _, de := range entries {
		name := de.Name()
		lower := strings.ToLower(name)
		switch {
		case name == FileName, ignored[lower], strings.HasPrefix(name, "."), strings.HasPrefix(name, "~$"):
		case de.IsDir():
			b.Warnings = append(b.Warnings, &Error{Batch: b.Name, File: name, Err: errors.New("a folder inside a batch folder: not read")})
		case strings.EqualFold(name, ZipName): // names match in any case, as on Windows
			b.zipName = name
			errs = append(errs, b.openZip(found)...)
		case isSplitZipPart(lower):
			errs = append(errs, &Error{File: name, Err: errors.New("split zip archives are not supported; join the parts into one SRExtract.zip")})
		case strings.HasSuffix(lower, ".csv"):
			info, err := de.Info()
			if err != nil {
				errs = append(errs, &Error{File: name, Err: fmt.Errorf("stat: %w", err)})
				continue
			}
			t := strings.TrimSuffix(name, name[len(name)-4:])
			found[strings.ToLower(t)] = append(found[strings.ToLower(t)], &File{Table: t, Name: name, Size: info.Size()})
		default:
			b.Warnings = append(b.Warnings, &Error{Batch: b.Name, File: name, Err: errors.New("not a table file (.csv) or SRExtract.zip: not read")})
		}
	}
	return found, errs
}

func isSplitZipPart(lower string) bool {
	ext := filepath.Ext(lower)
	if len(ext) < 3 || ext[1] != 'z' || ext == ".zip" {
		return false
	}
	for _, c := range ext[2:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (b *Batch) openZip(found map[string][]*File) ErrorList {
	zr, err := zip.OpenReader(filepath.Join(b.Dir, b.zipName))
	if err != nil {
		return ErrorList{{File: ZipName, Err: fmt.Errorf("corrupt or truncated zip: %w", err)}}
	}
	b.zip = zr
	var errs ErrorList
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		name := zf.Name
		switch {
		case strings.ContainsAny(name, `/\`):
			b.Warnings = append(b.Warnings, &Error{Batch: b.Name, File: ZipName, Err: fmt.Errorf("entry %s is inside a folder: not read (table files are at the top level)", name)})
		case !strings.HasSuffix(strings.ToLower(name), ".csv"):
			b.Warnings = append(b.Warnings, &Error{Batch: b.Name, File: ZipName, Err: fmt.Errorf("entry %s is not a CSV file: not read", name)})
		case zf.Method != zip.Store && zf.Method != zip.Deflate:
			errs = append(errs, &Error{File: ZipName, Err: fmt.Errorf("entry %s uses unsupported compression method %d", name, zf.Method)})
		default:
			t := name[:len(name)-4]
			found[strings.ToLower(t)] = append(found[strings.ToLower(t)], &File{Table: t, Name: name, InZip: true, Size: int64(zf.UncompressedSize64), zf: zf})
		}
	}
	return errs
}

// match pairs manifest entries with the files found.
func (b *Batch) match(found map[string][]*File) ErrorList {
	var errs ErrorList
	// Table files match the manifest's FileName in any case, as on
	// Windows; a file takes the manifest's spelling (the list files:
	// theirs).
	pick := func(table string) (*File, bool) {
		fs := found[strings.ToLower(table)]
		delete(found, strings.ToLower(table))
		switch len(fs) {
		case 0:
			return nil, false
		case 1:
			fs[0].Table = table
			return fs[0], true
		}
		errs = append(errs, &Error{File: table + ".csv", Err: errors.New("present both loose and inside SRExtract.zip")})
		return nil, true
	}
	for _, t := range []string{MappingFile, MappingGroupFile} {
		if _, listed := b.Manifest.Entry(t); listed {
			continue
		}
		if f, ok := pick(t); ok && f != nil {
			b.Files = append(b.Files, f)
		}
	}
	for _, e := range b.Manifest.Entries {
		f, ok := pick(e.FileName)
		if !ok {
			errs = append(errs, &Error{File: e.FileName + ".csv", Err: fmt.Errorf("listed in SRManifest.csv line %d but missing", e.Line)})
			continue
		}
		if f != nil {
			f.Entry, f.Listed = e, true
			b.Files = append(b.Files, f)
		}
	}
	rest := make([]string, 0, len(found))
	for t := range found {
		rest = append(rest, t)
	}
	sort.Strings(rest)
	for _, t := range rest {
		b.Warnings = append(b.Warnings, &Error{Batch: b.Name, File: found[t][0].Name, Err: errors.New("not listed in SRManifest.csv: not published")})
	}
	return errs
}

// Open returns a reader of f's bytes. For a zip entry the CRC-32 is
// checked when the reader reaches the end: a mismatch is returned by Read
// as an error wrapping zip.ErrChecksum.
func (b *Batch) Open(f *File) (io.ReadCloser, error) {
	if f.InZip {
		rc, err := f.zf.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s in %s: %w", f.Name, ZipName, err)
		}
		return rc, nil
	}
	rc, err := os.Open(filepath.Join(b.Dir, f.Name))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name, err)
	}
	return rc, nil
}

// Close releases the zip archive, if any.
func (b *Batch) Close() error {
	if b.zip == nil {
		return nil
	}
	err := b.zip.Close()
	b.zip = nil
	return err
}
