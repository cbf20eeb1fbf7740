package producer

import (
	"context"
	"errors"
	"io"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
)

// Publishing a file is two stages on two goroutines: the read stage
// (readFile) reads, converts and encodes the rows, and computes their
// store keys and image hashes, in chunks; the publish stage (produceFile)
// takes the chunks in order and does everything that touches a
// transaction: the table state, producing, dead letters, commits and their
// checkpoints. So a transaction still commits exactly the rows before its
// checkpoint, and only the read stage uses the scanner and the table's
// codec while the file is read.

const (
	chunkRows = 1024      // rows per chunk
	chunkSlab = 128 << 10 // bytes of a slab of encoded rows
	// chunksAhead are the chunks the read stage may be ahead: enough to
	// go on reading while the publish stage commits a transaction (tens of
	// ms: ~16k rows), which 2 chunks left it blocked for a fifth of a
	// first publish.
	chunksAhead = 16
	// chunksHeld are the most published chunks the publish stage keeps
	// until their transaction commits, to be reused: a transaction of
	// 50,000 rows.
	chunksHeld = 64
)

// rowWork is one row as the read stage leaves it for the publish stage.
type rowWork struct {
	line int64
	// dead is the error of a row that did not convert (a dead letter);
	// the fields below but skey, window and fields are then unset.
	dead    *codec.RowError
	op      codec.Op
	removed bool
	// key and val are the event's, framed; they live in a slab of their
	// own, so they are produced as they are (never copied).
	key, val []byte
	skey     []byte            // the row's store key; nil: its key cannot be read
	window   int64             // its window column's value (windowOf)
	image    [2]int            // where the row image is in val (codec.TableCodec.Image)
	keyOnly  bool              // only its key is filled (looked at in a file that cannot delete)
	nulled   []codec.CellError // a delete's cells that did not convert (codec.Row.Nulled)
	// unlabelled are its list columns whose id the lists lack.
	unlabelled []string
	// fields are the cells of a dead letter or of a row too large for the
	// topic (nil: the record could not be split into cells).
	fields [][]byte
}

// chunk is a run of rows in file order.
type chunk struct {
	rows   []rowWork
	offset int64 // the input bytes read up to the chunk's last row
	tsMs   int64 // the clock when the chunk was read: its events' ts_ms and their records' timestamp
	// end says the chunk is the file's last: read to its end (err nil) or
	// up to err, which ends the file (a *codec.FileError or a read error).
	end bool
	err error
	// changed: at the end, the file's bytes differ from the structure
	// pass's.
	changed bool
	// slabs hold the encoded rows (the first used of them: rowReader.room)
	// and recs the records of them produced (fileWork.record); both are
	// kept with the chunk when it is used again.
	slabs [][]byte
	used  int
	recs  []kgo.Record
}

// rowReader is the read stage of one file.
type rowReader struct {
	fw   *fileWork
	tc   *codec.TableCodec
	sc   *codec.Scanner
	ck   *digest // newCheck's
	now  func() int64
	c    *chunk // the chunk being filled
	slab []byte // its slab with room
}

// readFile runs the read stage until the file ends or ctx is done; it
// closes out when it stops. Chunks come back on free for reuse.
func (r *rowReader) readFile(ctx context.Context, out chan<- *chunk, free <-chan *chunk) {
	defer close(out)
	for ctx.Err() == nil {
		var c *chunk
		select {
		case c = <-free:
			*c = chunk{rows: c.rows[:0], slabs: c.slabs, recs: c.recs[:0]}
		default:
			c = &chunk{rows: make([]rowWork, 0, chunkRows)}
		}
		r.fill(c)
		select {
		case out <- c:
		case <-ctx.Done():
			return
		}
		if c.end {
			return
		}
	}
}

// fill reads up to chunkRows rows into c.
func (r *rowReader) fill(c *chunk) {
	c.tsMs = r.now() // one clock read per chunk
	r.c, r.slab = c, nil
	ev := codec.Event{Source: r.fw.src, TsMs: c.tsMs}
	for len(c.rows) < chunkRows {
		row, err := r.sc.Scan()
		if err != nil {
			if c.end, c.err = r.failed(c, err); c.end {
				break
			}
			continue
		}
		c.rows = append(c.rows, rowWork{})
		ev.Op, ev.Row, ev.Source.Line = codec.OpFor(r.fw.full, row.Removed), row, r.sc.Line()
		rw := &c.rows[len(c.rows)-1]
		r.slab = r.fw.prepareRow(rw, r.room(), r.tc, &ev)
		if r.fw.tooLarge(len(rw.key) + len(rw.val)) {
			rw.fields = r.cells()
		}
	}
	c.offset = r.sc.Offset()
	if c.end {
		// The rest of the file (after an error: what could not be read
		// as rows) must be the bytes the structure pass read.
		_, err := io.Copy(io.Discard, r.ck)
		c.changed = err == nil && r.ck.sum() != r.fw.check
		if c.err == nil && err != nil {
			c.err = err
		}
	}
}

