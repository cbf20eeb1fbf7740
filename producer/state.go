package producer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The state topic is sragent's private, compacted log of where each
// reporting group stands. It is written only inside the same transactions
// as the events it describes, so a read_committed reader of it and of the
// table topics always agrees. Its values are JSON, like Kafka Connect's
// offsets topic: internal, documented in schemas/README.md, not a
// consumer contract. Keys:
//
//	group/<group>            → Progress
//	batch/<group>/<batch>    → Published
//	intent/resume/<group>    → Intent (written by `sragent chain resume`)
const (
	groupKeyPrefix  = "group/"
	batchKeyPrefix  = "batch/"
	intentKeyPrefix = "intent/resume/"
)

// Progress is a group's position: the batch in flight (or last published)
// and how far it got, plus what the chain has seen.
type Progress struct {
	Group string `json:"group"`
	// Batch and Manifest (SHA-256 of SRManifest.csv) identify the batch.
	Batch    string `json:"batch"`
	Manifest string `json:"manifest_sha256"`
	// BatchCutOff is the instant of Batch's cut-off: a later batch of the
	// chain must not have an earlier one.
	BatchCutOff time.Time `json:"batch_cut_off,omitzero"`
	// PrevCutOff is the chain's cut-off instant before Batch: what Batch's
	// range is resolved after (manifest.ChainRange), also on a resume.
	PrevCutOff time.Time `json:"prev_cut_off,omitzero"`
	// Done is true once the whole batch is committed.
	Done bool `json:"done"`
	// File is the index in Batch.Files of the file in progress; Line is
	// the first line of it not yet published (0: the file has not begun).
	File int   `json:"file"`
	Line int64 `json:"line"`
	// FileEvents counts the file's rows published so far (the row count of
	// the snapshot_end marker).
	FileEvents int64 `json:"file_events"`
	// FileUnchanged counts the file's rows not published because they
	// were unchanged (the unchanged count of the snapshot_end marker).
	FileUnchanged int64 `json:"file_unchanged,omitempty"`
	// Counts are the batch's counts per table so far.
	Counts map[string]*TableCount `json:"counts"`
	// Tables is the chain's continuity: each table's last extract range.
	Tables map[string]Range `json:"tables"`
	// Halted says why the chain stopped (a gap), or is empty.
	Halted string `json:"halted,omitempty"`
	// GapTables are the tables whose gap halted the chain.
	GapTables []string `json:"gap_tables,omitempty"`
	// HaltedAt is the batch a gap halted the chain at, or the batch whose
	// quarantine halted it ("" for other halts). A gap is judged again when
	// a batch named before it comes first (the missing deltas, dropped in),
	// a quarantine when a batch of its name is back in the input (fixed,
	// or replaced).
	HaltedAt string `json:"halted_at,omitempty"`
	// Changed is set when the halt is for files of the half-published
	// Batch that changed: it lifts when they are back as Files says.
	Changed bool `json:"files_changed,omitempty"`
	// GaveUp is set when `chain resume` gave up the half-published Batch:
	// what of it was committed stays, and it is never published again.
	GaveUp bool `json:"gave_up,omitempty"`
	// Resume is set by `sragent chain resume`: accept the next batch
	// despite the gap.
	Resume bool `json:"resume,omitempty"`
	// ResumeIntent is the id of the last operator intent applied.
	ResumeIntent string `json:"resume_intent,omitempty"`
	// Files are the digests of Batch's files as it was first checked: a
	// resume publishes on only over the same bytes.
	Files   map[string]FileDigest `json:"files,omitempty"`
	Updated time.Time             `json:"updated"`
	// Organisations are the IDOrganisationVisibleTo values the group's
	// batches hold (see orgChanges), as of the last batch published.
	Organisations []string `json:"organisations,omitempty"`
}

// Range is one table's extract dates (yyyyMMdd_HHmm, "" for none).
type Range struct {
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// Batch is the batch the range came from.
	Batch string `json:"batch"`
}

