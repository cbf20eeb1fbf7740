package producer

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DeadLetter is one row that did not convert, as the dead-letter topic
// holds it now: where it was and why, never its cells.
type DeadLetter struct {
	Group  string `json:"group"`
	Batch  string `json:"batch"`
	Table  string `json:"table"`
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
	// Cells says whether the dead letter holds the row's cells (a row too
	// large for the dead-letter topic is sent without them, and a replay
	// drops them once it resolved the row).
	Cells bool `json:"cells"`
	// Status is ReplayPending, or what the replay that resolved it did
	// (ReplayReplayed, ReplaySuperseded), and Detail why.
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// deadRec is one dead letter as read, for a replay.
type deadRec struct {
	dl     DeadLetter
	row    ReplayedRow
	recKey []byte         // the dead-letter record's key
	value  map[string]any // its value, as goavro decodes it
	at     time.Time      // its record's timestamp: when it was produced
	header []string       // nil: not kept
	fields []string       // nil: not kept
	// extractFrom, extractTo and cutOff are its row's source dates.
	extractFrom, extractTo, cutOff *int64
	// rf and key are set once it converts: its file's codecs, and its
	// event key (unframed); state says the table state keeps its key, and
	// marked that the key's entry still holds its mark (markDead).
	rf            *replayFile
	key           string
	state, marked bool
	// after is the next dead letter of the same key, if one is pending.
	after *deadRec
}

// cells returns d's cells as a converter takes them.
func (d *deadRec) cells() [][]byte {
	out := make([][]byte, len(d.fields))
	for i, f := range d.fields {
		out[i] = []byte(f)
	}
	return out
}

// ReadDeadLetters reads the dead-letter topic read_committed, as its
// compaction leaves it (each dead letter's latest record), decoding with
// the schemas reg holds, and returns the selected dead letters in group,
// batch, file and line order.
func ReadDeadLetters(ctx context.Context, cfg Config, reg *Registry, sel DeadLetterFilter) ([]DeadLetter, error) {
	dls, err := readDeadLetters(ctx, cfg.withDefaults(), reg, sel)
	out := make([]DeadLetter, len(dls))
	for i, d := range dls {
		out[i] = d.dl
	}
	return out, err
}

// readDeadLetters reads the selected dead letters (see ReadDeadLetters).
func readDeadLetters(ctx context.Context, cfg Config, reg *Registry, sel DeadLetterFilter) ([]*deadRec, error) {
	latest := map[string]*kgo.Record{}
	err := readStable(ctx, cfg, []string{cfg.DeadLetterTopic()}, 10*time.Second, func(r *kgo.Record) {
		latest[string(r.Key)] = r
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", cfg.DeadLetterTopic(), err)
	}
	dec := NewDecoder(reg)
	var out []*deadRec
	for _, r := range latest {
		if r.Value == nil {
			continue
		}
		dv, err := dec.Decode(ctx, r.Value)
		if err != nil {
			return nil, fmt.Errorf("dead letter at partition %d offset %d: %w", r.Partition, r.Offset, err)
		}
		m, _ := dv.Native.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		d := &deadRec{recKey: r.Key, value: m, at: r.Timestamp, dl: DeadLetter{Group: str("group"), Batch: str("batch"),
			Table: str("table"), File: str("file"), Reason: str("reason"), Cells: m["fields"] != nil, Status: ReplayPending}}
		d.dl.Line, _ = m["line"].(int64)
		if (sel.Group != "" && d.dl.Group != sel.Group) || (sel.Batch != "" && d.dl.Batch != sel.Batch) {
			continue
		}
		if c, ok := m["column"].(map[string]any); ok {
			d.dl.Column, _ = c["string"].(string)
		}
		if rp, ok := m["replay"].(map[string]any); ok {
			rp, _ = rp["sragent.Replay"].(map[string]any)
			d.dl.Status, _ = rp["outcome"].(string)
			d.dl.Detail, _ = rp["detail"].(string)
		}
		d.row = ReplayedRow{Group: d.dl.Group, Batch: d.dl.Batch, Table: d.dl.Table, File: d.dl.File, Line: d.dl.Line}
		d.header, d.fields = unionStrings(m["header"]), unionStrings(m["fields"])
		d.extractFrom, d.extractTo, d.cutOff = unionLong(m["extract_from"]), unionLong(m["extract_to"]), unionLong(m["cut_off"])
		out = append(out, d)
	}
	sortDeadRecs(out)
	return out, nil
}

// unionStrings is an optional array of strings as goavro decodes it.
func unionStrings(v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	a, _ := m["array"].([]any)
	out := make([]string, len(a))
	for i, x := range a {
		out[i], _ = x.(string)
	}
	return out
}

// unionLong is an optional long as goavro decodes it.
func unionLong(v any) *int64 {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if n, ok := m["long"].(int64); ok {
		return &n
	}
	return nil
}

// lastRecord is the last record of a key on its topic.
type lastRecord struct {
	at    time.Time
	value []byte // nil: a tombstone
}

// The orders a dead letter and the last record of its key can be in.
const (
	orderEarlier = iota // the record is earlier: the dead letter is newer
	orderLater          // the record is later: it supersedes the dead letter
	orderUnknown        // the same millisecond, and nothing else tells
)

// orderReplay decides which of the dead letters of one topic that convert
// are replayed (see replay.go). Where the table keeps the key's state, the
// dead letter's mark (markDead) must still be there: then nothing this
// agent published changed the key since. Of several dead letters of one
// key only the latest is replayed; the earlier ones are superseded by it
// once it is (publishReplay).
func (p *Publisher) orderReplay(ctx context.Context, topic string, dls []*deadRec) error {
	if p.topics.appendTime[topic] {
		for _, d := range dls {
			d.row.Reason = "the topic's message.timestamp.type is LogAppendTime: a replay orders events by the times sragent gives them, which the broker replaces"
		}
		return nil
	}
	last := map[string]*lastRecord{}
	for _, d := range dls {
		last[d.key] = nil
	}
	err := readStable(ctx, p.cfg, []string{topic}, 10*time.Second, func(r *kgo.Record) {
		if len(r.Key) < 5 || isMarker(r) {
			return
		}
		if _, ok := last[string(r.Key[5:])]; ok {
			last[string(r.Key[5:])] = &lastRecord{at: r.Timestamp, value: r.Value}
		}
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	keep := p.topics.tombstoneKeep(topic)
	sort.SliceStable(dls, func(i, j int) bool { return dls[i].at.Before(dls[j].at) })
	latest := map[string]*deadRec{}
	dec := NewDecoder(p.reg)
	for _, d := range dls {
		if prev := latest[d.key]; prev != nil {
			prev.after = d
		}
		latest[d.key] = d
	}
	for _, d := range dls {
		lr := last[d.key]
		ord := orderEarlier
		if lr != nil {
			ord = p.order(ctx, dec, lr, d)
		}
		switch {
		case ord == orderLater:
			d.row.Outcome, d.row.Reason = ReplaySuperseded, p.supersededBy(ctx, dec, lr)
		case d.after != nil:
			d.row.Reason = fmt.Sprintf("a later dead letter of its key (batch %s, %s line %d) is pending: it is replayed instead when it can be",
				d.after.row.Batch, d.after.row.File, d.after.row.Line)
		case d.state && !d.marked:
			d.row.Reason = "the table state no longer says that nothing changed its key since (it was rebuilt, or the dead letter is older " +
				"than this release): it cannot be ordered, and is not replayed"
		case d.state:
			d.row.Outcome = ReplayReplayed
		case ord == orderUnknown:
			d.row.Reason = "the last record of its key was produced in the same millisecond: it cannot be ordered, and is not replayed"
		case lr == nil && p.now().Sub(d.at) >= keep:
			d.row.Reason = fmt.Sprintf("its key has no record on %s and the dead letter is older than the topic's delete.retention.ms (%s): "+
				"a later delete's tombstone may have been compacted away, so it is not replayed", topic, keep)
		default:
			d.row.Outcome = ReplayReplayed
		}
	}
	sortDeadRecs(dls)
	return nil
}

// order tells whether lr, the last record of d's key, is earlier or
// later than d: by batch, file and line when it is an event of d's group
// (whatever the PC's clock did), by the times sragent produced them
// otherwise.
func (p *Publisher) order(ctx context.Context, dec *Decoder, lr *lastRecord, d *deadRec) int {
	if lr.value != nil {
		if src, ok := eventSource(ctx, dec, lr.value); ok && src.group == d.row.Group {
			switch {
			case src.batch > d.row.Batch:
				return orderLater
			case src.batch < d.row.Batch:
				return orderEarlier
			case src.file == d.row.File && src.line > d.row.Line:
				return orderLater
			case src.file == d.row.File && src.line < d.row.Line:
				return orderEarlier
			}
		}
	}
	switch {
	case lr.at.After(d.at):
		return orderLater
	case lr.at.Before(d.at):
		return orderEarlier
	}
	return orderUnknown
}

// supersededBy says which later record superseded a dead letter.
func (p *Publisher) supersededBy(ctx context.Context, dec *Decoder, lr *lastRecord) string {
	if lr.value == nil {
		return "its key was deleted later (its tombstone is later than the dead letter)"
	}
	if src, ok := eventSource(ctx, dec, lr.value); ok {
		return fmt.Sprintf("a later event of its key was published (batch %s of group %s, %s line %d)", src.batch, src.group, src.file, src.line)
	}
	return "a later event of its key was published"
}

// source is where an event says it came from.
type source struct {
	group, batch, file string
	line               int64
}

// eventSource decodes an event's source.
func eventSource(ctx context.Context, dec *Decoder, value []byte) (source, bool) {
	d, err := dec.Decode(ctx, value)
	if err != nil {
		return source{}, false
	}
	m, _ := d.Native.(map[string]any)
	s, ok := m["source"].(map[string]any)
	if !ok {
		return source{}, false
	}
	str := func(k string) string { v, _ := s[k].(string); return v }
	line, _ := s["line"].(int64)
	return source{group: str("group"), batch: str("batch"), file: str("file"), line: line}, true
}
