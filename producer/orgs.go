package producer

import (
	"fmt"
	"sort"

	"github.com/sragent/sragent/schemas"
)

// maxOrgs bounds the organisations a file's structure pass collects.
var maxOrgs = 10_000

// absenceTable is the table whose full file says which organisations a
// group still holds: every organisation with patients has SRPatient rows,
// while a full file of another table (a re-bulk of SRChildAtRisk, say)
// may hold only some organisations.
const absenceTable = "SRPatient"

// orgChanges works out how a batch changes the organisations its group
// holds: known are those of the group's committed state. An organisation
// is new when a file of the batch holds rows of it that no earlier batch
// of the group held; it is absent when the batch has a full SRPatient file
// and that file does not hold it (a practice that left the reporting
// group, or whose data SystmOne no longer sends). It returns the group's
// organisations after the batch.
func orgChanges(w *work, known []string) (now []string) {
	seen, inFull := map[string]bool{}, map[string]bool{}
	anyFull, capped := false, false
	for _, fw := range w.files {
		if fw.table.Scope != schemas.Organisation {
			continue
		}
		capped = capped || fw.orgsCapped
		patients := fw.full && fw.table.Name == absenceTable
		for _, o := range fw.seen {
			seen[o] = true
			if patients {
				inFull[o] = true
			}
		}
		anyFull = anyFull || patients
	}
	w.orgsNew, w.orgsAbsent = nil, nil
	was := make(map[string]bool, len(known))
	for _, o := range known {
		was[o] = true
	}
	for o := range seen {
		if !was[o] {
			w.orgsNew = append(w.orgsNew, o)
		}
	}
	for _, o := range known {
		if anyFull && !capped && !inFull[o] {
			w.orgsAbsent = append(w.orgsAbsent, o)
			delete(seen, o)
			continue
		}
		seen[o] = true
	}
	for o := range seen {
		now = append(now, o)
	}
	sort.Strings(w.orgsNew)
	sort.Strings(now)
	for _, o := range w.orgsAbsent {
		w.res.problem(Problem{Severity: SeverityWarning, Reason: fmt.Sprintf("organisation %s held rows in the group's earlier batches "+
			"and is not in this batch's full SRPatient file: it left the reporting group, or SystmOne no longer sends its data", o)})
	}
	w.res.OrganisationsNew, w.res.OrganisationsAbsent = w.orgsNew, w.orgsAbsent
	return now
}
