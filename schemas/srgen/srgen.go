// Package srgen generates realistic synthetic SR extract batches from the
// table catalogue: deterministic for a seed, any size, streamed to disk.
//
// A chain starts with a full batch and continues with delta batches that
// insert, update and delete rows (RemovedData=1 with sparse columns). The
// third batch re-sends SRCode in full inside a delta batch, as TPP did. Files
// carry the quirks of real extracts: Windows-1252 text with £ and accents,
// quoted commas and line breaks, -1 ids, header-only files, files without
// RemovedData, the undated SRAppointmentAttendees manifest row, and the list
// files SRMapping / SRMappingGroup outside the manifest.
//
// Row content is a pure function of (seed, table, id, version), so the
// expected final state of every table is known without holding the rows:
// Generator.Expected replays it.
package srgen

import (
	"archive/zip"
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sragent/sragent/schemas"
)

// Options configures a generated data set.
type Options struct {
	// Seed makes the output reproducible.
	Seed uint64
	// Groups is the number of reporting groups (chains), Orgs the number of
	// organisations per group, Batches the batches per chain.
	Groups, Orgs, Batches int
	// Rows is the number of rows of the largest table (SRCode) in the full
	// batch, per organisation; other tables scale from it.
	Rows int
	// Tables limits the tables generated (nil: DefaultTables).
	Tables []string
	// Zip packs the table files into SRExtract.zip (the list files and the
	// manifest stay outside).
	Zip bool
	// UTF8 writes UTF-8 instead of Windows-1252.
	UTF8 bool
	// Start is the cut-off of the first batch (default 2024-03-29 17:07, so
	// that a chain of a few daily batches crosses the start of BST).
	Start time.Time
}

// DefaultTables are generated unless Options.Tables says otherwise.
var DefaultTables = []string{"SROrganisation", "SRStaffMemberProfile", "SRConfiguredListOption", "SRCtv3",
	"SRPatient", "SRPatientRegistration", "SREvent", "SRCode", "SRAppointment", "SRAppointmentAttendees"}

// extraTables are generated though the catalogue does not know them.
var extraTables = map[string]string{
	"SRAppointmentAttendees": "RowIdentifier,IDOrganisationVisibleTo,IDAppointment,IDPatient,AttendeeRole,RemovedData",
	"SRMappingGroup":         "RowIdentifier,MappingGroup",
}

// Generator writes one data set.
type Generator struct {
	opt    Options
	groups []*group
}

type group struct {
	name  string
	orgs  []string
	state map[string]*tableState // by table
}

// tableState is the current content of one table in one group: rows 0..base
// of every organisation at version 0, overridden by changed.
type tableState struct {
	base    int
	next    int           // next new row number
	changed map[int64]int // RowIdentifier → version; -1 = deleted
}

// New returns a Generator for opt, filling in defaults.
func New(opt Options) *Generator {
	if opt.Groups <= 0 {
		opt.Groups = 1
	}
	if opt.Orgs <= 0 {
		opt.Orgs = 2
	}
	if opt.Batches <= 0 {
		opt.Batches = 1
	}
	if opt.Rows <= 0 {
		opt.Rows = 100
	}
	if len(opt.Tables) == 0 {
		opt.Tables = DefaultTables
	}
	if opt.Start.IsZero() {
		opt.Start = time.Date(2024, 3, 29, 17, 7, 0, 0, time.UTC)
	}
	g := &Generator{opt: opt}
	for i := 0; i < opt.Groups; i++ {
		gr := &group{name: fmt.Sprintf("group%d", i+1), state: map[string]*tableState{}}
		for j := 0; j < opt.Orgs; j++ {
			gr.orgs = append(gr.orgs, fmt.Sprintf("%c%d%04d", 'A'+rune(i%26), 81+j%9, 1000+j))
		}
		g.groups = append(g.groups, gr)
	}
	return g
}

// Groups returns the names of the generated reporting groups.
func (g *Generator) Groups() []string {
	out := make([]string, len(g.groups))
	for i, gr := range g.groups {
		out[i] = gr.name
	}
	return out
}

// BatchName returns the folder name of batch i (0-based) of every chain.
func (g *Generator) BatchName(i int) string {
	return g.opt.Start.AddDate(0, 0, i).Format("20060102_1504")
}

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

// columns returns the header of a generated table file.
func columns(table string, removed bool) []string {
	if h, ok := extraTables[table]; ok {
		cols := strings.Split(h, ",")
		if !removed && cols[len(cols)-1] == schemas.RemovedData {
			cols = cols[:len(cols)-1]
		}
		return cols
	}
	t, _ := schemas.Lookup(table)
	cols := make([]string, 0, len(t.Columns)+1)
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
	}
	if removed && table != "SRMapping" {
		cols = append(cols, schemas.RemovedData)
	}
	return cols
}