// failed adds the row of a *codec.RowError to c, or says the file ends:
// at its end (err nil) or at err.
func (r *rowReader) failed(c *chunk, err error) (end bool, _ error) {
	var re *codec.RowError
	switch {
	case errors.Is(err, io.EOF):
		return true, nil
	case errors.As(err, &re):
		c.rows = append(c.rows, rowWork{})
		r.dead(&c.rows[len(c.rows)-1], re)
		return false, nil
	}
	return true, err
}

// dead fills rw for a row that did not convert: its cells and, when its
// key can be read, its store key.
func (r *rowReader) dead(rw *rowWork, re *codec.RowError) {
	rw.line, rw.dead = re.Line, re
	rw.fields = r.cells()
	if row, ok := r.sc.KeyRow(); ok {
		r.slab = r.room()
		n := len(r.slab)
		r.slab = r.tc.AppendStoreKey(r.slab, row)
		rw.skey, rw.window = r.slab[n:len(r.slab):len(r.slab)], windowOf(r.fw, row)
	}
}

// cells copies the record last read, or nil.
func (r *rowReader) cells() [][]byte {
	fields := r.sc.Fields()
	if fields == nil {
		return nil
	}
	out := make([][]byte, len(fields))
	for i, f := range fields {
		out[i] = append([]byte(nil), f...)
	}
	return out
}

// room returns a slab of the chunk being filled with space for a row,
// taking the next one when little is left. A chunk's rows are in its own
// slabs only, so that they are reused with it.
func (r *rowReader) room() []byte {
	if cap(r.slab)-len(r.slab) < chunkSlab/16 {
		c := r.c
		if c.used == len(c.slabs) {
			c.slabs = append(c.slabs, make([]byte, 0, chunkSlab))
		}
		r.slab = c.slabs[c.used][:0]
		c.used++
	}
	return r.slab
}

// prepareRow encodes ev (a row that converted) after slab, which it
// returns grown, and fills rw with what the publish stage needs: the key
// and value, where the image is in the value, the store key, the window.
func (fw *fileWork) prepareRow(rw *rowWork, slab []byte, tc *codec.TableCodec, ev *codec.Event) []byte {
	row := ev.Row
	*rw = rowWork{line: ev.Source.Line, op: ev.Op, removed: row.Removed, window: windowOf(fw, row)}
	n := len(slab)
	slab = tc.AppendKey(frame(slab, fw.keyID), row)
	m := len(slab)
	slab = tc.AppendValue(frame(slab, fw.valID), ev)
	from, to := tc.ImageBounds()
	rw.image = [2]int{from - m, to - m}
	v := len(slab)
	slab = tc.AppendStoreKey(slab, row)
	rw.key, rw.val, rw.skey = slab[n:m:m], slab[m:v:v], slab[v:len(slab):len(slab)]
	if fw.cannotDelete {
		rw.keyOnly = tc.KeyOnly(row)
	}
	if len(row.Nulled) > 0 {
		rw.nulled = append([]codec.CellError(nil), row.Nulled...)
	}
	if len(row.Unlabelled) > 0 {
		rw.unlabelled = append([]string(nil), row.Unlabelled...)
	}
	return slab
}

// record returns a record of fw's topic for key and val (nil: a
// tombstone), stamped fw.stamp (a replay's) or else fw.chunkAt. It is one
// of the records of fw.chunk, the chunk being published, when there is
// one, or else of a slab of records: franz-go keeps each until the broker
// acknowledged it, the slab goes when all of them have.
func (fw *fileWork) record(key, val []byte) *kgo.Record {
	at := fw.stamp
	if at.IsZero() {
		at = fw.chunkAt
	}
	var r *kgo.Record
	if c := fw.chunk; c != nil {
		if len(c.recs) == cap(c.recs) {
			// The records before stay with franz-go until delivered.
			c.recs = make([]kgo.Record, 0, chunkRows)
		}
		c.recs = c.recs[:len(c.recs)+1]
		r = &c.recs[len(c.recs)-1]
	} else {
		if len(fw.recs) == 0 {
			fw.recs = make([]kgo.Record, chunkRows)
		}
		r = &fw.recs[0]
		fw.recs = fw.recs[1:]
	}
	*r = kgo.Record{Topic: fw.topic, Key: key, Value: val, Timestamp: at}
	return r
}

// held keeps published chunks until their records are delivered: a
// commit has waited for every record produced before it, and then the
// chunks go back to the read stage (reuse) for their slabs and records.
type held []*chunk

// add keeps c, published: reused at once when none of its rows was
// produced (unchanged), or after the next commit. Past chunksHeld the
// chunk is left to the garbage collector.
func (h *held) add(c *chunk, free chan<- *chunk) {
	switch {
	case len(c.recs) == 0:
		h.reuse(c, free)
	case len(*h) < chunksHeld:
		*h = append(*h, c)
	}
}

// committed reuses the chunks held: their records are delivered.
func (h *held) committed(free chan<- *chunk) {
	for i, c := range *h {
		h.reuse(c, free)
		(*h)[i] = nil
	}
	*h = (*h)[:0]
}

func (held) reuse(c *chunk, free chan<- *chunk) {
	select {
	case free <- c:
	default: // more than the read stage keeps
	}
}
