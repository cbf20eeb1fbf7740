package srgen

import (
	"fmt"
	"sort"
	"time"
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

// Tables returns the table names generated in every batch, list files
// included, sorted.
func (g *Generator) Tables() []string {
	out := append([]string{"SRMapping", "SRMappingGroup"}, g.opt.Tables...)
	sort.Strings(out)
	return out
}
