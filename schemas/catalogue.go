package schemas

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Type is the logical type of one column, which fixes both how a CSV cell is
// converted and which Avro type carries it.
type Type uint8

// The column types. Every field is nullable: an empty cell is null whatever
// the type.
const (
	// String is text, transcoded to UTF-8. Organisation ids (ODS codes),
	// codes and free text are strings.
	String Type = iota
	// Long is a signed 64-bit integer: RowIdentifier and the ID… foreign keys.
	Long
	// Double is a decimal number carried as an IEEE 754 double.
	Double
	// Boolean accepts TRUE/FALSE (any case) and 1/0.
	Boolean
	// DateTime is `dd MMM yyyy HH:mm:ss` UK wall-clock time of an instant
	// (when an event happened or was recorded), carried as
	// timestamp-millis (UTC).
	DateTime
	// DateTimeMinutes is `dd MMM yyyy HH:mm`; seconds are also accepted.
	// No catalogued column has it today (SRPatient.DateBirth is a
	// CalendarMinutes); it stays for the store format's type numbers.
	DateTimeMinutes
	// Calendar is a date-semantic column (a date of death, of
	// registration, a recall or medication date): `dd MMM yyyy HH:mm:ss`
	// whose calendar date is what the column means, the time usually
	// 00:00:00. It is carried as local-timestamp-millis, the UK wall-clock
	// date and time with no zone, so that its date is the UK calendar date
	// with no timezone arithmetic (schemas/README.md, "Dates").
	Calendar
	// CalendarMinutes is Calendar written `dd MMM yyyy HH:mm`
	// (SRPatient.DateBirth, whose time is the time of birth); seconds are
	// also accepted.
	CalendarMinutes
)

var typeNames = [...]string{"string", "long", "double", "boolean", "datetime", "datetime_minutes", "calendar", "calendar_minutes"}

// Temporal reports whether cells of the type are date-times.
func (t Type) Temporal() bool { return t >= DateTime && t <= CalendarMinutes }

// Minutes reports whether the type's cells may omit the seconds.
func (t Type) Minutes() bool { return t == DateTimeMinutes || t == CalendarMinutes }

// Local reports whether the type is carried as UK wall-clock time with no
// zone (a calendar date) rather than as a UTC instant.
func (t Type) Local() bool { return t == Calendar || t == CalendarMinutes }

// String returns the type's name as used in reports and schema docs.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// Scope says whose data a table holds.
type Scope uint8

const (
	// Organisation tables hold one row per organisation that can see the
	// record; they are keyed by IDOrganisationVisibleTo and RowIdentifier.
	Organisation Scope = iota
	// Shared tables are reference data common to every organisation in the
	// download (staff, organisations, lists, clinical code tables).
	Shared
)

// String returns "organisation" or "shared".
func (s Scope) String() string {
	if s == Shared {
		return "shared"
	}
	return "organisation"
}

// Column is one catalogued column.
type Column struct {
	Name string
	Type Type
	// Ref names the list table whose RowIdentifier this column holds
	// ("SRMapping" or "SRConfiguredListOption"), or is empty.
	Ref string
	// LabelOf names the list column whose id this field gives the text of
	// (WithLabels), or is empty.
	LabelOf string
}

// Table describes one SR table file (FileName in the manifest).
type Table struct {
	// Name is the manifest FileName, e.g. "SRPatient".
	Name string
	// Scope is organisation-scoped or shared.
	Scope Scope
	// Columns are the known columns in schema order, without RemovedData.
	Columns []Column
	// Key names the columns that identify a row, in key-record order.
	Key []string
	// Known is false for a table built from a header at run time because it
	// is not in the catalogue; all its columns are strings.
	Known bool
}

// Column returns the named column and whether the table has it.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// RemovedData is the optional last column that flags a deleted row.
const RemovedData = "RemovedData"

// RowIdentifier is the primary key column of nearly every SR table.
const RowIdentifier = "RowIdentifier"

// OrgColumn is the organisation whose view of the record a row is.
const OrgColumn = "IDOrganisationVisibleTo"

// sharedTables are treated as reference data common to every organisation,
// even where they carry IDOrganisationVisibleTo (sr-format §7.2).
var sharedTables = map[string]bool{
	"SROrganisation": true, "SRCcg": true, "SRTrust": true, "SRStaffMember": true,
	"SRStaffMemberProfile": true, "SRMapping": true, "SRConfiguredListOption": true,
	"SRCtv3ToVersion2": true, "SRMedicationReadCodeDetails": true, "SRImmunisationContent": true,
	"SRCtv3": true, "SRCtv3Hierarchy": true, "SRCtv3ToSnomed": true, "SROrganisationBranch": true,
	"SRTemplate": true, "SRQuestionnaire": true, "SRStaffMemberProfileRole": true, "SRStaff": true,
	"SRMappingGroup": true,
}

