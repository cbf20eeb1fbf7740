package srgen

import (
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/sragent/sragent/schemas"
)

// Table state: which rows each table holds, batch by batch, and the
// expected final state it implies.

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

// view is the group whose content gr's file of table holds: a shared
// table is the same reference data in every group (SystmOne's staff and
// organisations do not depend on the extract), so every group writes the
// first group's, with its own copy of the state.
func (g *Generator) view(gr *group, table string) *group {
	if !shared(table) {
		return gr
	}
	return &group{name: "shared", orgs: g.groups[0].orgs, state: gr.state}
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
	gr = g.view(gr, fs.table)
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
	gr = g.view(gr, table)
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
