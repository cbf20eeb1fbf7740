package producer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/manifest"
)

// Replaying dead letters (`sragent deadletter replay`): the rows that did
// not convert are converted again, as a batch would convert them now (this
// release's catalogue, the registry's pins, the topics' limits, the
// group's lists), and those that convert are published, exactly once and
// in order with every other event of their key.
//
// Exactly once: a dead letter a replay resolves is written again under its
// key on the compacted dead-letter topic, with its outcome and without its
// cells, in the transaction that publishes its event and moves the group's
// checkpoint (so the table state follows). A replay reads the dead letters
// read_committed and never takes up a resolved one.
//
// In order: a dead letter marks its key in the table state (markDead),
// so a later row of the key is always published and a full file without
// it vanishes it. A dead letter is replayed only while nothing changed its
// key since: its mark is there (where the table keeps state), and the
// last record of its key on the topic is not later (replayorder.go). A
// replayed event is given its dead letter's Kafka timestamp, the place in
// time it would have had. A later event supersedes a dead letter (it is
// resolved, not published); an order that cannot be known leaves it
// pending.

// DeadLetterFilter chooses dead letters (to list, to replay): every one, or those
// of Group and of Batch when they are set.
type DeadLetterFilter struct{ Group, Batch string }

// The outcomes of a dead letter in a replay.
const (
	// ReplayReplayed: it converts, and its event was published (or its
	// image is the one last published for its key).
	ReplayReplayed = "replayed"
	// ReplaySuperseded: a later event of its key was published; it is
	// resolved without being published.
	ReplaySuperseded = "superseded"
	// ReplayPending: not replayed (it still does not convert, or it
	// cannot be ordered); it stays a dead letter, and a later replay
	// tries it again.
	ReplayPending = "pending"
)

