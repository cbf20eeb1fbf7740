package producer

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sragent/sragent/producer/tablestate"
)

// tables is the Publisher's use of the table-state store: the hash of
// every key's last published image, so that an unchanged row is not
// published again. The store is trusted for a group only while its
// checkpoint is the committed one; otherwise (a crash between the Kafka
// commit and the store's, another agent publishing the group, a store
// from another machine) the group's state is dropped and learned again
// from what is published next: a store that lacks a key only costs a
// re-publish, one that is behind would suppress a real change.
type tables struct {
	store    *tablestate.Store // nil: no table state
	suppress bool
	dry      bool
	log      *slog.Logger
	// untrusted are groups a dry run must not predict suppression for
	// (it cannot drop their state); batches are a dry run's changes,
	// never committed.
	untrusted map[string]bool
	batches   map[string]*tablestate.Batch
}

// openTables opens the store in stateDir ("" for none). A dry run uses
// it if it can (a running agent holds it) and writes nothing to it.
func openTables(stateDir string, suppress, dry bool, log *slog.Logger) (*tables, error) {
	ts := &tables{suppress: suppress, dry: dry, log: log, untrusted: map[string]bool{}, batches: map[string]*tablestate.Batch{}}
	if stateDir == "" {
		return ts, nil
	}
	s, err := tablestate.Open(filepath.Join(stateDir, "tables"), tablestate.Options{Logger: log})
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

// checkpoint is what a store checkpoint must equal for the store to hold
// the state after the committed progress p.
func checkpoint(p *Progress) []byte {
	return fmt.Appendf(nil, "%s|%s|%t|%d|%d|%s", p.Batch, p.Manifest, p.Done, p.File, p.Line, p.Updated.UTC().Format(time.RFC3339Nano))
}

// check compares each group's store checkpoint with the committed state
// just read, and drops (a dry run: distrusts) the groups that differ.
func (ts *tables) check(st *State) error {
	if ts == nil || ts.store == nil {
		return nil
	}
	groups, err := ts.store.Groups()
	if err != nil {
		return err
	}
	for g := range st.Groups {
		groups = append(groups, g)
	}
	for _, g := range groups {
		cp, err := ts.store.Checkpoint(g)
		if err != nil {
			return err
		}
		if cp == nil {
			continue // nothing kept for the group yet
		}
		if prog, ok := st.Groups[g]; ok && string(cp) == string(checkpoint(prog)) {
			continue
		}
		if ts.dry {
			ts.untrusted[g] = true
			continue
		}
		ts.log.Info("the table state of the group does not match what is committed; it is dropped and learned again from the next batches "+
			"(unchanged rows are published once more)", "group", g)
		if err := ts.store.Drop(g); err != nil {
			return err
		}
	}
	return nil
}

// batch returns the changes of group's next transaction, or nil.
func (ts *tables) batch(group string) *tablestate.Batch {
	if ts == nil || ts.store == nil || ts.untrusted[group] {
		return nil
	}
	if !ts.dry {
		return ts.store.NewBatch(group)
	}
	b := ts.batches[group]
	if b == nil { // a dry run keeps one batch per group for the whole pass
		b = ts.store.NewBatch(group)
		ts.batches[group] = b
	}
	return b
}

// committed writes a transaction's changes after Kafka committed it, with
// the checkpoint cur. A failure leaves the store behind, which the next
// check finds.
func (ts *tables) committed(t *txn, cur *Progress) {
	if t.sb == nil || ts.dry {
		return
	}
	if err := t.sb.Commit(checkpoint(cur)); err != nil {
		ts.log.Warn("table state not updated; it is dropped at the next start", "group", t.group, "err", err)
	}
	t.sb = nil
}

// aborted forgets a transaction's changes.
func (ts *tables) aborted(t *txn) {
	if t.sb != nil && !ts.dry {
		t.sb.Discard()
	}
	t.sb = nil
}

// empty reports whether the store holds no key of group's table, so that
// a first publish looks nothing up.
func (ts *tables) empty(group, table string) (bool, error) {
	if ts == nil || ts.store == nil {
		return true, nil
	}
	return ts.store.Empty(group, table)
}

// imageHash identifies a row image.
func imageHash(image []byte) (h [tablestate.HashSize]byte) {
	sum := sha256.Sum256(image)
	copy(h[:], sum[:])
	return h
}
