package producer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer/tablestate"
	"github.com/sragent/sragent/schemas"
)

// dryLimit bounds the changes a dry run keeps in memory per group.
var dryLimit = 200_000

// tables is the Publisher's use of the table-state store: the hash of
// every key's last published image, so that an unchanged row is not
// published again. The store is trusted only while every group's
// checkpoint in it is the committed one; otherwise (a crash between the
// Kafka commit and the store's, another agent publishing on the same
// state topic, a store from another machine, a failed store write) it is
// emptied and learned again from what is published next: a store that
// lacks a key only costs a re-publish, one that is behind would suppress
// a real change.
type tables struct {
	store    *tablestate.Store // nil: no table state
	suppress bool
	dry      bool
	log      *slog.Logger
	// broken is set when a store read or write failed: no batch until the
	// next check empties the store.
	broken bool
	// untrusted: a dry run found the store behind and predicts no
	// suppression; batches are a dry run's changes, never committed.
	untrusted bool
	batches   map[string]*tablestate.Batch
}

// openTables opens the store in stateDir ("" for none). A dry run opens it
// read-only if it exists and it can (a running agent holds it).
func openTables(stateDir string, suppress, dry bool, log *slog.Logger) (*tables, error) {
	ts := &tables{suppress: suppress, dry: dry, log: log, batches: map[string]*tablestate.Batch{}}
	if stateDir == "" {
		return ts, nil
	}
	dir := filepath.Join(stateDir, "tables")
	o := tablestate.Options{Logger: log, ReadOnly: dry}
	if _, err := os.Stat(dir); dry && errors.Is(err, fs.ErrNotExist) {
		o.InMemory = true // nothing kept yet: predict from an empty state
	}
	s, err := tablestate.Open(dir, o)
	if err != nil {
		if dry {
			return ts, nil
		}
		return nil, err
	}
	ts.store = s
	return ts, nil
}

func (ts *tables) close() error {
	if ts == nil || ts.store == nil {
		return nil
	}
	for _, b := range ts.batches {
		b.Discard()
	}
	return ts.store.Close()
}

// stateFormat names the store's entry layout, and the types of every
// catalogued table's key columns (store keys carry no types: a key written
// under other ones would decode as another key): a store written in
// another one does not match any checkpoint, so it is rebuilt (v5: the
// groups' lists, which a store of v4 does not hold; v6: checkpoints after
// the rows, where v5 has none; v7: Applied records, which a v6 agent
// would leave behind when it changes a table).
var stateFormat = func() string {
	h := sha256.New()
	for _, t := range schemas.Tables() {
		fmt.Fprintf(h, "%s", t.Name)
		for _, k := range t.Key {
			c, _ := t.Column(k)
			fmt.Fprintf(h, "\x00%s\x00%d", k, c.Type)
		}
		h.Write([]byte{'\n'})
	}
	return fmt.Sprintf("v7-%x", h.Sum(nil)[:6])
}()

// checkpoint is what a store checkpoint must equal for the store to hold
// the state after the committed progress p.
func checkpoint(p *Progress) []byte {
	return fmt.Appendf(nil, "%s|%s|%s|%t|%d|%d|%s", stateFormat, p.Batch, p.Manifest, p.Done, p.File, p.Line, p.Updated.UTC().Format(time.RFC3339Nano))
}

// check compares the store's checkpoints with the committed state just
// read: unless every group's is the committed one, it returns the
// committed checkpoints the store must be rebuilt to (a dry run only
// distrusts it).
func (ts *tables) check(st *State) (map[string][]byte, error) {
	if ts == nil || ts.store == nil {
		return nil, nil
	}
	want := map[string][]byte{}
	for g, prog := range st.Groups {
		want[g] = checkpoint(prog)
	}
	groups, err := ts.store.Groups()
	if err != nil {
		return nil, err
	}
	same := !ts.broken
	for g := range want {
		same = same && slices.Contains(groups, g)
	}
	for _, g := range groups {
		cp, err := ts.store.Checkpoint(g)
		if err != nil {
			return nil, err
		}
		same = same && string(cp) == string(want[g])
	}
	switch {
	case same:
		return nil, nil
	case ts.dry:
		ts.untrusted = true
		return nil, nil
	}
	if len(groups) > 0 {
		ts.log.Info("the table state does not match what is committed; it is rebuilt from the topics")
	}
	return want, nil
}