// ReplayedRow is what a replay did with one dead letter. It names the row
// and says why, never with a cell.
type ReplayedRow struct {
	Group   string `json:"group"`
	Batch   string `json:"batch"`
	Table   string `json:"table"`
	File    string `json:"file"`
	Line    int64  `json:"line"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// ReplayReport is what a replay did, row by row in group, batch, file and
// line order.
type ReplayReport struct {
	Rows []ReplayedRow `json:"rows"`
	// Resolved counts the selected dead letters an earlier replay had
	// resolved (they are not in Rows).
	Resolved int `json:"resolved_before"`
}

// Count returns how many rows had outcome.
func (r ReplayReport) Count(outcome string) int {
	n := 0
	for _, row := range r.Rows {
		if row.Outcome == outcome {
			n++
		}
	}
	return n
}

// Replay replays the selected dead letters (see above). Rows resolved in
// a transaction that committed stay resolved when it fails later: running
// it again goes on with the rest.
func (a *Agent) Replay(ctx context.Context, sel DeadLetterFilter) (ReplayReport, error) {
	return a.pub.Replay(ctx, sel)
}

// Replay replays the selected dead letters: see Agent.Replay.
func (p *Publisher) Replay(ctx context.Context, sel DeadLetterFilter) (ReplayReport, error) {
	if p.dry != nil || p.reg == nil {
		return ReplayReport{}, errors.New("a replay publishes: it cannot be a dry run")
	}
	all, err := readDeadLetters(ctx, p.cfg, p.reg, sel)
	if err != nil {
		return ReplayReport{}, err
	}
	var rep ReplayReport
	var dls []*deadRec
	for _, d := range all {
		if d.dl.Status == ReplayPending {
			dls = append(dls, d)
		} else {
			rep.Resolved++
		}
	}
	var groups []string
	byGroup := map[string][]*deadRec{}
	for _, d := range dls {
		if byGroup[d.row.Group] == nil {
			groups = append(groups, d.row.Group)
		}
		byGroup[d.row.Group] = append(byGroup[d.row.Group], d)
	}
	for _, g := range groups {
		if err = p.replayGroup(ctx, g, byGroup[g]); err != nil {
			err = fmt.Errorf("replay the dead letters of group %s: %w", g, err)
			break
		}
	}
	for _, d := range dls {
		rep.Rows = append(rep.Rows, d.row)
	}
	return rep, err
}

// replayFile is what the dead letters of one file of a batch are
// converted and published with.
type replayFile struct {
	fw      *fileWork
	conv    *codec.Converter
	problem string // why none of them can be replayed
}

// replayGroup replays the dead letters of one group.
func (p *Publisher) replayGroup(ctx context.Context, group string, dls []*deadRec) error {
	if err := p.refresh(ctx, group); err != nil {
		return err
	}
	for _, d := range dls {
		d.row.Outcome = ReplayPending
	}
	if pr := p.state.Progress(group); !pr.Done {
		for _, d := range dls {
			d.row.Reason = fmt.Sprintf("batch %s of the group is half-published: replay once it is published (or given up)", pr.Batch)
		}
		return nil
	}
	lists, err := p.tables.lists(group)
	if err != nil {
		return err
	}
	files := map[string]*replayFile{}
	byTopic := map[string][]*deadRec{}
	var topicOrder []string
	for _, d := range dls {
		switch {
		case d.fields == nil:
			d.row.Reason = "the dead letter holds no cells (they were too large to keep): it cannot be replayed"
			continue
		case d.header == nil:
			d.row.Reason = "the dead letter holds no header (an earlier release wrote it): it cannot be replayed"
			continue
		}
		id := d.row.Batch + "\x00" + d.row.File
		rf := files[id]
		if rf == nil {
			if rf, err = p.newReplayFile(ctx, d, lists); err != nil {
				return err
			}
			files[id] = rf
		}
		if rf.problem != "" {
			d.row.Reason = rf.problem
			continue
		}
		var row codec.Row
		if err := rf.conv.Convert(d.cells(), &row); err != nil {
			d.row.Reason = "it still does not convert: " + err.Error()
			continue
		}
		d.rf, d.key = rf, string(rf.fw.tc.AppendKey(nil, &row))
		if d.state = rf.fw.keeps && p.tables.usable(); d.state {
			e, ok, err := p.tables.store.Get(rf.fw.file.Table, rf.fw.tc.AppendStoreKey(nil, &row))
			if err != nil {
				return err
			}
			d.marked = ok && e.Hash == deadMark(d.row.Group, d.row.Batch, d.row.File, d.row.Line)
		}
		if byTopic[rf.fw.topic] == nil {
			topicOrder = append(topicOrder, rf.fw.topic)
		}
		byTopic[rf.fw.topic] = append(byTopic[rf.fw.topic], d)
	}
	for _, topic := range topicOrder {
		if err := p.orderReplay(ctx, topic, byTopic[topic]); err != nil {
			return err
		}
	}
	return p.publishReplay(ctx, group, dls)
}

// newReplayFile builds what the dead letters of d's file convert and
// publish with: its layout under the table's pins now, and its schemas
// registered.
func (p *Publisher) newReplayFile(ctx context.Context, d *deadRec, lists *batchLists) (*replayFile, error) {
	table, topic := d.row.Table, p.cfg.TopicFor(d.row.Table)
	pins, err := p.pins(ctx, topic)
	if err != nil {
		return nil, err
	}
	header := make([][]byte, len(d.header))
	for i, h := range d.header {
		header[i] = []byte(h)
	}
	l, err := codec.NewLayoutWith(table, header, codec.Options{Pins: pins, Labels: p.labels})
	if err != nil {
		return &replayFile{problem: "its file's header: " + err.Error()}, nil
	}
	fw := &fileWork{file: &manifest.File{Table: table, Name: d.row.File}, topic: topic, table: l.Table, pins: pins, header: l.Header}
	if fw.tc, err = codec.NewTableCodec(l); err != nil {
		return &replayFile{problem: "its file's header: " + err.Error()}, nil
	}
	for _, s := range []struct {
		id             *int
		subject, schem string
	}{{&fw.keyID, topic + "-key", fw.tc.Avro.Key}, {&fw.valID, topic + "-value", fw.tc.Avro.Value}} {
		var ie *IncompatibleError
		switch *s.id, err = p.register(ctx, s.subject, s.schem); {
		case errors.As(err, &ie):
			return &replayFile{problem: "schema registry: " + ie.Error()}, nil
		case err != nil:
			return nil, err
		}
	}
	if err := p.topics.ensure(ctx, topic); err != nil {
		return nil, err
	}
	fw.parts, fw.maxRecord = p.topics.partitionsOf(topic), p.topics.maxRecord(topic)
	fw.keeps = keeps(fw.table, p.topics.expiring[topic])
	if fw.schemaSum, err = schemaSum(fw.tc.Avro.Value); err != nil {
		return nil, err
	}
	// A delta's scope: the window column's value is kept, nothing vanishes.
	fw.scope = p.newScope(&work{batch: &manifest.Batch{Group: d.row.Group, Name: d.row.Batch}, res: &Result{}}, fw)
	// Published as a delta would be (u, or d and a tombstone), outside any
	// snapshot: its full file's markers were published long ago.
	fw.src = codec.Source{Version: p.version, Name: p.cfg.TopicPrefix, Group: d.row.Group, Batch: d.row.Batch,
		Table: table, File: d.row.File, ExtractFrom: d.extractFrom, ExtractTo: d.extractTo, CutOff: d.cutOff}
	conv := codec.NewConverter(l)
	conv.SetLabels(lists)
	return &replayFile{fw: fw, conv: conv}, nil
}

// publishReplay publishes the replayed rows of one group and resolves
// their dead letters and the superseded ones, in transactions that end
// with the group's checkpoint.
func (p *Publisher) publishReplay(ctx context.Context, group string, dls []*deadRec) error {
	var t *txn
	cur := copyProgress(p.state.Progress(group))
	// The earlier dead letters of a key whose latest one is replayed now
	// are superseded by it: after it, in the same pass.
	todo := append([]*deadRec(nil), dls...)
	for _, d := range dls {
		if d.after != nil && d.row.Outcome == ReplayPending {
			todo = append(todo, d)
		}
	}
	for i, d := range todo {
		if i >= len(dls) {
			last := d.after
			for last.after != nil {
				last = last.after
			}
			if last.row.Outcome != ReplayReplayed {
				continue
			}
			d.row.Outcome, d.row.Reason = ReplaySuperseded, fmt.Sprintf("a later dead letter of its key (batch %s, %s line %d) was replayed",
				last.row.Batch, last.row.File, last.row.Line)
		}
		if d.row.Outcome == ReplayPending {
			continue
		}
		if t == nil {
			var err error
			if t, err = p.begin(ctx, group); err != nil {
				return err
			}
		}
		if d.row.Outcome == ReplayReplayed {
			fw := d.rf.fw
			var row codec.Row
			if err := d.rf.conv.Convert(d.cells(), &row); err != nil {
				return p.abort(ctx, t, fmt.Errorf("%s line %d converted, then did not: %w", d.row.File, d.row.Line, err))
			}
			ev := codec.Event{Op: codec.OpFor(false, row.Removed), Row: &row, Source: fw.src, TsMs: p.now().UnixMilli()}
			ev.Source.Line, fw.stamp = d.row.Line, d.at
			var rw rowWork
			fw.prepareRow(&rw, nil, fw.tc, &ev)
			unchanged, re := p.event(ctx, t, fw, &rw)
			switch {
			case re != nil:
				d.row.Outcome, d.row.Reason = ReplayPending, "it converts, but "+re.Err.Error()
				continue
			case unchanged:
				d.row.Reason = "its image is the one last published for its key: nothing to publish"
			default:
				t.rows[[2]string{fw.file.Table, string(rune(ev.Op))}]++
			}
		}
		if err := p.resolve(ctx, t, d); err != nil {
			return p.abort(ctx, t, err)
		}
		if t.records >= p.cfg.TxnRecords || t.bytes >= p.cfg.TxnBytes {
			if err := p.commit(ctx, t, &cur); err != nil {
				return err
			}
			t = nil
		}
	}
	if t == nil {
		return nil
	}
	return p.commit(ctx, t, &cur)
}

// resolve writes d's dead letter again with its outcome, without its
// cells: a replay never takes it up again.
func (p *Publisher) resolve(ctx context.Context, t *txn, d *deadRec) error {
	v := make(map[string]any, len(d.value)+1)
	for k, x := range d.value {
		v[k] = x
	}
	// Written by an earlier release: the fields it did not have.
	for _, k := range []string{"header", "extract_from", "extract_to", "cut_off"} {
		if _, ok := v[k]; !ok {
			v[k] = nil
		}
	}
	v["fields"] = nil
	v["replay"] = map[string]any{"sragent.Replay": map[string]any{"outcome": d.row.Outcome, "ts_ms": p.now().UnixMilli(), "detail": d.row.Reason}}
	val, err := p.deadValue.encode(v)
	if err != nil {
		return fmt.Errorf("encode the resolved dead letter of %s line %d: %w", d.row.File, d.row.Line, err)
	}
	t.produce(ctx, &kgo.Record{Topic: p.cfg.DeadLetterTopic(), Key: d.recKey, Value: val})
	return nil
}

// sortDeadRecs orders dead letters by group, batch, file and line.
func sortDeadRecs(dls []*deadRec) {
	sort.Slice(dls, func(i, j int) bool {
		a, b := dls[i].row, dls[j].row
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Batch != b.Batch {
			return a.Batch < b.Batch
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// tombstoneKeep is how long a tombstone is sure to stay on topic.
func (t *topics) tombstoneKeep(topic string) time.Duration {
	if d, ok := t.keepDeletes[topic]; ok {
		return d
	}
	return 24 * time.Hour // Kafka's default delete.retention.ms
}