// PublishedBatch records a committed batch: a later delivery of the same
// folder is a duplicate (same manifest) or a conflict (another manifest).
type PublishedBatch struct {
	Group    string    `json:"group"`
	Batch    string    `json:"batch"`
	Manifest string    `json:"manifest_sha256"`
	Events   int64     `json:"events"`
	At       time.Time `json:"published_at"`
	// Files are the digests of the published files: a re-delivery with
	// the same manifest but other bytes is a conflict, not a duplicate.
	Files map[string]FileDigest `json:"files,omitempty"`
}

// State is everything read back from the state topic.
type State struct {
	Groups    map[string]*Progress
	Published map[string]*PublishedBatch // by group + "/" + batch
	// Intents are the operators' latest resume requests, by group.
	Intents map[string]*Intent
}

func newState() *State {
	return &State{Groups: map[string]*Progress{}, Published: map[string]*PublishedBatch{}, Intents: map[string]*Intent{}}
}

// Progress returns the group's progress, creating an empty one.
func (s *State) Progress(group string) *Progress {
	p := s.Groups[group]
	if p == nil {
		p = &Progress{Group: group, Done: true, Tables: map[string]Range{}}
		s.Groups[group] = p
	}
	return p
}

// Batch returns the record of a committed batch, or nil.
func (s *State) Batch(group, batch string) *PublishedBatch {
	return s.Published[group+"/"+batch]
}

func (s *State) apply(key string, value []byte) error {
	switch {
	case strings.HasPrefix(key, groupKeyPrefix):
		return applyRecord(s.Groups, key, groupKeyPrefix, value, func(p *Progress) string {
			if p.Tables == nil {
				p.Tables = map[string]Range{}
			}
			return p.Group
		})
	case strings.HasPrefix(key, batchKeyPrefix):
		return applyRecord(s.Published, key, batchKeyPrefix, value, func(b *PublishedBatch) string { return b.Group + "/" + b.Batch })
	case strings.HasPrefix(key, intentKeyPrefix):
		return applyRecord(s.Intents, key, intentKeyPrefix, value, func(in *Intent) string { return in.Group })
	}
	return nil
}

// applyRecord puts a JSON state record into m under the name entry gives
// it, or deletes the entry a tombstone (nil value) names.
func applyRecord[T any](m map[string]*T, key, prefix string, value []byte, entry func(*T) string) error {
	if value == nil {
		delete(m, strings.TrimPrefix(key, prefix))
		return nil
	}
	v := new(T)
	if err := json.Unmarshal(value, v); err != nil {
		return fmt.Errorf("state record %s: %w", key, err)
	}
	m[entry(v)] = v
	return nil
}

func progressRecord(topic string, p *Progress) (*kgo.Record, error) {
	v, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode progress of %s: %w", p.Group, err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(groupKeyPrefix + p.Group), Value: v}, nil
}

func publishedRecord(topic string, b *PublishedBatch) (*kgo.Record, error) {
	v, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode published batch %s: %w", b.Batch, err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(batchKeyPrefix + b.Group + "/" + b.Batch), Value: v}, nil
}

