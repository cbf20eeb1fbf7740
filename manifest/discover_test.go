package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	full := map[string]string{FileName: manifestOf("SRPatient"), "SRPatient.csv": csvBody}
	writeBatch(t, filepath.Join(root, "20240103_1707"), full, nil)
	writeBatch(t, filepath.Join(root, "20240102_1707"), full, nil)
	writeBatch(t, filepath.Join(root, "groupB", "20240102_1707"), full, nil)
	writeBatch(t, filepath.Join(root, "groupA", "20240105_1707"), map[string]string{"SRPatient.csv": csvBody}, nil)
	writeBatch(t, filepath.Join(root, "groupA", "20240104_1707"), map[string]string{FileName: manifestOf("SRPatient", "SRCode"), "SRPatient.csv": csvBody}, nil)
	writeBatch(t, filepath.Join(root, "groupA", "notabatch"), full, nil)
	os.WriteFile(filepath.Join(root, "stray.txt"), nil, 0o644)

	ps, err := Discover(root, Options{}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Group+"/"+p.Name+":"+p.Waiting)
	}
	want := []string{
		"default/20240102_1707:",
		"default/20240103_1707:",
		"groupA/20240104_1707:SRCode.csv is listed in SRManifest.csv but not present yet",
		"groupA/20240105_1707:no SRManifest.csv yet",
		"groupB/20240102_1707:",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Within the settle time nothing is ready.
	ps, _ = Discover(root, Options{}, time.Hour, time.Now())
	if ps[0].Ready || !strings.Contains(ps[0].Waiting, "waiting until nothing changed for 1h0m0s") {
		t.Errorf("settling batch: %+v", ps[0])
	}
}

