package manifest

import (
	"archive/zip"
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBatch creates dir with the given files; names ending in "/" inside
// a "SRExtract.zip" entry list are zip entries.
func writeBatch(t *testing.T, dir string, loose map[string]string, zipped map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range loose {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if zipped != nil {
		if err := os.WriteFile(filepath.Join(dir, ZipName), zipBytes(t, zipped), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func zipBytes(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const csvBody = "RowIdentifier,IDOrganisationVisibleTo\r\n1,A81001\r\n"

func manifestOf(tables ...string) string {
	s := hdr
	for _, t := range tables {
		s += t + ",N,N,,20240102_1707\r\n"
	}
	return s
}

func TestLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20240102_1707")
	writeBatch(t, dir,
		map[string]string{FileName: manifestOf("SRPatient", "SRCode"), "SRMapping.csv": "RowIdentifier,IdMappingGroup,Mapping\r\n", "Thumbs.db": "x"},
		map[string]string{"SRPatient.csv": csvBody, "SRCode.csv": csvBody})
	b, err := Load(dir, "g1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var names []string
	for _, f := range b.Files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "SRMapping.csv,SRPatient.csv,SRCode.csv" {
		t.Fatalf("files %s", got)
	}
	if b.Files[0].Listed || b.Files[0].InZip || !b.Files[1].InZip || !b.Files[1].Listed || b.Group != "g1" || b.Stamp.String() != "20240102_1707" {
		t.Errorf("batch %+v files %+v %+v", b, b.Files[0], b.Files[1])
	}
	rc, err := b.Open(b.Files[2])
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(body) != csvBody {
		t.Errorf("read %q, %v", body, err)
	}
}

func TestLoadStructuralErrors(t *testing.T) {
	good := map[string]string{"SRPatient.csv": csvBody}
	truncated := zipBytes(t, map[string]string{"SRPatient.csv": csvBody})
	truncated = truncated[:len(truncated)/2]
	tests := []struct {
		name           string
		loose, zipped  map[string]string
		rawZip         []byte
		file, wantText string
	}{
		{name: "missing manifest", loose: good, file: FileName, wantText: "no SRManifest.csv"},
		{name: "bad manifest", loose: map[string]string{FileName: hdr + "SRPatient,X,N,,20240102_1707\r\n", "SRPatient.csv": csvBody}, file: FileName, wantText: "not Y or N"},
		{name: "listed file absent", loose: map[string]string{FileName: manifestOf("SRPatient", "SRCode"), "SRPatient.csv": csvBody},
			file: "SRCode.csv", wantText: "listed in SRManifest.csv line 3 but missing"},
		{name: "corrupt zip", loose: map[string]string{FileName: manifestOf("SRPatient")}, rawZip: []byte("PK\x03\x04 this is not a zip"),
			file: ZipName, wantText: "corrupt or truncated zip"},
		{name: "truncated zip", loose: map[string]string{FileName: manifestOf("SRPatient")}, rawZip: truncated,
			file: ZipName, wantText: "corrupt or truncated zip"},
		{name: "listed file only in a folder of the zip", loose: map[string]string{FileName: manifestOf("SRPatient")},
			zipped: map[string]string{"x/SRPatient.csv": csvBody}, file: "SRPatient.csv", wantText: "listed in SRManifest.csv line 2 but missing"},
		{name: "loose and zipped", loose: map[string]string{FileName: manifestOf("SRPatient"), "SRPatient.csv": csvBody},
			zipped: map[string]string{"SRPatient.csv": csvBody}, file: "SRPatient.csv", wantText: "both loose and inside SRExtract.zip"},
		{name: "split zip", loose: map[string]string{FileName: manifestOf("SRPatient"), "SRPatient.csv": csvBody, "SRExtract.z01": "x"},
			file: "SRExtract.z01", wantText: "split zip archives are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "20240102_1707")
			writeBatch(t, dir, tt.loose, tt.zipped)
			if tt.rawZip != nil {
				os.WriteFile(filepath.Join(dir, ZipName), tt.rawZip, 0o644)
			}
			_, err := Load(dir, "g", Options{})
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("got %v, want an ErrorList", err)
			}
			for _, e := range list {
				if e.Batch == "20240102_1707" && e.File == tt.file && strings.Contains(e.Err.Error(), tt.wantText) {
					return
				}
			}
			t.Errorf("got %v, want %s: %q", err, tt.file, tt.wantText)
		})
	}
}

// A zip entry whose bytes do not match its CRC-32 fails when read to the end.
func TestOpenChecksMismatchedCRC(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20240102_1707")
	raw := zipBytes(t, map[string]string{"SRPatient.csv": csvBody})
	i := bytes.Index(raw, []byte("A81001"))
	raw[i] = 'B' // stored entry: flip a data byte, the CRC no longer matches
	writeBatch(t, dir, map[string]string{FileName: manifestOf("SRPatient")}, nil)
	os.WriteFile(filepath.Join(dir, ZipName), raw, 0o644)
	b, err := Load(dir, "g", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rc, err := b.Open(b.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	if !errors.Is(err, zip.ErrChecksum) {
		t.Fatalf("got %v, want zip.ErrChecksum (crc of good data %08x)", err, crc32.ChecksumIEEE([]byte(csvBody)))
	}
}
