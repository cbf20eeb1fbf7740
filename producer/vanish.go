package producer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer/tablestate"
)

// errUnpredictable: a dry run lost track of its changes mid-scan.
var errUnpredictable = errors.New("dry run cannot predict")

// reconciled are a full file's reconciliation counts, for its end marker.
type reconciled struct {
	vanished, deleted int64
}

// vanish reconciles the full file fw at its end, in the transaction of its
// end marker: the keys its group holds in the file's scope that no row of
// the file held are counted as vanished and, in delete mode, removed with
// a "d" event and a tombstone each (a key another group still holds only
// loses this group). Nothing is deleted when the file holds fewer than
// min_ratio of the keys known for its scope, or when a dead letter's key
// could not be read. It returns nil when the file is not reconciled (no
// table state, or a dry run that cannot follow its changes).
func (p *Publisher) vanish(ctx context.Context, t *txn, w *work, fw *fileWork, tc *codec.TableCodec, count *TableCount) (*reconciled, error) {
	r, err := p.vanishKeys(ctx, t, w, fw, tc, count)
	if errors.Is(err, errUnpredictable) {
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name,
			Reason: "too many changes in this run to predict what vanishes from the file"})
		return nil, nil
	}
	return r, err
}

// vanishKeys is vanish's work; errUnpredictable when a dry run lost
// track of its changes.
func (p *Publisher) vanishKeys(ctx context.Context, t *txn, w *work, fw *fileWork, tc *codec.TableCodec, count *TableCount) (_ *reconciled, err error) {
	sc := &fw.scope
	if sc.mode == ReconcileOff || t.sb == nil {
		return nil, nil
	}
	if t.sb.Overflowed() {
		return nil, errUnpredictable
	}
	if fw.fresh {
		return &reconciled{}, nil // the table held nothing before this file
	}
	bit, err := p.tables.store.GroupBit(w.batch.Group)
	if err != nil {
		return nil, err
	}
	table, cur := fw.file.Table, fw.cursor
	if cur == nil {
		return nil, fmt.Errorf("%s: reconciled without a table-state walk", fw.file.Name)
	}
	if err := cur.End(t.sb); err != nil {
		return nil, err
	}
	defer func() { // the walk's marks are done with, whatever it decided
		if err == nil {
			err = cur.Clear(t.sb)
		}
	}()
	if t.sb.Overflowed() {
		return nil, errUnpredictable
	}
	// Counted per prefix too: min_ratio guards each organisation of a
	// file, so that one practice cut short is not reconciled as gone.
	// Known are the keys in scope as the file leaves them (those it holds
	// and those gone; distinct keys, the same whatever a crash
	// interrupted).
	prefixes := cur.Prefixes()
	known, gone := make([]int64, len(prefixes)), make([]int64, len(prefixes))
	err = t.sb.Scan(table, prefixes, func(i int, _ []byte, e tablestate.Entry) error {
		if p.inScope(fw, bit, e) {
			known[i]++
		}
		return nil
	})
	if err == nil {
		err = cur.Vanished(t.sb, func(i int, _ []byte, _ tablestate.Entry) error {
			gone[i]++
			return ctx.Err()
		})
	}
	if err != nil {
		return nil, err
	}
	r := &reconciled{}
	var allKnown int64
	under := 0 // prefixes under min_ratio
	for i := range known {
		r.vanished += gone[i]
		allKnown += known[i]
		if gone[i] > 0 && float64(known[i]-gone[i]) < p.reconcile.MinRatio*float64(known[i]) {
			under++
		}
	}
	count.Vanished += r.vanished
	t.vanished[[2]string{table, "reported"}] += r.vanished
	if r.vanished == 0 {
		return r, nil
	}
	if under > 0 {
		what := "the full file"
		if len(known) > 1 {
			what = fmt.Sprintf("for %d of its %d organisations the full file", under, len(known))
		}
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Reason: fmt.Sprintf(
			"%s holds fewer than reconcile.min_ratio %.2f of the keys known for its scope (%d of %d in all): none of the %d that vanished is deleted",
			what, p.reconcile.MinRatio, allKnown-r.vanished, allKnown, r.vanished)})
		t.guarded[table]++
		return r, nil
	}
	gone0 := r.vanished
	if sc.mode != ReconcileDelete {
		return r, nil
	}
	if sc.blind {
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Reason: fmt.Sprintf(
			"%d keys vanished, but a dead letter's key could not be read: none is deleted", gone0)})
		return r, nil
	}
	incomplete, err := p.tables.store.Incomplete(table)
	if err != nil {
		return nil, err
	}
	if others := slices.DeleteFunc(incomplete, func(g string) bool { return g == w.batch.Group }); len(others) > 0 {
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Reason: fmt.Sprintf(
			"%d keys vanished, but the table state was rebuilt from the topics and group(s) %s have not published a full file of %s since "+
				"(keys they hold are not known): none is deleted", gone0, strings.Join(others, ", "), table)})
		return r, nil
	}
	var row codec.Row
	undecodable := 0
	ev := codec.Event{Source: fw.src, Op: codec.OpDelete, Row: &row, TsMs: p.now().UnixMilli()}
	err = cur.Vanished(t.sb, func(_ int, k []byte, e tablestate.Entry) error {
		if e.Groups&^bit != 0 { // another group still holds it
			e.Groups &^= bit
			return t.sb.Put(table, k, e)
		}
		if tc.KeyRow(k, &row) != nil {
			undecodable++ // written under another key layout: kept
			return nil
		}
		key := tc.AppendKey(frame(nil, fw.keyID), &row)
		val := tc.AppendValue(frame(nil, fw.valID), &ev)
		t.produce(ctx, &kgo.Record{Topic: fw.topic, Key: key, Value: val})
		t.produce(ctx, &kgo.Record{Topic: fw.topic, Key: key})
		r.deleted++
		return t.sb.Delete(table, k)
	})
	if err != nil {
		return nil, err
	}
	if undecodable > 0 {
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Reason: fmt.Sprintf(
			"%d vanished keys are not keys of the file's layout (the table's key columns changed): they are not deleted", undecodable)})
	}
	count.VanishedDeleted += r.deleted
	count.Events += r.deleted
	count.Deletes += r.deleted
	t.rows[[2]string{table, string(codec.OpDelete)}] += r.deleted
	t.vanished[[2]string{table, "deleted"}] += r.deleted
	return r, nil
}

