package producer

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer/tablestate"
)

// produce writes the batch in transactions, each closed by a checkpoint.
func (p *Publisher) produce(ctx context.Context, w *work, prog *Progress, resume bool) (Result, error) {
	b, res := w.batch, w.res
	cur := copyProgress(prog)
	if !resume {
		cur.Batch, cur.Manifest, cur.File, cur.Line, cur.FileEvents, cur.FileUnchanged = b.Name, b.ManifestSHA256, 0, 0, 0, 0
		cur.PrevCutOff, cur.BatchCutOff = prog.BatchCutOff, w.cutOff
		cur.Files = w.digests()
		cur.Counts = map[string]*TableCount{}
	}
	cur.Done, cur.Resume, cur.Halted, cur.Changed, cur.GaveUp, cur.HaltedAt = false, false, "", false, false, ""
	cur.GapTables = nil
	t, err := p.begin(ctx, b.Group)
	if err != nil {
		return Result{}, err
	}
	if !resume {
		rec, err := p.batchEvent("BEGIN", w, nil)
		if err != nil {
			return Result{}, p.abort(ctx, t, err)
		}
		t.produce(ctx, rec)
	}
	for fi := cur.File; fi < len(w.files); fi++ {
		if t, err = p.produceFile(ctx, t, w, w.files[fi], &cur); err != nil {
			return Result{}, p.abort(ctx, t, err)
		}
		cur.File, cur.Line, cur.FileEvents, cur.FileUnchanged = fi+1, 0, 0, 0
	}
	cur.Organisations = orgChanges(w, cur.Organisations)
	switch {
	case w.lists != nil && p.dry != nil:
		if p.dryLists == nil {
			p.dryLists = map[string]*batchLists{}
		}
		p.dryLists[b.Group] = w.lists
	case w.lists != nil && t.sb != nil:
		if err := w.lists.save(t.sb); err != nil {
			p.tables.failed(t, err)
			p.stale = true
		}
	}
	end, err := p.batchEvent("END", w, cur.Counts)
	if err != nil {
		return Result{}, p.abort(ctx, t, err)
	}
	t.produce(ctx, end)
	res.Outcome = Published
	for i, f := range b.Files {
		if f.Listed && !f.Entry.Undated() {
			cur.Tables[f.Table] = Range{From: f.Entry.From.String(), To: f.Entry.To.String(), Batch: b.Name}
		}
		if c := cur.Counts[f.Table]; c != nil {
			res.Events += c.Events
			res.Deletes += c.Deletes
			res.DeadLetters += c.DeadLetters
			res.Unchanged += c.Unchanged
			res.Vanished += c.Vanished
			res.VanishedDeleted += c.VanishedDeleted
			fr := res.Files[i]
			fr.Events, fr.Deletes, fr.DeadLetters, fr.Unchanged = c.Events, c.Deletes, c.DeadLetters, c.Unchanged
			fr.Vanished, fr.VanishedDeleted, fr.NulledCells, fr.KeyOnlyUpserts = c.Vanished, c.VanishedDeleted, c.NulledCells, c.KeyOnlyUpserts
			fr.Unlabelled = c.Unlabelled
		}
	}
	cur.Done = true
	pub := &PublishedBatch{Group: b.Group, Batch: b.Name, Manifest: b.ManifestSHA256, Events: res.Events, At: p.now().UTC(), Files: w.digests()}
	rec, err := publishedRecord(p.cfg.StateTopic(), pub)
	if err != nil {
		return Result{}, p.abort(ctx, t, err)
	}
	t.produce(ctx, rec)
	if err := p.commit(ctx, t, &cur); err != nil {
		return Result{}, err
	}
	p.metrics.organisations(b.Group, len(cur.Organisations), len(w.orgsNew), len(w.orgsAbsent))
	p.state.Published[b.Group+"/"+b.Name] = pub
	return *res, nil
}

