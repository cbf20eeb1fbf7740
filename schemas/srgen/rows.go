package srgen

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/sragent/sragent/schemas"
)

// Row content: a pure function of (seed, table, id, version).

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
	typ, ref := schemas.String, ""
	if t, ok := schemas.Lookup(table); ok {
		if c, ok := t.Column(col); ok {
			typ, ref = c.Type, c.Ref
		}
	} else if strings.HasPrefix(col, "ID") {
		typ = schemas.Long
	}
	if rng.IntN(12) == 0 {
		return "" // empty cell: null
	}
	if ref != "" {
		// The id of a row of the list, now and then of one the list does
		// not have (a list's first rows, the ones every batch holds, are
		// rowID(n, 0) for n below its size).
		return strconv.FormatInt(g.rowID(rng.IntN(g.rowsFor(ref)+2), 0), 10)
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
	case schemas.DateTime, schemas.DateTimeMinutes, schemas.Calendar, schemas.CalendarMinutes:
		t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(24*365*24)) * time.Hour).
			Add(time.Duration(rng.IntN(3600)) * time.Second)
		switch {
		case typ == schemas.Calendar:
			return t.Format("02 Jan 2006 00:00:00") // a date: TPP writes midnight
		case typ.Minutes():
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