// naturalKeys replace RowIdentifier where it is unstable (sr-format §7.2).
var naturalKeys = map[string][]string{
	"SRCtv3":                      {"Ctv3Code"},
	"SRCtv3Hierarchy":             {"Ctv3CodeParent", "Ctv3CodeChild"},
	"SRCtv3ToSnomed":              {"Ctv3Code"},
	"SRMedicationReadCodeDetails": {"IDMultiLexProduct"},
}

// refs are the columns holding SRMapping / SRConfiguredListOption ids
// (sr-format §6.4).
var refs = map[string]string{
	"SRPatient.SpeaksEnglish":                        "SRMapping",
	"SRPatientAddressHistory.AddressType":            "SRMapping",
	"SRPatientContactDetails.ContactType":            "SRMapping",
	"SRCode.EpisodeType":                             "SRMapping",
	"SRProblem.Severity":                             "SRMapping",
	"SRImmunisation.Location":                        "SRMapping",
	"SRImmunisation.Method":                          "SRMapping",
	"SRImmunisation.VaccPart":                        "SRMapping",
	"SRRecall.RecallStatus":                          "SRMapping",
	"SRSpecialNotes.Type":                            "SRMapping",
	"SRAppointment.AppointmentStatus":                "SRMapping",
	"SRAppointmentFlags.Flag":                        "SRMapping",
	"SRVisit.CurrentStatus":                          "SRMapping",
	"SRVisit.FollowUpDetails":                        "SRMapping",
	"SRReferralOut.TypeOfReferral":                   "SRMapping",
	"SRReferralOut.RecipientIDType":                  "SRMapping",
	"SRReferralOut.ServiceOffered":                   "SRMapping",
	"SRReferralOut.Reason":                           "SRConfiguredListOption",
	"SRReferralOut.Urgency":                          "SRConfiguredListOption",
	"SRReferralOutStatusDetails.StatusOfReferralOut": "SRConfiguredListOption",
	"SREvent.ContactEventLocation":                   "SRConfiguredListOption",
	"SREvent.ContactMethod":                          "SRConfiguredListOption",
	"SRReferralInReferralReason.ReferralReason":      "SRConfiguredListOption",
}

// booleans are the columns written TRUE/FALSE: those Endeavour read with
// getBoolean, and flag columns of the same shape in the same tables.
var booleans = setOf("TestPatient", "SpineMatched", "IsRepeatMedication", "IsOtherMedication",
	"IsDentalMedication", "IsHospitalMedication", "IsNumeric", "EventIncomplete", "ClinicalEvent",
	"TelephoneAppointment", "MadeObsolete", "BranchObsolete", "ChildProtectionPlan", "ProtectionPlan",
	"IsSupervised", "AllowsOverbooking", "AllowOverBooking", "Obsolete", "BlockedSlot", "BookableCAndB",
	"FormulationSpecific", "PersonalGuardianOrProxy", "NextOfKin", "CaresForPatient",
	"PrincipalCarerForPatient", "KeyHolder", "HasParentalResponsibility", "FinancialRepresentative",
	"Advocate", "MainVisitor", "CallCentreCallBackConsent", "CopyCorrespondence", "InterpreterRequired",
	"PrimaryReferralReason")

// longs are integer columns whose names do not start with ID.
var longs = setOf(RowIdentifier, "OldRowIdentifier", "ChildLevel", "Position", "Duration",
	"Quantity", "EmbargoDuration", "MaxIssues", "CourseLengthPerIssue")

// stringIDs are ID-prefixed columns that are not integer row ids: ODS codes,
// national identifiers, and codes whose format no source pins down (a string
// loses nothing; a wrong integer type would dead-letter good rows).
var stringIDs = setOf("ID", "IDNational", "IDSmartCard", "IDPractice", "IDDrugCode",
	"IDReferralLocal", "IDCodePrimaryDiagnosis")

var datetimes = setOf("RecallStatusDate")

// calendars are the date-semantic columns (Calendar): those Endeavour's
// transformers read with CsvCell.getDate(), which keeps the calendar date
// only, and, with no transformer reading them, the columns whose names
// say they are dates like those (schemas/README.md, "Dates", lists each
// with its evidence). Every other date-time column is an instant.
var calendars = setOf("SRPatient.DateDeath",
	"SRPatientRegistration.DateRegistration", "SRPatientRegistration.DateDeRegistration",
	"SRRecall.DateRecall", "SRRecall.RecallStatusDate",
	"SRPrimaryCareMedication.DateMedicationStart", "SRPrimaryCareMedication.DateMedicationEnd",
	"SRRepeatTemplate.DateMedicationTemplateStart", "SRRepeatTemplate.DateMedicationTemplateEnd",
	"SRRepeatTemplate.DateMedicationTemplateReview",
	"SRDrugSensitivity.DateStarted", "SRDrugSensitivity.DateEnded",
	"SRImmunisation.DateExpiry", "SRImmunisationContent.DateDeleted",
	"SRPersonAtRisk.DateAdded", "SRPersonAtRisk.DateRemoved",
	"SRChildAtRisk.DateAdded", "SRChildAtRisk.DateRemoved", "SRReferralInReferralReason.DateRemoved",
	"SRPatientRelationship.DateEnded",
	"SRPatientAddressHistory.DateEvent", "SRPatientAddressHistory.DateTo",
	"SRProblem.DateEnd", "SRSpecialNotes.DateStart", "SRSpecialNotes.DateExpired",
	"SRStaffMemberProfile.DateEmploymentStart", "SRStaffMemberProfile.DateEmploymentEnd",
	"SRStaffMemberProfile.DateProfileCreated",
	"SRGPPracticeHistory.DateFrom", "SRGPPracticeHistory.DateTo")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// columnType applies the catalogue's typing rules to one column.