// groupsInState lists the groups named in the state topic, committed or
// not: their producers must be initialised (fencing a crashed transaction)
// before the committed state can be read completely.
func groupsInState(ctx context.Context, cfg Config, adm *kadm.Client) ([]string, error) {
	seen := map[string]bool{}
	err := scanState(ctx, cfg, adm, false, func(key string, _ []byte) error {
		if g, ok := strings.CutPrefix(key, groupKeyPrefix); ok {
			seen[g] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	return out, err
}

// loadState reads the committed state. It first waits until no
// transaction is open on the state topic (the last stable offset reaches
// the end), so that no committed record is hidden behind an open one.
func loadState(ctx context.Context, cfg Config, adm *kadm.Client) (*State, error) {
	topic := cfg.StateTopic()
	for {
		end, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
		}
		stable, err := adm.ListCommittedOffsets(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("list stable offsets of %s: %w", topic, err)
		}
		e, _ := end.Lookup(topic, 0)
		s, _ := stable.Lookup(topic, 0)
		if s.Offset >= e.Offset {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for open transactions on %s to end: %w", topic, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	st := newState()
	err := scanState(ctx, cfg, adm, true, st.apply)
	return st, err
}

// stateReadStall is how long a read of the state topic may receive
// nothing before it fails.
var stateReadStall = 30 * time.Second

// scanState reads the state topic from the start to its current end.
func scanState(ctx context.Context, cfg Config, adm *kadm.Client, committed bool, fn func(key string, value []byte) error) error {
	_, err := scanStateFrom(ctx, cfg, adm, committed, 0, fn)
	return err
}

// scanStateFrom reads the state topic from offset from to its current
// end, and returns the end: the next read can start there.
func scanStateFrom(ctx context.Context, cfg Config, adm *kadm.Client, committed bool, from int64, fn func(key string, value []byte) error) (int64, error) {
	topic := cfg.StateTopic()
	var ends kadm.ListedOffsets
	var err error
	if committed {
		ends, err = adm.ListCommittedOffsets(ctx, topic)
	} else {
		ends, err = adm.ListEndOffsets(ctx, topic)
	}
	if err != nil {
		return 0, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	end, ok := ends.Lookup(topic, 0)
	from = max(from, 0)
	switch {
	case !ok || isUnknownTopic(end.Err):
		return from, nil // not created yet: nothing to read
	case end.Err != nil || end.Offset < 0:
		return 0, fmt.Errorf("list end offsets of %s: no offset for partition 0 (%v)", topic, end.Err)
	}
	if end.Offset < from {
		from = 0 // the topic was recreated: read it all
	}
	if end.Offset <= from {
		return end.Offset, nil
	}
	opts, err := cfg.clientOpts()
	if err != nil {
		return 0, err
	}
	level := kgo.ReadUncommitted()
	if committed {
		level = kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(level),
		kgo.KeepControlRecords(), // the last offset is a transaction marker: see it
		kgo.FetchMaxWait(100*time.Millisecond))...)
	if err != nil {
		return 0, fmt.Errorf("state reader: %w", err)
	}
	defer cl.Close()
	last := from - 1 // the last offset read
	for empty := 0; ; {
		// Records of aborted transactions are skipped under read_committed;
		// the markers that end them are not, so the end is always reached.
		// A read that stops short fails: a partial state would make
		// published batches look new.
		pctx, cancel := context.WithTimeout(ctx, stateReadStall/6)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("read %s: %w", topic, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = err
			}
		})
		if ferr != nil {
			return 0, fmt.Errorf("read %s: %w", topic, ferr)
		}
		recs := fs.Records()
		if len(recs) == 0 {
			if empty++; empty == 6 {
				return 0, fmt.Errorf("read %s: no record for %s at offset %d of %d; the state cannot be read completely", topic, stateReadStall, last+1, end.Offset)
			}
			continue
		}
		empty = 0
		for _, r := range recs {
			last = r.Offset
			if !r.Attrs.IsControl() {
				if err := fn(string(r.Key), r.Value); err != nil {
					return 0, err
				}
			}
			if r.Offset >= end.Offset-1 {
				return end.Offset, nil
			}
		}
	}
}

// ReadState reads the committed state without initialising any producer,
// so it is safe while an agent runs: it sees what is committed up to the
// last stable offset.
func ReadState(ctx context.Context, cfg Config) (*State, error) {
	cfg = cfg.withDefaults()
	cl, err := cfg.client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	st := newState()
	if err := scanState(ctx, cfg, kadm.NewClient(cl), true, st.apply); err != nil {
		return nil, err
	}
	return st, nil
}

// LastPublished returns the batch the group published last, or nil.
func (s *State) LastPublished(group string) *PublishedBatch {
	var last *PublishedBatch
	for _, b := range s.Published {
		if b.Group == group && (last == nil || b.At.After(last.At) || (b.At.Equal(last.At) && b.Batch > last.Batch)) {
			last = b
		}
	}
	return last
}

// chainCutOff is the cut-off instant the chain has reached before the
// batch to publish next: the in-flight batch's predecessor's when it is
// half-published.
func (p *Progress) chainCutOff() time.Time {
	if p.Done {
		return p.BatchCutOff
	}
	return p.PrevCutOff
}

// CutOff returns the latest extract cut-off the group's chain has reached.
func (p *Progress) CutOff() string {
	var to string
	for _, r := range p.Tables {
		if r.To > to {
			to = r.To
		}
	}
	return to
}

func isUnknownTopic(err error) bool { return errors.Is(err, kerr.UnknownTopicOrPartition) }
