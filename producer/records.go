package producer

import (
	"context"
	"fmt"
	"sort"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/schemas"
)

// MarkerHeader names the header carried by snapshot markers; its value is
// codec.MarkerBegin or codec.MarkerEnd.
const MarkerHeader = "sr.marker"

// Schemas of the batches topic (BEGIN/END per batch, like Debezium's
// transaction topic) and the dead-letter topic.
const (
	batchKeySchema = `{"type":"record","name":"BatchKey","namespace":"sragent","fields":[
		{"name":"group","type":"string"},{"name":"batch","type":"string"}]}`
	batchValueSchema = `{"type":"record","name":"BatchEvent","namespace":"sragent",
		"doc":"BEGIN before the first event of a batch, END after its last, in the same transactions.",
		"fields":[
		{"name":"status","type":"string","doc":"BEGIN or END"},
		{"name":"group","type":"string"},
		{"name":"batch","type":"string"},
		{"name":"manifest_sha256","type":"string"},
		{"name":"cut_off","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null},
		{"name":"ts_ms","type":"long"},
		{"name":"event_count","type":["null","long"],"default":null,"doc":"END: events published, markers and tombstones excluded"},
		{"name":"organisations_new","type":["null",{"type":"array","items":"string"}],"default":null,
			"doc":"END: organisations (IDOrganisationVisibleTo) the batch holds rows of that no earlier batch of the group did"},
		{"name":"organisations_absent","type":["null",{"type":"array","items":"string"}],"default":null,
			"doc":"END: organisations earlier batches of the group held that none of the batch's organisation-scoped full files holds"},
		{"name":"data_collections","type":{"type":"array","items":{"type":"record","name":"DataCollection","fields":[
			{"name":"data_collection","type":"string","doc":"topic"},
			{"name":"event_count","type":"long"},
			{"name":"deletes","type":"long"},
			{"name":"dead_letters","type":"long"},
			{"name":"unchanged","type":"long","default":0,"doc":"rows not published: the same image as the one last published for their key"},
			{"name":"vanished","type":"long","default":0,"doc":"keys known for a full file's scope that it no longer held"},
			{"name":"vanished_deleted","type":"long","default":0,"doc":"vanished keys deleted (reconcile delete mode), also in event_count and deletes"}]}},"default":[]}]}`
	deadKeySchema = `{"type":"record","name":"DeadLetterKey","namespace":"sragent","fields":[
		{"name":"group","type":"string"},{"name":"batch","type":"string"},
		{"name":"file","type":"string"},{"name":"line","type":"long"}]}`
	deadValueSchema = `{"type":"record","name":"DeadLetter","namespace":"sragent",
		"doc":"A row that did not convert; the rest of its batch was published.",
		"fields":[
		{"name":"group","type":"string"},
		{"name":"batch","type":"string"},
		{"name":"table","type":"string"},
		{"name":"file","type":"string"},
		{"name":"line","type":"long","doc":"line where the row starts"},
		{"name":"column","type":["null","string"],"default":null},
		{"name":"reason","type":"string"},
		{"name":"fields","type":["null",{"type":"array","items":"string"}],"default":null,
			"doc":"the row's cells as decoded text, when the row could be split into cells; dropped once a replay resolved the row"},
		{"name":"ts_ms","type":"long"},
		{"name":"header","type":["null",{"type":"array","items":"string"}],"default":null,
			"doc":"the file's header (column names), with which a replay converts the cells again"},
		{"name":"extract_from","type":["null","long"],"default":null,"doc":"the row's source.extract_from"},
		{"name":"extract_to","type":["null","long"],"default":null,"doc":"the row's source.extract_to"},
		{"name":"cut_off","type":["null","long"],"default":null,"doc":"the row's source.ts_ms: its batch's cut-off"},
		{"name":"replay","type":["null",{"type":"record","name":"Replay","fields":[
			{"name":"outcome","type":"string","doc":"replayed: converted and published; superseded: a later event of its key was published, so it was not"},
			{"name":"ts_ms","type":"long","doc":"when the replay resolved it"},
			{"name":"detail","type":"string"}]}],"default":null,
			"doc":"set once sragent deadletter replay resolved the row (a resolved dead letter is never replayed again)"}]}`
)

// fixedCodec is one registered schema and its codec.
type fixedCodec struct {
	codec codec.AvroCodec
	id    int
}

func (p *Publisher) registerFixed(ctx context.Context, subject, schema string) (fixedCodec, error) {
	c, err := codec.NewAvroCodec(schema)
	if err != nil {
		return fixedCodec{}, fmt.Errorf("schema of %s: %w", subject, err)
	}
	id, err := p.register(ctx, subject, schema)
	if err != nil {
		return fixedCodec{}, err
	}
	return fixedCodec{codec: c, id: id}, nil
}