// Readiness reads the manifest in the configured dialect: a tab-delimited
// batch waits for the files it lists.
func TestDiscoverHonoursTheDialect(t *testing.T) {
	tests := []struct {
		name     string
		opt      Options
		manifest string
	}{
		{"tab", Options{Delimiter: '\t', Quote: '"'}, strings.ReplaceAll(manifestOf("SRPatient", "SRCode"), ",", "\t")},
		{"semicolon, single quote", Options{Delimiter: ';', Quote: '\''},
			"'FileName';IsDelta;IsReference;DateExtractFrom;DateExtractTo\r\n'SRPatient';N;N;;20240102_1707\r\n'SRCode';'N';N;;'20240102_1707'\r\n"},
		{"pipe, no quoting", Options{Delimiter: '|'}, strings.ReplaceAll(manifestOf("SRPatient", "SRCode"), ",", "|")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "g", "20240102_1707")
			writeBatch(t, dir, map[string]string{FileName: tt.manifest, "SRPatient.csv": csvBody}, nil)
			ps, err := Discover(root, tt.opt, 0, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 || ps[0].Ready || ps[0].Waiting != "SRCode.csv is listed in SRManifest.csv but not present yet" {
				t.Fatalf("with SRCode.csv missing: %+v", ps)
			}
			if ps[0].To.String() != "20240102_1707" || !ps[0].CutOff.Equal(time.Date(2024, 1, 2, 17, 7, 0, 0, time.UTC)) {
				t.Errorf("cut-off %s %s", ps[0].To, ps[0].CutOff)
			}
			writeBatch(t, dir, map[string]string{"SRCode.csv": csvBody}, nil)
			ps, err = Discover(root, tt.opt, 0, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 || !ps[0].Ready || ps[0].Waiting != "" {
				t.Fatalf("with every file present: %+v", ps)
			}
			b, err := Load(dir, "g", tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
			if len(b.Files) != 2 || b.Files[1].Name != "SRCode.csv" {
				t.Errorf("loaded files %+v", b.Files)
			}
		})
	}
	if _, err := Discover(t.TempDir(), Options{Delimiter: ',', Quote: ','}, 0, time.Now()); err == nil {
		t.Error("Discover with delimiter and quote the same: want an error")
	}
}

// Discover orders each group's batches as a chain by cut-off instant, so
// sub-daily deltas across the autumn change come out in the order they
// were cut, whatever their folder names.
func TestDiscoverOrdersByCutOff(t *testing.T) {
	type batch struct{ folder, from, to string } // from "" for full files; to "-" for no manifest
	tests := []struct {
		name    string
		batches []batch
		want    []string
	}{
		{"autumn change", []batch{
			{"20241027_0030", "20241027_0000", "20241027_0030"},
			{"20241027_0130", "20241027_0030", "20241027_0130"}, // 01:30 BST, 00:30Z
			{"20241027_0115", "20241027_0130", "20241027_0115"}, // 01:15 GMT, 01:15Z
		}, []string{"20241027_0030", "20241027_0130", "20241027_0115"}},
		{"autumn change, then a link", []batch{
			{"20241027_0030", "20241027_0000", "20241027_0030"},
			{"20241027_0130", "20241027_0030", "20241027_0130"},
			{"20241027_0115", "20241027_0130", "20241027_0115"},
			{"20241027_0150", "20241027_0115", "20241027_0150"}, // 01:50 GMT, read alone as 00:50Z
			{"20241027_0230", "20241027_0150", "20241027_0230"},
		}, []string{"20241027_0030", "20241027_0130", "20241027_0115", "20241027_0150", "20241027_0230"}},
		{"daily", []batch{
			{"20240104_0600", "20240103_1707", "20240104_1707"},
			{"20240101_0600", "", "20240101_1707"},
			{"20240103_0600", "20240102_1707", "20240103_1707"},
			{"20240102_0600", "20240101_1707", "20240102_1707"},
		}, []string{"20240101_0600", "20240102_0600", "20240103_0600", "20240104_0600"}},
		{"daily with a gap and a re-bulk", []batch{
			{"20240101_0600", "", "20240101_1707"},
			{"20240102_0600", "20240101_1707", "20240102_1707"},
			{"20240104_0600", "20240103_1707", "20240104_1707"},
			{"20240105_0600", "", "20240105_1707"},
		}, []string{"20240101_0600", "20240102_0600", "20240104_0600", "20240105_0600"}},
		{"same cut-off: folder order", []batch{
			{"20240103_0600", "", "20240102_1707"},
			{"20240102_0600", "", "20240102_1707"},
		}, []string{"20240102_0600", "20240103_0600"}},
		{"a re-sent batch in a later folder", []batch{
			{"20240103_0600", "20240102_1707", "20240103_1707"},
			{"20240110_0900", "20240101_1707", "20240102_1707"},
		}, []string{"20240110_0900", "20240103_0600"}},
		{"no manifest keeps its place", []batch{
			{"20241027_0030", "20241027_0000", "20241027_0030"},
			{"20241027_0115", "20241027_0130", "20241027_0115"},
			{"20241027_0120", "", "-"},
			{"20241027_0130", "20241027_0030", "20241027_0130"},
		}, []string{"20241027_0030", "20241027_0130", "20241027_0120", "20241027_0115"}},
		{"spring change", []batch{
			{"20240331_0030", "20240331_0000", "20240331_0030"},
			{"20240331_0230", "20240331_0030", "20240331_0230"},
			{"20240331_0300", "20240331_0230", "20240331_0300"},
		}, []string{"20240331_0030", "20240331_0230", "20240331_0300"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, b := range tt.batches {
				files := map[string]string{"SRPatient.csv": csvBody}
				switch {
				case b.to == "-":
				case b.from == "":
					files[FileName] = hdr + "SRPatient,N,N,," + b.to + "\r\n"
				default:
					files[FileName] = hdr + "SRPatient,Y,N," + b.from + "," + b.to + "\r\n"
				}
				writeBatch(t, filepath.Join(root, "group1", b.folder), files, nil)
				writeBatch(t, filepath.Join(root, "group0", b.folder), files, nil)
			}
			ps, err := Discover(root, Options{}, 0, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Group+"/"+p.Name)
			}
			var want []string
			for _, g := range []string{"group0", "group1"} {
				for _, w := range tt.want {
					want = append(want, g+"/"+w)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
			}
			for _, p := range ps {
				if p.To.IsZero() != p.CutOff.IsZero() || (p.Waiting != "") != p.To.IsZero() {
					t.Errorf("%s: To %s CutOff %s waiting %q", p.Name, p.To, p.CutOff, p.Waiting)
				}
			}
		})
	}
}

// The autumn batches parse, and the last one's cut-off is 01:15 GMT.
func TestAutumnBatchesLoad(t *testing.T) {
	root := t.TempDir()
	for _, b := range [][3]string{
		{"20241027_0030", "20241027_0000", "20241027_0030"},
		{"20241027_0130", "20241027_0030", "20241027_0130"},
		{"20241027_0115", "20241027_0130", "20241027_0115"},
	} {
		writeBatch(t, filepath.Join(root, "g", b[0]), map[string]string{
			FileName:        hdr + "SRPatient,Y,N," + b[1] + "," + b[2] + "\r\nSRCode,N,N,," + b[2] + "\r\n",
			"SRPatient.csv": csvBody, "SRCode.csv": csvBody}, nil)
	}
	ps, err := Discover(root, Options{}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2024-10-26T23:30:00Z", "2024-10-27T00:30:00Z", "2024-10-27T01:15:00Z"}
	for i, p := range ps {
		b, err := Load(p.Dir, p.Group, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if got := b.Manifest.CutOffTime().UTC().Format(time.RFC3339); got != want[i] || !p.CutOff.Equal(b.Manifest.CutOffTime()) {
			t.Errorf("%s: CutOffTime %s (pending %s), want %s", p.Name, got, p.CutOff.UTC(), want[i])
		}
	}
}

// A group folder that cannot be read stops only that group.
func TestDiscoverUnreadableGroup(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("running as root: permissions do not stop reads; checking with a file where the group folder should be a folder is not the same case")
	}
	root := t.TempDir()
	for _, g := range []string{"g1", "g2"} {
		dir := filepath.Join(root, g, "20240101_1707")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, FileName), []byte("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n"), 0o644)
	}
	if err := os.Chmod(filepath.Join(root, "g1"), 0o000); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(root, "g1"), 0o755)
	ps, err := Discover(root, DefaultOptions(), 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var g1, g2 int
	for _, p := range ps {
		switch p.Group {
		case "g1":
			g1++
			if os.Geteuid() != 0 && (p.Ready || p.Name != UnreadableGroup || !strings.Contains(p.Waiting, "cannot read the group folder")) {
				t.Errorf("g1: %+v", p)
			}
		case "g2":
			g2++
		}
	}
	if g1 != 1 || g2 != 1 {
		t.Errorf("g1 %d, g2 %d pending: %+v", g1, g2, ps)
	}
}