// protect moves the cursor to the key of a full file's row that was not
// published (a dead letter): the file holds it, so it never vanishes; a row
// whose key cannot be read makes the file blind (nothing deleted).
func (p *Publisher) protect(t *txn, fw *fileWork, rw *rowWork) error {
	if fw.scope.mode == ReconcileOff || t.sb == nil {
		return nil
	}
	if rw.skey == nil {
		fw.scope.blind = true
		return nil
	}
	return p.seen(t, fw, rw.skey, false)
}

// markDead records in the table state that the key of a dead letter's
// row (when it can be read) was last sent as that dead letter: its entry's hash becomes the dead
// letter's mark (never an image's), so the key's next row is published
// even if it repeats the image published before, a full file without the
// key vanishes it, and a replay knows nothing changed the key since while
// the mark is there (replayorder.go).
func (p *Publisher) markDead(t *txn, fw *fileWork, rw *rowWork) error {
	if t.sb == nil || !fw.keeps || rw.skey == nil {
		return nil
	}
	e, _, err := t.sb.Get(fw.file.Table, rw.skey, fw.fresh)
	if err != nil {
		return err
	}
	bit, err := p.tables.store.GroupBit(t.group)
	if err != nil {
		return err
	}
	if e.Window == 0 {
		e.Window = rw.window
	}
	e.Hash, e.Groups = deadMark(fw.src.Group, fw.src.Batch, fw.file.Name, rw.line), e.Groups|bit
	return t.sb.Put(fw.file.Table, rw.skey, e)
}

