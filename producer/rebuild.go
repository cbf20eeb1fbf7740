package producer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer/tablestate"
	"github.com/sragent/sragent/schemas"
)

// rebuildChunk is how many records rebuild writes to the store at once.
const rebuildChunk = 20_000

// rebuildTables rebuilds the table state from the table topics, read as a
// read_committed consumer from the start, so that it reflects exactly the
// committed events of want (group → checkpoint, the state just read): a
// replacement PC, a deleted or lost state.dir, a store behind Kafka (a
// crash between the two commits), another agent's commit. The store is
// emptied first, so that a failure half-way leaves an empty store without
// checkpoints, which the next pass rebuilds again.
func (p *Publisher) rebuildTables(ctx context.Context, want map[string][]byte, st *State) error {
	s := p.tables.store
	if err := s.Reset(); err != nil {
		return err
	}
	topics, err := p.tableTopics(ctx)
	if err != nil {
		return err
	}
	began := time.Now()
	rb := &rebuilder{ctx: ctx, p: p, readers: map[uint32]*eventReader{}, keys: map[uint32][]schemas.Type{}, b: s.NewBatch(""),
		lists: map[string]map[string]listRow{}}
	for _, list := range listTables {
		rb.lists[list] = map[string]listRow{}
	}
	if len(topics) > 0 {
		err = readStable(ctx, p.cfg, topics, 5*time.Second, rb.record)
	}
	if err == nil {
		err = rb.err
	}
	if err == nil {
		err = rb.b.Commit(nil)
	} else {
		rb.b.Discard()
	}
	if err == nil {
		err = rb.saveLists(want)
	}
	if err != nil {
		return fmt.Errorf("rebuild the table state from the topics: %w", err)
	}
	published := publishedTables(st)
	for gt := range rb.tables {
		published[gt[0]] = append(published[gt[0]], gt[1])
	}
	if err := s.Rebuilt(want, published); err != nil {
		return err
	}
	p.log.Info("the table state was rebuilt from the topics", "topics", len(topics), "records", rb.n, "skipped", rb.foreign,
		"took", time.Since(began).Round(time.Millisecond))
	return nil
}

// saveLists gives every group of want the lists the topics hold: the
// topics do not say which group sent a list row that another group had
// sent the same before (it was suppressed), and a list id is TPP's, the
// same row in every group. A group's next list file replaces them.
func (rb *rebuilder) saveLists(want map[string][]byte) error {
	lists := map[string]map[int64][]byte{}
	for list, rows := range rb.lists {
		lists[list] = make(map[int64][]byte, len(rows))
		for _, r := range rows {
			lists[list][r.id] = r.text
		}
	}
	for g := range want {
		b := rb.p.tables.store.NewBatch(g)
		for _, list := range listTables {
			if err := b.SetLabels(list, lists[list]); err != nil {
				b.Discard()
				return err
			}
		}
		if err := b.Commit(nil); err != nil {
			return err
		}
	}
	return nil
}

// tableTopics lists the table topics under the prefix.
func (p *Publisher) tableTopics(ctx context.Context) ([]string, error) {
	details, err := p.adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	own := map[string]bool{p.cfg.StateTopic(): true, p.cfg.BatchesTopic(): true, p.cfg.DeadLetterTopic(): true}
	var out []string
	for _, name := range details.Names() {
		// <prefix>.<Table>: a table name holds no dot, so another
		// deployment's topics (prefix "systmone.dev") are not read.
		table, ok := strings.CutPrefix(name, p.cfg.TopicPrefix+".")
		if ok && !own[name] && table != "" && !strings.Contains(table, ".") {
			out = append(out, name)
		}
	}
	return out, nil
}

// rebuilder applies the records of the table topics to the store.
type rebuilder struct {
	ctx     context.Context
	p       *Publisher
	readers map[uint32]*eventReader   // by value schema id
	keys    map[uint32][]schemas.Type // key column types, by key schema id
	b       *tablestate.Batch
	n, held int
	foreign int                // records that are not sragent's, skipped
	hbuf    []byte             // scratch for image hashes
	kbuf    []byte             // scratch for store keys
	tables  map[[2]string]bool // group, table of the events read
	lists   map[string]map[string]listRow
	err     error
}

// listRow is a list table's row as the topics hold it: its id and text.
type listRow struct {
	id   int64
	text []byte
}

// eventReader reads one value schema's events.
type eventReader struct {
	r   *codec.EventReader
	sum uint64 // schemaSum of the schema's text
	win int    // the window field of its table, -1 for none
	// id and text are a list table's RowIdentifier and text fields.
	id, text int
}

func (rb *rebuilder) record(r *kgo.Record) {
	if rb.err != nil {
		return
	}
	for _, h := range r.Headers {
		if h.Key == MarkerHeader {
			return
		}
	}
	if rb.tables == nil {
		rb.tables = map[[2]string]bool{}
	}
	if err := rb.apply(r); errors.Is(err, errForeign) {
		rb.foreign++ // not an sragent record: not the agent's state
	} else {
		rb.err = err
	}
	rb.n++
	if rb.held++; rb.err == nil && rb.held >= rebuildChunk {
		rb.err = rb.b.Commit(nil)
		rb.b, rb.held = rb.p.tables.store.NewBatch(""), 0
	}
}