// rowsFor scales Options.Rows to a table.
func (g *Generator) rowsFor(table string) int {
	n := g.opt.Rows
	switch table {
	case "SRCode":
	case "SREvent":
		n /= 2
	case "SRMapping", "SRMappingGroup", "SRConfiguredListOption", "SRCtv3", "SROrganisation", "SRStaffMemberProfile":
		return 20
	default:
		n /= 10
	}
	return max(n, 3)
}

func shared(table string) bool {
	if _, extra := extraTables[table]; extra {
		return table == "SRMappingGroup"
	}
	t, _ := schemas.Lookup(table)
	return t.Scope == schemas.Shared
}

func (gr *group) tableState(g *Generator, table string) *tableState {
	st := gr.state[table]
	if st == nil {
		n := g.rowsFor(table)
		st = &tableState{base: n, next: n, changed: map[int64]int{}}
		gr.state[table] = st
	}
	return st
}

// rowID is the RowIdentifier of row n of organisation o: unique per table.
func (g *Generator) rowID(n, o int) int64 { return 1_000_000 + int64(n)*int64(g.opt.Orgs) + int64(o) }

// table writes one table file of batch b.
func (g *Generator) table(w io.Writer, gr *group, b int, fs fileSpec) error {
	cols := columns(fs.table, fs.removed)
	cw := &csvWriter{w: w, utf8: g.opt.UTF8, quoteAll: gr.name == "group2"}
	cw.record(cols)
	st := gr.tableState(g, fs.table)
	orgs := gr.orgs
	if shared(fs.table) {
		orgs = orgs[:1]
	}
	emit := func(id int64, org string, version int, removed bool) {
		cw.record(g.row(fs.table, cols, org, id, version, removed, gr))
	}
	switch {
	case fs.empty:
	case fs.full:
		for n := 0; n < st.next; n++ {
			for o, org := range orgs {
				id := g.rowID(n, o)
				v, ok := st.changed[id]
				if ok && v < 0 {
					continue
				}
				if n >= st.base && !ok {
					continue
				}
				emit(id, org, v, false)
			}
		}
	default:
		rng := rand.New(rand.NewPCG(g.opt.Seed, hash(gr.name, fs.table, strconv.Itoa(b))))
		changes := max(st.base/20, 2)
		for i := 0; i < changes; i++ {
			o := rng.IntN(len(orgs))
			switch k := rng.IntN(10); {
			case k < 5: // insert
				id := g.rowID(st.next, o)
				st.next++
				st.changed[id] = 1
				emit(id, orgs[o], 1, false)
			case k < 8: // update
				id := g.rowID(rng.IntN(st.base), o)
				if st.changed[id] < 0 {
					continue
				}
				st.changed[id] = b + 1
				emit(id, orgs[o], b+1, false)
			default: // delete
				id := g.rowID(rng.IntN(st.base), o)
				if st.changed[id] < 0 {
					continue
				}
				st.changed[id] = -1
				emit(id, orgs[o], 0, true)
			}
		}
	}
	return cw.err
}

var (
	firstNames = []string{"Oliver", "Amelia", "Zoë", "Renée", "Siân", "Mohammed", "Chloé", "Noah", "Ffion", "José"}
	surnames   = []string{"Smith", "Jones", "O'Brien", "Brontë", "Nguyen", "Patel", "Müller", "Williams", "Ó Súilleabháin", "Taylor"}
	notes      = []string{"Seen with mother, \"anxious\"", "Paid £12.50 for report", "Review in 2 weeks,\r\nsooner if worse",
		"Café worker; résumé noted", "Dr Smith, locum", "BP 120/80 – normal"}
	regStatus = []string{"GMS", "GMS,Contraception", "Temporary Resident < 16 days", "Private"}
	// plain is the usual free text: ASCII, no delimiter, no quote.
	plain = []string{"Asthma annual review", "Blood pressure reading", "Influenza vaccination", "Type 2 diabetes mellitus",
		"Smoking cessation advice", "Body mass index", "Repeat prescription", "Telephone consultation", "Hypertension",
		"Serum cholesterol", "Medication review", "New patient check"}
	ctv3Codes = []string{"XaQVY", "X40J4", "Y1234", "246..", "XE0Uh", "22K..", "XaJv9", "xaIA1"}
)

// row renders one row; deleted rows are sparse, like TPP's.
func (g *Generator) row(table string, cols []string, org string, id int64, version int, removed bool, gr *group) []string {
	rng := rand.New(rand.NewPCG(g.opt.Seed^hash(table), uint64(id)<<8|uint64(version&0xff)))
	out := make([]string, len(cols))
	for i, c := range cols {
		switch {
		case c == schemas.RowIdentifier:
			out[i] = strconv.FormatInt(id, 10)
		case c == schemas.OrgColumn:
			out[i] = org
		case c == schemas.RemovedData:
			out[i] = map[bool]string{true: "1", false: "0"}[removed]
		case naturalKey(table, c):
			// Natural keys must be unique, like the codes they are.
			switch c {
			case "IDMultiLexProduct":
				out[i] = strconv.FormatInt(id, 10)
			case "Ctv3CodeParent": // a few parents, each with many children
				out[i] = "P" + strconv.FormatInt(id%7, 36)
			default:
				out[i] = "C" + strconv.FormatInt(id, 36)
			}
		case removed:
			// Deleted rows carry little more than their key.
		default:
			out[i] = g.cell(table, c, rng, gr)
		}
	}
	return out
}

