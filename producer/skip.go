package producer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer/tablestate"
)

// A full file whose bytes are those of the group's last full file of the
// table, converted and judged the same way, with no key of the table
// changed since, leaves every row unchanged and nothing vanished: it is
// not read again (its structure pass has read it). The store's Applied
// record says what the last full file left the table as; any change of
// the table removes it (tablestate.Applied).

// codeID is the SHA-256 of the running executable: the conversion of a
// file is a function of its bytes, the options in fingerprint and the
// code, so another build never takes an earlier build's word for a
// file. Nil when the executable cannot be read: no file is skipped.
var codeID = sync.OnceValue(func() []byte {
	path, err := os.Executable()
	if err != nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil
	}
	return h.Sum(nil)
})

// fingerprint names how fw's rows are converted and judged: the code,
// the dialect, the schemas (with the types its subjects pin), the labels (and the group's
// lists they come from), the reconciliation and its scope
// (without the file's generation), suppression and the largest record
// the topic takes. ok is false when the code is unknown.
func (p *Publisher) fingerprint(w *work, fw *fileWork) (sum [32]byte, ok bool) {
	code := p.code
	if code == nil {
		return sum, false
	}
	h := sha256.New()
	sc := fw.scope
	sc.gen = 0
	// The types the subjects pin are in the schemas: a pin that changes
	// a field's conversion changes its type.
	opts := codec.Options{Labels: p.labels}
	fmt.Fprintf(h, "%x\x00%#v\x00%#v\x00%#v\x00%#v\x00%t\x00%d\x00%d\x00%s\x00%s\x00", code, p.dialect,
		opts, sc, p.reconcile, p.tables.suppress, fw.maxRecord, fw.schemaSum,
		fw.tc.Avro.Key, fw.tc.Avro.Value)
	if p.labels && w.lists != nil {
		h.Write(w.listsSum())
	}
	h.Sum(sum[:0])
	return sum, true
}

// listsSum is the SHA-256 of the lists the batch leaves its group, which
// label its rows (computed once a batch).
func (w *work) listsSum() []byte {
	if w.listsSHA != nil {
		return w.listsSHA
	}
	h := sha256.New()
	bl := w.lists
	refs := make([]string, 0, len(bl.byList))
	for ref := range bl.byList {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	var b []byte
	for _, ref := range refs {
		ids := make([]int64, 0, len(bl.byList[ref]))
		for id := range bl.byList[ref] {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		b = append(append(b[:0], ref...), 0)
		b = binary.AppendUvarint(b, uint64(len(ids)))
		h.Write(b)
		for _, id := range ids {
			text := bl.byList[ref][id]
			b = binary.AppendVarint(b[:0], id)
			b = binary.AppendUvarint(b, uint64(len(text)))
			h.Write(append(b, text...))
		}
	}
	w.listsSHA = h.Sum(nil)
	return w.listsSHA
}

// appliedMay says whether what fw does to the table can be recorded, or
// taken, as an Applied: a full file of a table with state, suppressing
// unchanged rows, with the whole file in one run of the agent.
func (p *Publisher) appliedMay(t *txn, fw *fileWork, cur *Progress) bool {
	return fw.full && fw.keeps && t.sb != nil && p.tables.suppress && !p.stale && cur.Line == 0
}

// sameFile reports whether fw is the group's last full file of its
// table, converted the same way, with the table unchanged since; then
// it publishes what that file's rows would be: its markers, every row
// unchanged, nothing vanished.
func (p *Publisher) sameFile(ctx context.Context, t *txn, w *work, fw *fileWork, cur *Progress, count *TableCount) (bool, error) {
	if !p.appliedMay(t, fw, cur) {
		return false, nil
	}
	a, ok, err := t.sb.Applied(fw.file.Table, t.group)
	if err != nil {
		p.tables.failed(t, err) // read as though there were no record
		p.stale = true
		return false, nil
	}
	if !ok || a.SHA256 != fw.sum.SHA256 {
		return false, nil
	}
	if fp, ok := p.fingerprint(w, fw); !ok || fp != a.Fingerprint {
		return false, nil
	}
	tc, table, rows := fw.tc, fw.file.Table, fw.rows
	if err := p.markers(ctx, t, fw, tc, codec.Marker{Type: codec.MarkerBegin}); err != nil {
		return false, err
	}
	count.Unchanged += rows
	cur.FileUnchanged += rows
	t.unchanged[table] += rows
	fw.report.SameAs = a.Batch
	p.metrics.read(w.batch.Group, fw.sum.Size)
	if p.progress != nil {
		p.progress(w.batch.Group, w.batch.Name, fw.file.Name, fw.sum.Size, fw.file.Size, rows, true)
	}
	p.log.Info("full file identical to one the table state holds unchanged: not read again", "group", w.batch.Group,
		"batch", w.batch.Name, "file", fw.file.Name, "same_as", a.Batch, "rows", rows)
	var r *reconciled // nothing vanished
	if fw.scope.mode != ReconcileOff {
		r = &reconciled{}
	}
	return true, p.markers(ctx, t, fw, tc, endMarker(cur, count, r))
}

// appliedMaxRows bounds the rows of a full file whose keys are checked
// for repeats (8 bytes each): a larger one is not recorded as applied.
const appliedMaxRows = 1 << 22

// keySeed hashes the keys of a file for repeats.
var keySeed = maphash.MakeSeed()

// watchRepeats starts the check of a full file that may be recorded as
// applied for keys it holds twice (where a second image of a key would
// be published again at every read).
func (fw *fileWork) watchRepeats(whole bool) {
	fw.again, fw.keySums, fw.ascending, fw.lastKey = whole && fw.rows > appliedMaxRows, nil, true, nil
	if whole && !fw.again {
		fw.keySums = make([]uint64, 0, fw.rows)
	}
}

// againAfter reports whether reading the file fw just published again
// would publish or report something its skip would not: a delete row
// (published at every read), a key twice (its first image too), a
// vanished key still held (reported again; or one held back, which the
// next read may delete), or what vanished unknown.
func (fw *fileWork) againAfter(r *reconciled) bool {
	// No reconciliation of a reconciled file: a dry run lost count.
	unknown := r == nil && fw.scope.mode != ReconcileOff
	if fw.again || unknown || (r != nil && r.vanished != r.deleted) {
		return true
	}
	if fw.ascending {
		return false // every key after the one before: none twice
	}
	sums := fw.keySums
	slices.Sort(sums)
	for i := 1; i < len(sums); i++ {
		if sums[i] == sums[i-1] {
			return true
		}
	}
	return false
}

// applied records what fw, published whole with no dead letter and
// reconciled as r, left its table as, unless reading it again would
// publish or report something (againAfter).
func (p *Publisher) applied(t *txn, w *work, fw *fileWork, r *reconciled, deadBefore int64, count *TableCount) error {
	if t.sb == nil || count.DeadLetters != deadBefore || p.stale || fw.againAfter(r) {
		return nil
	}
	fp, ok := p.fingerprint(w, fw)
	if !ok {
		return nil
	}
	return t.sb.SetApplied(fw.file.Table, t.group, tablestate.Applied{SHA256: fw.sum.SHA256, Fingerprint: fp, Batch: w.batch.Name})
}
