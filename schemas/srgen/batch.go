package srgen

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Writing batches to disk: the folder layout, the manifest, the optional
// zip, and single table files.

// Write generates every batch of every group under dir/<group>/<batch>.
func (g *Generator) Write(dir string) error {
	for _, gr := range g.groups {
		for b := 0; b < g.opt.Batches; b++ {
			if err := g.writeBatch(filepath.Join(dir, gr.name, g.BatchName(b)), gr, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileSpec is one table file of one batch.
type fileSpec struct {
	table   string
	full    bool
	undated bool
	removed bool // has a RemovedData column
	empty   bool // header only
}

func (g *Generator) plan(b int) []fileSpec {
	var out []fileSpec
	for _, t := range g.opt.Tables {
		fs := fileSpec{table: t, full: b == 0, removed: true}
		switch {
		case t == "SRAppointmentAttendees":
			fs.undated = true
		case t == "SRCode" && b == 2:
			fs.full = true // a re-bulk inside a delta batch
		case t == "SRStaffMemberProfile" && b > 0:
			fs.empty = true // nothing changed: header only
		}
		if fs.full && (t == "SRCtv3" || t == "SROrganisation") {
			fs.removed = false // RemovedData comes and goes
		}
		out = append(out, fs)
	}
	return out
}

func (g *Generator) writeBatch(dir string, gr *group, b int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	to := g.BatchName(b)
	from := ""
	if b > 0 {
		from = g.BatchName(b - 1)
	}
	var man strings.Builder
	man.WriteString("FileName,IsDelta,IsReference,DateExtractFrom,DateExtractTo\r\n")
	var zw *zip.Writer
	if g.opt.Zip {
		f, err := os.Create(filepath.Join(dir, "SRExtract.zip"))
		if err != nil {
			return fmt.Errorf("create zip: %w", err)
		}
		defer f.Close()
		zw = zip.NewWriter(f)
	}
	for _, fs := range g.plan(b) {
		switch {
		case fs.undated:
			fmt.Fprintf(&man, "%s,Y,N,,\r\n", fs.table)
		case fs.full:
			fmt.Fprintf(&man, "%s,N,N,,%s\r\n", fs.table, to)
		default:
			fmt.Fprintf(&man, "%s,Y,N,%s,%s\r\n", fs.table, from, to)
		}
		if err := g.writeFile(dir, zw, fs.table+".csv", func(w io.Writer) error { return g.table(w, gr, b, fs) }); err != nil {
			return err
		}
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("close zip: %w", err)
		}
	}
	for _, t := range []string{"SRMapping", "SRMappingGroup"} {
		fs := fileSpec{table: t, full: true}
		if err := g.writeFile(dir, nil, t+".csv", func(w io.Writer) error { return g.table(w, gr, b, fs) }); err != nil {
			return err
		}
	}
	// The manifest goes last: it marks the batch complete.
	return os.WriteFile(filepath.Join(dir, "SRManifest.csv"), []byte(man.String()), 0o644)
}

func (g *Generator) writeFile(dir string, zw *zip.Writer, name string, fill func(io.Writer) error) error {
	var w io.Writer
	var f *os.File
	if zw != nil {
		zf, err := zw.Create(name)
		if err != nil {
			return fmt.Errorf("add %s to zip: %w", name, err)
		}
		w = zf
	} else {
		var err error
		if f, err = os.Create(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	if err := fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if f != nil {
		return f.Close()
	}
	return nil
}

// WriteTable streams a full file of table with rows rows per organisation
// of the first group to w, as the first batch would hold it. Memory does
// not depend on rows.
func (g *Generator) WriteTable(w io.Writer, table string, rows int) error {
	gr := g.groups[0]
	gr.state[table] = &tableState{base: rows, next: rows, changed: map[int64]int{}}
	bw := bufio.NewWriterSize(w, 256<<10)
	if err := g.table(bw, gr, 0, fileSpec{table: table, full: true, removed: true}); err != nil {
		return err
	}
	return bw.Flush()
}