// unreadableError is an sragent event (or its schema) the rebuild cannot
// read: the topics cannot give the state, so it is learned again instead;
// any other failure (Kafka, the registry) fails the pass, which retries.
type unreadableError struct{ err error }

func (e *unreadableError) Error() string { return e.err.Error() }
func (e *unreadableError) Unwrap() error { return e.err }

// errForeign is a record that is not an sragent event.
var errForeign = errors.New("not an sragent record")

func (rb *rebuilder) apply(r *kgo.Record) error {
	if len(r.Key) < 5 || r.Key[0] != 0 {
		return errForeign
	}
	table, ok := codec.KeyTable(r.Key[5:])
	if !ok || table == "" || "."+table != strings.TrimPrefix(r.Topic, rb.p.cfg.TopicPrefix) {
		return errForeign
	}
	types, err := rb.keyTypes(binary.BigEndian.Uint32(r.Key[1:5]))
	if err != nil {
		return err
	}
	_, k, err := codec.StoreKey(rb.kbuf[:0], r.Key[5:], types)
	if err != nil {
		return &unreadableError{fmt.Errorf("%s partition %d offset %d: key: %w", r.Topic, r.Partition, r.Offset, err)}
	}
	rb.kbuf = k
	e, _, err := rb.b.Get(table, k, false)
	if err != nil {
		return err
	}
	list := rb.lists[table]
	if r.Value == nil { // a tombstone
		delete(list, string(k))
		return rb.b.Delete(table, k)
	}
	if len(r.Value) < 5 || r.Value[0] != 0 {
		return errForeign
	}
	er, err := rb.reader(table, binary.BigEndian.Uint32(r.Value[1:5]))
	if err != nil {
		return err
	}
	ev, err := er.r.Read(r.Value[5:], er.win)
	if err != nil {
		return &unreadableError{fmt.Errorf("%s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, err)}
	}
	if ev.Op == codec.OpDelete {
		delete(list, string(k))
		return rb.b.Delete(table, k)
	}
	if list != nil && er.id >= 0 {
		id, _, idOK := er.r.Cell(ev.Image, er.id)
		_, text, _ := er.r.Cell(ev.Image, er.text)
		if idOK {
			list[string(k)] = listRow{id: id, text: bytes.Clone(text)}
		}
	}
	rb.tables[[2]string{ev.Group, table}] = true
	bit, err := rb.p.tables.store.GroupBit(ev.Group)
	if err != nil {
		return err
	}
	rb.hbuf, e.Hash = imageHash(rb.hbuf, er.sum, ev.Image)
	e.Groups |= bit
	e.Window = 0
	if ev.HasWindow {
		e.Window = ev.Window
	}
	return rb.b.Put(table, k, e)
}

// reader returns the reader of a value schema id, fetched once.
// keyTypes returns the key column types of the key schema id.
func (rb *rebuilder) keyTypes(id uint32) ([]schemas.Type, error) {
	if ts, ok := rb.keys[id]; ok {
		return ts, nil
	}
	if rb.p.reg == nil {
		return nil, fmt.Errorf("no schema registry to read schema %d", id)
	}
	text, err := rb.p.reg.SchemaText(rb.ctx, int(id))
	if isNotFound(err) {
		return nil, &unreadableError{fmt.Errorf("key schema %d is not in the registry: %w", id, err)}
	}
	if err != nil {
		return nil, err
	}
	ts, err := codec.KeyTypes(text)
	if err != nil {
		return nil, &unreadableError{fmt.Errorf("schema %d: %w", id, err)}
	}
	rb.keys[id] = ts
	return ts, nil
}

func (rb *rebuilder) reader(table string, id uint32) (*eventReader, error) {
	if er := rb.readers[id]; er != nil {
		return er, nil
	}
	if rb.p.reg == nil {
		return nil, fmt.Errorf("no schema registry to read schema %d", id)
	}
	text, err := rb.p.reg.SchemaText(rb.ctx, int(id))
	if isNotFound(err) {
		return nil, &unreadableError{fmt.Errorf("value schema %d is not in the registry: %w", id, err)}
	}
	if err != nil {
		return nil, err
	}
	r, err := codec.NewEventReader(text)
	if err != nil {
		return nil, &unreadableError{fmt.Errorf("schema %d: %w", id, err)}
	}
	sum, err := schemaSum(text)
	if err != nil {
		return nil, fmt.Errorf("schema %d: %w", id, err)
	}
	er := &eventReader{r: r, sum: sum, win: -1, id: -1, text: -1}
	if id, text := r.Field(schemas.RowIdentifier), r.Field(schemas.LabelColumn(table)); r.Kind(id) == 'l' && r.Kind(text) == 's' {
		er.id, er.text = id, text // a list table's, as the publishing side reads it (lists.go)
	}
	if col := rb.p.reconcile.windowColumn(table); col != "" {
		er.win = r.Field(col)
	}
	rb.readers[id] = er
	return er, nil
}

// publishedTables lists, by group, the tables the committed state says
// each group published (group → tables).
func publishedTables(st *State) map[string][]string {
	out := map[string][]string{}
	for g, prog := range st.Groups {
		for t := range prog.Tables {
			out[g] = append(out[g], t)
		}
	}
	return out
}