// rebuilt is the end of a rebuild: when the topics cannot give the state
// (an event it cannot read, no right to read a table topic) the store is
// emptied with the committed checkpoints and learned again from the next
// batches (unchanged rows are published once more; holdings are
// incomplete until each group publishes a full file); any other failure
// fails the pass, which rebuilds again.
func (ts *tables) rebuilt(ctx context.Context, want map[string][]byte, st *State, err error) error {
	if err != nil {
		var ue *unreadableError
		if ctx.Err() != nil || !(errors.As(err, &ue) || errors.Is(err, kerr.TopicAuthorizationFailed)) {
			return err
		}
		ts.log.Warn("the table state could not be rebuilt from the topics; it is emptied and learned again from the next batches", "err", err)
		if err := ts.store.Reset(); err != nil {
			return err
		}
		if err := ts.store.Rebuilt(want, publishedTables(st)); err != nil {
			return err
		}
	}
	ts.broken = false
	return nil
}

// batch returns the changes of group's next transaction, or nil.
func (ts *tables) batch(group string) *tablestate.Batch {
	if ts == nil || ts.store == nil || ts.broken || ts.untrusted {
		return nil
	}
	if !ts.dry {
		return ts.store.NewBatch(group)
	}
	// A dry run keeps one batch for the whole pass, for every group: the
	// keys are the agent's, so a group sees what another changed before.
	b := ts.batches[""]
	if b == nil {
		b = ts.store.NewDryBatch("dry run", dryLimit)
		ts.batches[""] = b
	}
	return b
}

// committed writes a transaction's changes after Kafka committed it, with
// the checkpoint cur. It reports false when the store could not follow:
// the store is then not used until it has been emptied.
func (ts *tables) committed(t *txn, cur *Progress) bool {
	if t.sb == nil || ts.dry {
		return true
	}
	err := commitBatch(t.sb, checkpoint(cur))
	t.sb = nil
	if err == nil && cur.Done {
		// A batch's last commit: its state leaves the memtable for the
		// store's files, so the next batch (hours later) looks keys up
		// in sorted files, and a restart has little log to replay.
		err = ts.store.Flush()
	}
	if err != nil {
		ts.failed(t, err)
		return false
	}
	return true
}

// commitBatch commits a store batch; a test replaces it to fail.
var commitBatch = (*tablestate.Batch).Commit

// failed stops using the store after an error: the rest of the
// transaction is published without suppression.
func (ts *tables) failed(t *txn, err error) {
	ts.log.Warn("the table state failed; rows are published without it until it is emptied at the next state read", "group", t.group, "err", err)
	ts.broken = true
	ts.aborted(t)
}

// aborted forgets a transaction's changes.
func (ts *tables) aborted(t *txn) {
	if t.sb != nil && !ts.dry {
		t.sb.Discard()
	}
	t.sb = nil
}

// empty reports whether the store holds no key of table, so that a first
// publish looks nothing up.
func (ts *tables) empty(table string) (bool, error) {
	if ts == nil || ts.store == nil {
		return true, nil
	}
	return ts.store.Empty(table)
}

// keeps reports whether rows of table t on topic go through the table
// state: only on topics that keep every key's last image (compact, not
// delete), and only for tables with a key.
func keeps(t *schemas.Table, expiring bool) bool {
	return !expiring && len(t.Key) > 0
}

// imageHash identifies a row image under its value schema, named by
// schemaSum (the same bytes under another schema, a type change, are
// another image); buf is reused scratch space.
func imageHash(buf []byte, schemaSum uint64, image []byte) ([]byte, [tablestate.HashSize]byte) {
	buf = binary.BigEndian.AppendUint64(buf[:0], schemaSum)
	buf = append(buf, image...)
	sum := sha256.Sum256(buf)
	var h [tablestate.HashSize]byte
	copy(h[:], sum[:])
	return buf, h
}

// schemaSum names a value schema by its row record's fields and their
// encodings (codec.EventReader.Signature): the same in a dry run (which
// registers nothing, so knows no ids) as when publishing, and the same for
// the text a registry gives back when the table state is rebuilt
// (registries reformat what they store, some drop documentation). Of
// logical types only local-timestamp-millis counts: it makes the same long
// another value (a wall-clock time, not an instant), so rows published
// before a column became a calendar date are published again.
func schemaSum(schema string) (uint64, error) {
	r, err := codec.NewEventReader(schema)
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256([]byte(r.Signature()))
	return binary.BigEndian.Uint64(sum[:]), nil
}

// usable reports whether the table state can be read and trusted.
func (ts *tables) usable() bool {
	return ts != nil && ts.store != nil && !ts.broken && !ts.untrusted
}
