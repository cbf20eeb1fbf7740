package producer

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer/tablestate"
)

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
	sc := &fw.scope
	if sc.mode == ReconcileOff || t.sb == nil {
		return nil, nil
	}
	if t.sb.Overflowed() {
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name,
			Reason: "too many changes in this run to predict what vanishes from the file"})
		return nil, nil
	}
	bit, err := p.tables.store.GroupBit(w.batch.Group)
	if err != nil {
		return nil, err
	}
	var prefixes [][]byte
	if orgKeyed(fw.table) {
		for _, org := range fw.orgs {
			prefixes = append(prefixes, tc.AppendKeyPrefix(nil, []byte(org)))
		}
	} else {
		prefixes = [][]byte{tc.AppendKeyPrefix(nil)}
	}
	table := fw.file.Table
	inScope := func(e tablestate.Entry) bool {
		return e.Groups&bit != 0 && (sc.win < 0 || e.Window >= sc.winFrom)
	}
	var known, gone int64
	err = t.sb.Scan(table, prefixes, func(_ []byte, e tablestate.Entry) error {
		if inScope(e) {
			known++
			if e.Seen != sc.gen {
				gone++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r := &reconciled{vanished: gone}
	count.Vanished += gone
	t.vanished[[2]string{table, "reported"}] += gone
	if gone == 0 {
		return r, nil
	}
	if float64(known-gone) < p.reconcile.MinRatio*float64(known) {
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Reason: fmt.Sprintf(
			"the full file holds %d of the %d keys known for its scope, under reconcile.min_ratio %.2f: none of the %d that vanished is deleted",
			known-gone, known, p.reconcile.MinRatio, gone)})
		t.guarded[table]++
		return r, nil
	}
	if sc.mode != ReconcileDelete {
		return r, nil
	}
	if sc.blind {
		w.res.problem(Problem{Severity: SeverityWarning, File: fw.file.Name, Reason: fmt.Sprintf(
			"%d keys vanished, but a dead letter's key could not be read: none is deleted", gone)})
		return r, nil
	}
	var row codec.Row
	ev := codec.Event{Source: fw.src, Op: codec.OpDelete, Row: &row, TsMs: p.now().UnixMilli()}
	err = t.sb.Scan(table, prefixes, func(k []byte, e tablestate.Entry) error {
		if !inScope(e) || e.Seen == sc.gen {
			return nil
		}
		if e.Groups&^bit != 0 { // another group still holds it
			e.Groups &^= bit
			return t.sb.Put(table, k, e)
		}
		if err := tc.KeyRow(k, &row); err != nil {
			return fmt.Errorf("table state of %s: %w", table, err)
		}
		key := append(frame(make([]byte, 0, 5+len(k)), fw.keyID), k...)
		val := tc.AppendValue(frame(nil, fw.valID), &ev)
		t.produce(ctx, &kgo.Record{Topic: fw.topic, Key: key, Value: val})
		t.produce(ctx, &kgo.Record{Topic: fw.topic, Key: key})
		r.deleted++
		return t.sb.Delete(table, k)
	})
	if err != nil {
		return nil, err
	}
	count.VanishedDeleted += r.deleted
	count.Events += r.deleted
	count.Deletes += r.deleted
	t.rows[[2]string{table, string(codec.OpDelete)}] += r.deleted
	t.vanished[[2]string{table, "deleted"}] += r.deleted
	return r, nil
}

// protect marks the key of a full file's row that was not published (a
// dead letter) as held by the file, so that it never vanishes; a row
// whose key cannot be read makes the file blind (nothing deleted).
func (p *Publisher) protect(t *txn, fw *fileWork, tc *codec.TableCodec, sc *codec.Scanner) error {
	if fw.scope.mode == ReconcileOff || t.sb == nil {
		return nil
	}
	row, ok := sc.KeyRow()
	if !ok {
		fw.scope.blind = true
		return nil
	}
	return p.seen(t, fw, tc.AppendKey(nil, row))
}

// seen marks key (without its frame) as held by fw, if the state knows it.
func (p *Publisher) seen(t *txn, fw *fileWork, key []byte) error {
	e, known, err := t.sb.Get(fw.file.Table, key, fw.fresh)
	if err != nil || !known || e.Seen == fw.scope.gen {
		return err
	}
	e.Seen = fw.scope.gen
	return t.sb.Put(fw.file.Table, key, e)
}