func columnType(table, col string) Type {
	switch {
	case table == "SRPatient" && col == "DateBirth", col == "RelationshipWithDateOfBirth":
		// Dates of birth: SRPatient's is written without seconds (the
		// time of birth); no source says how the relationship's is.
		return CalendarMinutes
	case calendars[table+"."+col]:
		return Calendar
	case col == "NumericValue":
		return Double
	case booleans[col]:
		return Boolean
	case longs[col]:
		return Long
	case refs[table+"."+col] != "":
		return Long
	case strings.HasPrefix(col, "IDOrganisation"), stringIDs[col]:
		return String
	case hasWordPrefix(col, "ID"), hasWordPrefix(col, "Id"):
		return Long
	case hasWordPrefix(col, "Date"), hasWordPrefix(col, "Dt"), datetimes[col]:
		return DateTime
	}
	return String
}

// hasWordPrefix reports whether s is prefix followed by an upper-case letter,
// so that "IDPatient" and "DateEvent" match but "Identifier" does not.
func hasWordPrefix(s, prefix string) bool {
	if len(s) <= len(prefix) || !strings.HasPrefix(s, prefix) {
		return false
	}
	c := s[len(prefix)]
	return c >= 'A' && c <= 'Z'
}

var catalogue = buildCatalogue()

func buildCatalogue() map[string]*Table {
	m := make(map[string]*Table, len(headers))
	for _, h := range headers {
		t := &Table{Name: h.table, Known: true, Scope: Organisation}
		names := strings.Split(h.columns, ",")
		for _, n := range names {
			t.Columns = append(t.Columns, Column{Name: n, Type: columnType(h.table, n), Ref: refs[h.table+"."+n]})
		}
		hasOrg := false
		for _, n := range names {
			hasOrg = hasOrg || n == OrgColumn
		}
		if sharedTables[h.table] || !hasOrg {
			t.Scope = Shared
		}
		switch {
		case naturalKeys[h.table] != nil:
			t.Key = naturalKeys[h.table]
		case t.Scope == Organisation:
			t.Key = []string{OrgColumn, RowIdentifier}
		default:
			t.Key = []string{RowIdentifier}
		}
		m[h.table] = t
	}
	return m
}

// Lookup returns the catalogued table with the given manifest FileName.
func Lookup(name string) (*Table, bool) {
	t, ok := catalogue[name]
	return t, ok
}

// Tables returns every catalogued table, sorted by name.
func Tables() []*Table {
	out := make([]*Table, 0, len(catalogue))
	for _, t := range catalogue {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RowHash is the key column sragent adds to a table whose file has no
// RowIdentifier (SRMappingGroup, lists the catalogue does not know): the
// hex SHA-256 (first 16 bytes) of the row's cells, RemovedData left out,
// so that each distinct row is one record and a deleted row (RemovedData
// 1, the same cells) deletes it.
const RowHash = "sragent_row_hash"

// Dynamic builds the description of a table that is not in the catalogue
// from its CSV header: every column is a string but RowIdentifier, a long
// as in every catalogued table; the key is RowIdentifier
// (with IDOrganisationVisibleTo first when the header has it), or RowHash
// when the header has no RowIdentifier.
func Dynamic(name string, header []string) *Table {
	t := &Table{Name: name, Scope: Shared}
	key := RowIdentifier
	if !slices.Contains(header, RowIdentifier) {
		key = RowHash
		if !slices.Contains(header, RowHash) {
			t.Columns = append(t.Columns, Column{Name: RowHash, Type: String})
		}
	}
	for _, h := range header {
		if h == RemovedData {
			continue
		}
		typ := String
		if h == RowIdentifier {
			typ = Long // a key keeps its catalogue type: the table may be catalogued later
		}
		t.Columns = append(t.Columns, Column{Name: h, Type: typ})
		if h == OrgColumn && !sharedTables[name] {
			t.Scope = Organisation
		}
	}
	if t.Scope == Organisation {
		t.Key = []string{OrgColumn, key}
	} else {
		t.Key = []string{key}
	}
	return t
}

// WithExtra returns a copy of t with extra string columns appended, as when a
// file of a known table carries columns the catalogue does not know.
func (t *Table) WithExtra(extra []string) *Table {
	if len(extra) == 0 {
		return t
	}
	c := *t
	c.Columns = append(append([]Column(nil), t.Columns...), make([]Column, 0, len(extra))...)
	for _, e := range extra {
		c.Columns = append(c.Columns, Column{Name: e, Type: String})
	}
	return &c
}