// produceFile publishes one file's rows (after cur.Line when resuming),
// committing whenever the transaction is full. It returns the transaction
// that is open at the end.
func (p *Publisher) produceFile(ctx context.Context, t *txn, w *work, fw *fileWork, cur *Progress) (*txn, error) {
	count := cur.Counts[fw.file.Table]
	if count == nil {
		count = &TableCount{}
		cur.Counts[fw.file.Table] = count
	}
	whole, deadBefore := p.appliedMay(t, fw, cur), count.DeadLetters
	if same, err := p.sameFile(ctx, t, w, fw, cur, count); err != nil || same {
		return t, err
	}
	fw.watchRepeats(whole)
	defer func() { fw.keySums, fw.lastKey = nil, nil }()
	rc, err := w.batch.Open(fw.file)
	if err != nil {
		return t, err
	}
	defer rc.Close()
	ck := newCheck(rc)
	sc, err := codec.NewScannerWith(fw.file.Table, ck, p.dialect, codec.Options{Pins: fw.pins, Labels: p.labels})
	if err != nil {
		return t, fmt.Errorf("%s: %w", fw.file.Name, err)
	}
	sc.SetLabels(w.lists)
	tc := fw.tc // the same header as in prepare, so the same layout
	if fw.fresh, err = p.tables.empty(fw.file.Table); err != nil {
		return t, err
	}
	if fw.fresh && p.dry != nil && t.sb != nil {
		// An earlier batch of the run wrote it, or the run lost count.
		fw.fresh = !t.sb.Holds(fw.file.Table) && !t.sb.Overflowed()
	}
	if err := p.startCursor(t, fw, tc); err != nil {
		return t, err
	}
	defer fw.cursor.Close()
	if fw.full && cur.Line == 0 {
		if err := p.markers(ctx, t, fw, tc, codec.Marker{Type: codec.MarkerBegin}); err != nil {
			return t, err
		}
	}
	var offset int64 // read so far
	report := func(n int64, done bool) {
		if p.progress != nil {
			p.progress(w.batch.Group, w.batch.Name, fw.file.Name, offset, fw.file.Size, n, done)
		}
	}
	// Events per op since the last commit, added to the transaction's
	// metric counts when it commits (no map work per row).
	var byOp [256]int64
	flush := func() {
		for op, k := range byOp {
			if k > 0 {
				t.rows[[2]string{fw.file.Table, string(rune(op))}] += k
				byOp[op] = 0
			}
		}
	}
	rd := &rowReader{fw: fw, tc: tc, sc: sc, ck: ck, now: func() int64 { return p.now().UnixMilli() }}
	rctx, stop := context.WithCancel(ctx)
	chunks, free := make(chan *chunk, chunksAhead), make(chan *chunk, chunksAhead+chunksHeld+2)
	go rd.readFile(rctx, chunks, free)
	defer func() {
		stop()
		for range chunks { // the read stage is done with the file before it closes
		}
		fw.recs, fw.chunk = nil, nil // the records' slab, and through them the rows' slabs
	}()
	var n int64
	var last *chunk
	var done held // published chunks, reused once committed
	for c := range chunks {
		fw.chunkAt = time.UnixMilli(c.tsMs) // the records' timestamp: their events' ts_ms
		fw.chunk = c
		for i := range c.rows {
			rw := &c.rows[i]
			if n%8192 == 0 {
				if err := ctx.Err(); err != nil {
					return t, err
				}
				report(n, false)
			}
			n++
			if skip, err := p.row(ctx, t, w, fw, cur, count, rw, &byOp); err != nil {
				return t, err
			} else if skip {
				continue
			}
			cur.Line = max(cur.Line, rw.line+1)
			if t.records >= p.cfg.TxnRecords || t.bytes >= p.cfg.TxnBytes || (n%1024 == 0 && time.Since(t.began) > p.cfg.TxnTimeout/2) {
				flush()
				if err := p.commit(ctx, t, cur); err != nil {
					return nil, err
				}
				done.committed(free)
				if t, err = p.begin(ctx, t.group); err != nil {
					return nil, err
				}
			}
		}
		offset, last = c.offset, c
		if !c.end {
			done.add(c, free)
		}
	}
	flush()
	switch {
	case (last == nil || !last.end) && ctx.Err() != nil:
		return t, ctx.Err() // stopped before the file's end: none of what ends it
	case last == nil || !last.end:
		return t, fmt.Errorf("%s: the read stage stopped before the end of the file", fw.file.Name)
	case last.changed:
		return t, &FileChangedError{File: fw.file.Name}
	case last.err != nil:
		return t, fmt.Errorf("%s: %w", fw.file.Name, last.err)
	}
	p.metrics.read(w.batch.Group, offset)
	fw.reportUnlabelled(w.res)
	report(n, true)
	if fw.full {
		r, err := p.vanish(ctx, t, w, fw, tc, count)
		if err != nil {
			return t, err
		}
		end := endMarker(cur, count, r)
		if t.sb != nil && fw.keeps {
			if err := t.sb.Complete(fw.file.Table, w.batch.Group); err != nil {
				return t, err
			}
		}
		if whole {
			if err := p.applied(t, w, fw, r, deadBefore, count); err != nil {
				return t, err
			}
		}
		if err := p.markers(ctx, t, fw, tc, end); err != nil {
			return t, err
		}
	}
	return t, nil
}

// endMarker is a full file's end marker: its counts so far and, when it
// was reconciled (r), what vanished.
func endMarker(cur *Progress, count *TableCount, r *reconciled) codec.Marker {
	n, dead, same := cur.FileEvents, count.DeadLetters, cur.FileUnchanged
	end := codec.Marker{Type: codec.MarkerEnd, RowCount: &n, DeadLetters: &dead, Unchanged: &same}
	if r != nil {
		end.Vanished, end.VanishedDeleted = &r.vanished, &r.deleted
	}
	return end
}

