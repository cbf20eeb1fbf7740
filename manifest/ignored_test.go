package manifest

import (
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Folders that are not batches are never read as batches or groups, and
// those that look like batches are reported, never silently skipped;
// table files and SRExtract.zip match in any case, as on Windows.
func TestSurveyReportsWhatItDoesNotRead(t *testing.T) {
	root := t.TempDir()
	good := map[string]string{FileName: manifestOf("SRPatient"), "srpatient.CSV": csvBody}
	writeBatch(t, filepath.Join(root, "g1", "20240102_1707"), good, nil)
	for _, dir := range []string{"Archived/g1/20240101_1707", "processed/20240101_1707", ".sync/20240101_1707", "g1/.hidden_20240101_1707"} {
		writeBatch(t, filepath.Join(root, filepath.FromSlash(dir)), good, nil)
	}
	for _, dir := range []string{"g1/20241301_2500", "g1/20240102_1707 (2)", "20240230_1707"} {
		writeBatch(t, filepath.Join(root, filepath.FromSlash(dir)), good, nil)
	}
	os.WriteFile(filepath.Join(root, "g1", FileName), []byte(manifestOf("SRPatient")), 0o644)
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("x"), 0o644)
	elsewhere := filepath.Join(t.TempDir(), "20240103_1707")
	writeBatch(t, elsewhere, good, nil)
	symlinks := runtime.GOOS != "windows" // creating one needs a privilege there
	if symlinks {
		if err := os.Symlink(elsewhere, filepath.Join(root, "g1", "20240103_1707")); err != nil {
			t.Fatal(err)
		}
	}
	ps, ignored, err := Survey(root, Options{}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Group != "g1" || ps[0].Name != "20240102_1707" || !ps[0].Ready {
		t.Fatalf("pending %+v", ps)
	}
	want := map[string]string{
		"Archived":             "not a reporting group",
		"processed":            "not a reporting group",
		"20240230_1707":        "not a yyyyMMdd_HHmm time",
		"g1/20241301_2500":     "not a yyyyMMdd_HHmm time",
		"g1/20240102_1707 (2)": "not a yyyyMMdd_HHmm time",
		"g1/" + FileName:       "directly in the group folder",
	}
	if symlinks {
		want["g1/20240103_1707"] = "symbolic link"
	}
	got := map[string]string{}
	for _, ig := range ignored {
		rel, _ := filepath.Rel(root, ig.Path)
		got[filepath.ToSlash(rel)] = ig.Why
	}
	for path, why := range want {
		if !strings.Contains(got[path], why) {
			t.Errorf("%s: %q, want %q", path, got[path], why)
		}
	}
	if len(got) != len(want) {
		t.Errorf("ignored %v, want only %v", got, want)
	}
	// The batch loads, its table file matched in another case, and a
	// zip named in another case is read.
	b, err := Load(ps[0].Dir, "g1", Options{})
	if err != nil || len(b.Files) != 1 || b.Files[0].Table != "SRPatient" {
		t.Fatalf("%v %+v", err, b)
	}
	b.Close()
	zipped := filepath.Join(root, "g2", "20240102_1707")
	writeBatch(t, zipped, map[string]string{FileName: manifestOf("SRPatient")}, map[string]string{"SRPATIENT.csv": csvBody})
	if err := os.Rename(filepath.Join(zipped, ZipName), filepath.Join(zipped, "srextract.ZIP")); err != nil {
		t.Fatal(err)
	}
	if p := Inspect(zipped, "g2", Options{}, 0, time.Now()); !p.Ready {
		t.Errorf("zip in another case: %s", p.Waiting)
	}
	b, err = Load(zipped, "g2", Options{})
	if err != nil || len(b.Files) != 1 || b.Files[0].Table != "SRPatient" || !b.Files[0].InZip {
		t.Fatalf("%v %+v", err, b)
	}
	b.Close()
}

// Files the manifest does not list never stop a batch: a table file it
// does not list, a stray file or folder, a zip entry that is no table
// file are warnings naming the file, and the listed files load.
func TestLoadWarnsOfUnlistedFiles(t *testing.T) {
	tests := []struct {
		name           string
		loose, zipped  map[string]string
		folder         string
		file, wantText string
	}{
		{name: "csv not in the manifest", loose: map[string]string{"SREvent.csv": csvBody}, file: "SREvent.csv", wantText: "not listed in SRManifest.csv"},
		{name: "csv in the zip not in the manifest", zipped: map[string]string{"SREvent.csv": csvBody}, file: "SREvent.csv", wantText: "not listed in SRManifest.csv"},
		{name: "stray file", loose: map[string]string{"notes.docx": "x"}, file: "notes.docx", wantText: "not a table file"},
		{name: "stray folder", folder: "old", file: "old", wantText: "a folder inside a batch folder"},
		{name: "zip entry not a csv", zipped: map[string]string{"readme.txt": "hi"}, file: ZipName, wantText: "entry readme.txt is not a CSV file"},
		{name: "zip entry in a folder", zipped: map[string]string{"x/SREvent.csv": csvBody}, file: ZipName, wantText: "inside a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "20240102_1707")
			loose := map[string]string{FileName: manifestOf("SRPatient"), "SRPatient.csv": csvBody}
			maps.Copy(loose, tt.loose)
			zipped := tt.zipped
			if zipped != nil {
				delete(loose, "SRPatient.csv")
				zipped = maps.Clone(zipped)
				zipped["SRPatient.csv"] = csvBody
			}
			writeBatch(t, dir, loose, zipped)
			if tt.folder != "" {
				os.Mkdir(filepath.Join(dir, tt.folder), 0o755)
			}
			b, err := Load(dir, "g", Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if len(b.Files) != 1 || b.Files[0].Table != "SRPatient" || len(b.Warnings) != 1 {
				t.Fatalf("files %v, warnings %v", b.Files, b.Warnings)
			}
			if w := b.Warnings[0]; w.Batch != "20240102_1707" || w.File != tt.file || !strings.Contains(w.Err.Error(), tt.wantText) {
				t.Errorf("warning %v, want %s: %q", w, tt.file, tt.wantText)
			}
		})
	}
}
