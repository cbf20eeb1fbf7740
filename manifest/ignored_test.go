package manifest

import (
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