// row publishes one row of the file (a dead letter for one that did not
// convert or is too large) and counts it; skip says a row committed before
// a restart was passed over, and the transaction need not be looked at.
func (p *Publisher) row(ctx context.Context, t *txn, w *work, fw *fileWork, cur *Progress, count *TableCount, rw *rowWork, byOp *[256]int64) (skip bool, err error) {
	switch {
	case rw.line < cur.Line:
		// Committed before a restart. A reconciled file's walk of the
		// table state starts again from its first row (and the group
		// holds the keys it published again: a store rebuilt from the
		// topics does not know the unchanged ones), and whether a dead
		// letter's key was unreadable is found again.
		if err := p.reseen(t, fw, rw); err != nil {
			p.tables.failed(t, err)
			p.stale = true
		}
		return t.records < p.cfg.TxnRecords, nil
	case rw.dead != nil:
		if err := p.deadLetter(ctx, t, w, fw, count, rw.dead, rw.fields); err != nil {
			return false, err
		}
		if err := p.protect(t, fw, rw); err != nil {
			p.tables.failed(t, err)
			p.stale = true
		}
		if err := p.markDead(t, fw, rw); err != nil {
			p.tables.failed(t, err)
			p.stale = true
		}
		return false, nil
	}
	unchanged, re := p.event(ctx, t, fw, rw)
	switch {
	case re != nil:
		// Too large for the broker: a dead letter, with its cells when the
		// dead-letter topic takes them (a replay once the topic's
		// max.message.bytes is raised).
		return false, p.deadLetter(ctx, t, w, fw, count, re, rw.fields)
	case unchanged:
		count.Unchanged++
		cur.FileUnchanged++
		t.unchanged[fw.file.Table]++
		t.records++ // rows read bound a transaction too: a re-send of unchanged rows must not outlive its timeout
		return false, nil
	}
	count.Events++
	cur.FileEvents++
	byOp[rw.op]++
	if rw.removed {
		count.Deletes++
	}
	p.rowWarnings(t, w, fw, count, rw)
	return false, nil
}

// event produces a row's event, and after a delete its tombstone, and
// records the key's new state. A row whose image is the one last
// published for its key is not produced (unchanged). An event larger
// than the topic accepts is not produced: it returns the
// *codec.RowError of its dead letter.
func (p *Publisher) event(ctx context.Context, t *txn, fw *fileWork, rw *rowWork) (unchanged bool, re *codec.RowError) {
	if n := len(rw.key) + len(rw.val); fw.tooLarge(n) {
		if t.sb != nil && fw.scope.mode != ReconcileOff {
			if err := p.seen(t, fw, rw.skey, false); err != nil {
				p.tables.failed(t, err)
				p.stale = true
			}
		}
		if err := p.markDead(t, fw, rw); err != nil {
			p.tables.failed(t, err)
			p.stale = true
		}
		return false, &codec.RowError{Line: rw.line, Err: codec.ErrTooLarge(n, fw.maxRecord)}
	}
	if t.sb != nil && fw.keeps {
		if unchanged, err := p.track(t, fw, rw); err != nil {
			p.tables.failed(t, err) // published without the table state
			p.stale = true          // until the next state read empties it
		} else if unchanged {
			return true, nil
		}
	}
	if t.cl == nil {
		t.count(len(rw.key) + len(rw.val))
		if rw.op == codec.OpDelete {
			t.count(len(rw.key))
		}
		return false, nil
	}
	t.produce(ctx, fw.record(rw.key, rw.val))
	if rw.op == codec.OpDelete {
		t.produce(ctx, fw.record(rw.key, nil)) // tombstone: a real null value
	}
	return false, nil
}

// tooLarge reports whether a record of n bytes is more than fw's topic
// accepts.
func (fw *fileWork) tooLarge(n int) bool { return n > fw.maxRecord }

// track looks a row up in the table state (for a reconciled full file:
// moves its cursor to the row's key) and records its new image and its
// group (a delete: forgets the key); unchanged says the image is the one last published
// and suppression is on, so the row is not produced. An unchanged row is
// written only when the file or group holding it is new.
func (p *Publisher) track(t *txn, fw *fileWork, rw *rowWork) (unchanged bool, err error) {
	table := fw.file.Table
	e, known, err := p.lookup(t, fw, rw.skey)
	if err != nil {
		return false, err
	}
	if rw.op == codec.OpDelete {
		fw.again, fw.keySums = true, nil // published again whenever read
		return false, t.sb.Delete(table, rw.skey)
	}
	if fw.keySums != nil {
		fw.keySums = append(fw.keySums, maphash.Bytes(keySeed, rw.skey))
		fw.ascending = fw.ascending && (fw.lastKey == nil || bytes.Compare(rw.skey, fw.lastKey) > 0)
		fw.lastKey = append(fw.lastKey[:0], rw.skey...) // its slab is reused
	}
	bit, err := p.tables.store.GroupBit(t.group)
	if err != nil {
		return false, err
	}
	var h [tablestate.HashSize]byte
	fw.hbuf, h = imageHash(fw.hbuf, fw.schemaSum, rw.val[rw.image[0]:rw.image[1]])
	next := tablestate.Entry{Hash: h, Groups: e.Groups | bit, Window: rw.window}
	unchanged = known && e.Hash == h && p.tables.suppress
	if unchanged && next == e {
		return true, nil
	}
	return unchanged, t.sb.Put(table, rw.skey, next)
}