func (f fixedCodec) encode(datum any) ([]byte, error) {
	return f.codec.Append(frame(nil, f.id), datum)
}

// batchEvent builds a BEGIN or END record of the batches topic.
func (p *Publisher) batchEvent(status string, w *work, counts map[string]*TableCount) (*kgo.Record, error) {
	key, err := p.batchKey.encode(map[string]any{"group": w.batch.Group, "batch": w.batch.Name})
	if err != nil {
		return nil, fmt.Errorf("encode batch key: %w", err)
	}
	v := map[string]any{"status": status, "group": w.batch.Group, "batch": w.batch.Name,
		"manifest_sha256": w.batch.ManifestSHA256, "cut_off": nil, "ts_ms": p.now().UnixMilli(),
		"event_count": nil, "organisations_new": nil, "organisations_absent": nil, "data_collections": []any{}}
	if !w.cutOff.IsZero() {
		v["cut_off"] = goavro.Union("long.timestamp-millis", w.cutOff.UnixMilli())
	}
	if status == "END" {
		var total int64
		var cols []any
		for _, f := range w.batch.Files {
			c := counts[f.Table]
			if c == nil {
				continue
			}
			total += c.Events
			cols = append(cols, map[string]any{"data_collection": p.cfg.TopicFor(f.Table),
				"event_count": c.Events, "deletes": c.Deletes, "dead_letters": c.DeadLetters, "unchanged": c.Unchanged,
				"vanished": c.Vanished, "vanished_deleted": c.VanishedDeleted})
		}
		v["event_count"] = goavro.Union("long", total)
		for name, orgs := range map[string][]string{"organisations_new": w.orgsNew, "organisations_absent": w.orgsAbsent} {
			if orgs != nil {
				v[name] = goavro.Union("array", stringsAny(orgs))
			}
		}
		if cols != nil {
			v["data_collections"] = cols
		}
	}
	val, err := p.batchValue.encode(v)
	if err != nil {
		return nil, fmt.Errorf("encode batch event: %w", err)
	}
	return &kgo.Record{Topic: p.cfg.BatchesTopic(), Key: key, Value: val}, nil
}

// deadLetter produces the dead-letter record of a row that did not
// convert or was too large for its topic, and counts it. The row's cells
// are left out when they would make the dead letter too large as well.
func (p *Publisher) deadLetter(ctx context.Context, t *txn, w *work, f *fileWork, count *TableCount, re *codec.RowError, fields [][]byte) error {
	b := w.batch
	key, err := p.deadKey.encode(map[string]any{"group": b.Group, "batch": b.Name, "file": f.file.Name, "line": re.Line})
	if err != nil {
		return fmt.Errorf("encode dead-letter key: %w", err)
	}
	v := map[string]any{"group": b.Group, "batch": b.Name, "table": f.file.Table, "file": f.file.Name,
		"line": re.Line, "column": nil, "reason": re.Err.Error(), "fields": nil, "ts_ms": p.now().UnixMilli(),
		"header": goavro.Union("array", stringsAny(f.header)), "extract_from": optLong(f.src.ExtractFrom),
		"extract_to": optLong(f.src.ExtractTo), "cut_off": optLong(f.src.CutOff), "replay": nil}
	if re.Column != "" {
		v["column"] = goavro.Union("string", re.Column)
	}
	size := 0 // the cells' encoded size: each a length prefix (at most 5 bytes) and its bytes
	for _, c := range fields {
		size += len(c) + 5
	}
	// 4 KiB leaves room for the other fields (names, reason, column).
	if fields != nil && len(key)+size < p.topics.maxRecord(p.cfg.DeadLetterTopic())-4096 {
		cells := make([]any, len(fields))
		for i, c := range fields {
			cells[i] = string(c)
		}
		v["fields"] = goavro.Union("array", cells)
	}
	val, err := p.deadValue.encode(v)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	t.produce(ctx, &kgo.Record{Topic: p.cfg.DeadLetterTopic(), Key: key, Value: val})
	count.DeadLetters++
	w.res.problem(Problem{Severity: SeverityError, File: f.file.Name, Line: re.Line, Column: re.Column, Reason: re.Err.Error()})
	t.dead[[2]string{f.file.Table, codec.Reason(re)}]++
	return nil
}

// optLong is an optional long as goavro's union.
func optLong(v *int64) any {
	if v == nil {
		return nil
	}
	return goavro.Union("long", *v)
}