// deadMark is the table-state hash that marks a key last sent as the dead
// letter of group, batch, file and line.
func deadMark(group, batch, file string, line int64) [tablestate.HashSize]byte {
	sum := sha256.Sum256(fmt.Appendf(nil, "sragent dead letter\x00%s\x00%s\x00%s\x00%d", group, batch, file, line))
	var h [tablestate.HashSize]byte
	copy(h[:], sum[:])
	return h
}

// reseen moves the cursor of a reconciled file again to the key of a
// committed row (or dead letter) that a resume skips:
// the walk starts again at the file's first row, and the group holds the
// key again if the row was published (a store rebuilt from the topics does
// not know its unchanged rows): not a delete, nor a row too large for the
// topic (a dead letter).
func (p *Publisher) reseen(t *txn, fw *fileWork, rw *rowWork) error {
	if fw.scope.mode == ReconcileOff || t.sb == nil {
		return nil
	}
	if rw.skey == nil {
		fw.scope.blind = fw.scope.blind || rw.dead != nil
		return nil
	}
	hold := rw.dead == nil && !rw.removed && !fw.tooLarge(len(rw.key)+len(rw.val))
	return p.seen(t, fw, rw.skey, hold)
}

// seen moves fw's cursor to key (a store key), which fw's file holds, if
// its group holds it; with hold (a row the group published, or sent
// unchanged, before a resume), the group holds it (a store rebuilt from
// the topics does not know a group's unchanged rows).
func (p *Publisher) seen(t *txn, fw *fileWork, key []byte, hold bool) error {
	bit, err := p.tables.store.GroupBit(t.group)
	if err != nil {
		return err
	}
	e, known, err := p.lookup(t, fw, key)
	if err != nil || !known || (e.Groups&bit == 0 && !hold) {
		return err
	}
	t.records++
	if e.Groups&bit == 0 {
		e.Groups |= bit
		return t.sb.Put(fw.file.Table, key, e)
	}
	return nil
}

// startCursor starts the walk of the table state alongside a reconciled
// full file (tablestate.Cursor): the keys of its group in its scope that
// no row holds are what vanished.
func (p *Publisher) startCursor(t *txn, fw *fileWork, tc *codec.TableCodec) error {
	fw.cursor = nil
	if fw.scope.mode == ReconcileOff || t.sb == nil || fw.fresh {
		return nil // a table first published by this file: nothing can vanish
	}
	bit, err := p.tables.store.GroupBit(t.group)
	if err != nil {
		return err
	}
	prefixes := [][]byte{nil}
	if orgKeyed(fw.table) {
		prefixes = prefixes[:0]
		for _, org := range fw.orgs {
			prefixes = append(prefixes, tc.AppendStorePrefix(nil, []byte(org)))
		}
	}
	fw.cursor = p.tables.store.NewCursor(fw.file.Table, bit, fw.scope.gen, prefixes,
		func(e tablestate.Entry) bool { return p.inScope(fw, bit, e) })
	return nil
}

// windowOf returns a row's window-column value (0: none).
func windowOf(fw *fileWork, row *codec.Row) int64 {
	if sc := &fw.scope; sc.win >= 0 && row.Values[sc.win].Kind == codec.Time {
		return row.Values[sc.win].Int
	}
	return 0
}

// inScope reports whether an entry is in the scope of fw's reconciliation:
// held by the group with bit, and within the window, if there is one.
func (p *Publisher) inScope(fw *fileWork, bit uint64, e tablestate.Entry) bool {
	sc := &fw.scope
	return e.Groups&bit != 0 && (sc.win < 0 || e.Window >= sc.winFrom)
}

// lookup returns key's state for a row of fw's file, moving the file's
// cursor to it when it has one.
func (p *Publisher) lookup(t *txn, fw *fileWork, key []byte) (tablestate.Entry, bool, error) {
	if fw.cursor != nil {
		return fw.cursor.Key(t.sb, key)
	}
	return t.sb.Get(fw.file.Table, key, fw.fresh)
}