func (g *Generator) cell(table, col string, rng *rand.Rand, gr *group) string {
	typ := schemas.String
	if t, ok := schemas.Lookup(table); ok {
		if c, ok := t.Column(col); ok {
			typ = c.Type
		}
	} else if strings.HasPrefix(col, "ID") {
		typ = schemas.Long
	}
	if rng.IntN(12) == 0 {
		return "" // empty cell: null
	}
	switch typ {
	case schemas.Long:
		if rng.IntN(10) == 0 {
			return "-1"
		}
		return strconv.FormatInt(1_000_000+rng.Int64N(40_000_000_000), 10)
	case schemas.Boolean:
		return [...]string{"TRUE", "FALSE"}[rng.IntN(2)]
	case schemas.Double:
		return strconv.FormatFloat(float64(rng.IntN(2000))/10, 'f', -1, 64)
	case schemas.DateTime, schemas.DateTimeMinutes:
		t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(24*365*24)) * time.Hour).
			Add(time.Duration(rng.IntN(3600)) * time.Second)
		if typ == schemas.DateTimeMinutes {
			return t.Format("02 Jan 2006 15:04")
		}
		return t.Format("02 Jan 2006 15:04:05")
	}
	switch {
	case strings.HasPrefix(col, "IDOrganisation"):
		return gr.orgs[rng.IntN(len(gr.orgs))]
	case col == "FirstName" || col == "StaffName" || col == "Name":
		return firstNames[rng.IntN(len(firstNames))]
	case col == "Surname" || col == "PreviousSurname":
		return surnames[rng.IntN(len(surnames))]
	case col == "RegistrationStatus":
		return regStatus[rng.IntN(len(regStatus))]
	case strings.Contains(col, "Ctv3Code") || col == "CTV3Code" || col == "ImmsReadCode" || col == "DrugReadCode":
		return ctv3Codes[rng.IntN(len(ctv3Codes))] // five characters, case-sensitive
	case strings.Contains(strings.ToUpper(col), "SNOMEDCODE") || col == "SNOMEDPrimaryDiagnosis":
		if rng.IntN(10) == 0 {
			return "-1"
		}
		return strconv.FormatInt(100000+rng.Int64N(999_999_999_999), 10)
	case col == "NumericComparator":
		if rng.IntN(10) != 0 {
			return ""
		}
		return [...]string{"<", "<=", ">", ">="}[rng.IntN(4)]
	case col == "NumericUnit":
		return [...]string{"kg", "cm", "mmol/L", "%", "mmHg", "kg/m2"}[rng.IntN(6)]
	case col == "NHSNumber":
		return strconv.Itoa(400_000_0000 + rng.IntN(99_999_999))
	case col == "Gender":
		return [...]string{"M", "F", "I", "U"}[rng.IntN(4)]
	}
	if rng.IntN(8) == 0 {
		return notes[rng.IntN(len(notes))] // quotes, commas, line breaks, £ and accents
	}
	return plain[rng.IntN(len(plain))]
}

func naturalKey(table, col string) bool {
	t, ok := schemas.Lookup(table)
	if !ok || col == schemas.RowIdentifier || col == schemas.OrgColumn {
		return false
	}
	for _, k := range t.Key {
		if k == col {
			return true
		}
	}
	return false
}

func hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// Expected returns the final state of table in group after every batch:
// RowIdentifier → the row's cells by column name (without RemovedData),
// as a consumer that applies every event in order must end up with.
// Only meaningful for small data sets: it holds every row.
func (g *Generator) Expected(groupName, table string) map[int64]map[string]string {
	var gr *group
	for _, x := range g.groups {
		if x.name == groupName {
			gr = x
		}
	}
	if gr == nil {
		return nil
	}
	st := gr.tableState(g, table)
	cols := columns(table, false)
	orgs := gr.orgs
	if shared(table) {
		orgs = orgs[:1]
	}
	out := map[int64]map[string]string{}
	for n := 0; n < st.next; n++ {
		for o, org := range orgs {
			id := g.rowID(n, o)
			v, ok := st.changed[id]
			if (ok && v < 0) || (n >= st.base && !ok) {
				continue
			}
			vals := g.row(table, cols, org, id, v, false, gr)
			m := make(map[string]string, len(cols))
			for i, c := range cols {
				m[c] = vals[i]
			}
			out[id] = m
		}
	}
	return out
}

// Tables returns the table names generated in every batch, list files
// included, sorted.
func (g *Generator) Tables() []string {
	out := append([]string{"SRMapping", "SRMappingGroup"}, g.opt.Tables...)
	sort.Strings(out)
	return out
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