// stringsAny is ss as goavro's array of strings.
func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Row warnings, the warning label of sragent_row_warnings_total.
const (
	// rowWarningDeleteCellNull: a deleted row's cell did not convert and
	// is null in its d event.
	rowWarningDeleteCellNull = "delete_cell_null"
	// rowWarningKeyOnlyUpsert: a row of a delta without RemovedData that
	// holds only its key, published as an upsert of an empty record.
	rowWarningKeyOnlyUpsert = "key_only_upsert"
	// rowWarningLabelMissing: a list id the group's lists have no row
	// of, published with a null label.
	rowWarningLabelMissing = "label_missing"
)

// rowWarnings reports what a published row was published without: the
// cells of a delete that did not convert (a delete needs only its key),
// everything but its key in a delta that cannot delete (perhaps a delete
// in a file without RemovedData), or the label of a list id the lists
// lack. Warnings name file, line and column,
// never a cell.
func (p *Publisher) rowWarnings(t *txn, w *work, f *fileWork, count *TableCount, rw *rowWork) {
	line := rw.line
	if len(rw.unlabelled) > 0 {
		f.noteUnlabelled(t, count, rw.unlabelled, line)
	}
	if f.cannotDelete && rw.keyOnly {
		count.KeyOnlyUpserts++
		t.warned[[2]string{f.file.Table, rowWarningKeyOnlyUpsert}]++
		w.res.problem(Problem{Severity: SeverityWarning, File: f.file.Name, Line: line, Reason: "only the key is filled, and the file has " +
			"no RemovedData column: published as an upsert with every other field null, not as a delete"})
	}
	for _, n := range rw.nulled {
		count.NulledCells++
		t.warned[[2]string{f.file.Table, rowWarningDeleteCellNull}]++
		what := "published with the cell null"
		if n.Column == "" {
			what = "published as the delete of its key, every other cell null"
		}
		w.res.problem(Problem{Severity: SeverityWarning, File: f.file.Name, Line: line, Column: n.Column,
			Reason: n.Err.Error() + ": the row is a delete, which needs only its key; " + what})
	}
}

// unlabelled counts one file's rows whose list column holds an id the
// lists have no row of.
type unlabelled struct {
	first, rows int64 // the first such row's line, and how many
}

// noteUnlabelled counts the list ids of a published row that the lists
// have no row of (one warning per column at the end of the file, not
// one per row: a list TPP did not send would repeat it on every row).
func (fw *fileWork) noteUnlabelled(t *txn, count *TableCount, cols []string, line int64) {
	if fw.unlabelled == nil {
		fw.unlabelled = map[string]*unlabelled{}
	}
	for _, col := range cols {
		u := fw.unlabelled[col]
		if u == nil {
			u = &unlabelled{first: line}
			fw.unlabelled[col] = u
		}
		u.rows++
		count.Unlabelled++
		t.warned[[2]string{fw.file.Table, rowWarningLabelMissing}]++
	}
}

// reportUnlabelled warns of each list column whose ids the lists lacked,
// by column and first line, never by id.
func (fw *fileWork) reportUnlabelled(res *Result) {
	cols := make([]string, 0, len(fw.unlabelled))
	for col := range fw.unlabelled {
		cols = append(cols, col)
	}
	sort.Strings(cols)
	for _, col := range cols {
		u := fw.unlabelled[col]
		c, _ := fw.table.Column(col)
		res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Line: u.first, Column: col, Rows: u.rows, Reason: fmt.Sprintf(
			"%d rows from this line on hold an id that the group's %s list has no row of: published with %s%s null", u.rows, c.Ref, col, schemas.LabelSuffix)})
	}
}

// markers produces snapshot marker m (its type and counts) on every
// partition of the topic.
func (p *Publisher) markers(ctx context.Context, t *txn, fw *fileWork, tc *codec.TableCodec, m codec.Marker) error {
	typ := m.Type
	m.SnapshotID, m.Organisations = fw.src.Group+"/"+fw.src.Batch+"/"+fw.file.Table, fw.orgs
	key, err := tc.AppendMarkerKey(frame(nil, fw.keyID), typ, fw.src.Group)
	if err != nil {
		return fmt.Errorf("encode marker key of %s: %w", fw.file.Table, err)
	}
	val, err := tc.AppendMarkerValue(frame(nil, fw.valID), m, fw.src, p.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("encode marker of %s: %w", fw.file.Table, err)
	}
	for part := int32(0); part < fw.parts; part++ {
		t.produce(ctx, &kgo.Record{Topic: fw.topic, Partition: part, Key: key, Value: val,
			Headers: []kgo.RecordHeader{{Key: MarkerHeader, Value: []byte(typ)}}})
	}
	return nil
}
