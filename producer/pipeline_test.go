package producer

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sragent/sragent/codec"
)

// Publishing reads the clock per chunk of rows, not per row (issue 13: a
// clock read per row cost 0.1–0.2 CPU-s per million rows), and every
// event's ts_ms is still a time the clock gave while the batch was
// published, and its record's timestamp.
func TestEventTimesFromTheClockPerChunk(t *testing.T) {
	e := newFakeEnv(t)
	const rows = 5000
	e.patientBatch("20240101_0000", "", "20240101_0000", rows)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var calls atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(calls.Add(1)) * time.Millisecond) }
	if _, err := e.runWith(context.Background(), WithClock(clock)); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n > rows/50 {
		t.Errorf("the clock was read %d times for %d rows", n, rows)
	}
	last := base.Add(time.Duration(calls.Load()) * time.Millisecond).UnixMilli()
	n := 0
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
		if ev.marker != "" || ev.value == nil {
			continue
		}
		n++
		ts := ev.value["ts_ms"].(int64)
		if ts <= base.UnixMilli() || ts > last {
			t.Fatalf("ts_ms %d is not a time the clock gave (%d..%d]", ts, base.UnixMilli(), last)
		}
		// The record's timestamp is its event's time too (not a clock
		// read per record by the client).
		if at := ev.at.UnixMilli(); at != ts {
			t.Fatalf("a record stamped %d holds an event of ts_ms %d", at, ts)
		}
	}
	if n != rows {
		t.Errorf("%d events, want %d", n, rows)
	}
}

// The read stage allocates per slab and chunk, not per row: keys, values
// and store keys go into slabs that the records keep (issue 13: a fresh
// key buffer, value buffer and record per row).
func TestReadStageAllocatesPerSlab(t *testing.T) {
	var in strings.Builder
	in.WriteString("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n")
	const rows = 5000
	for id := 1; id <= rows; id++ {
		fmt.Fprintf(&in, "%d,A1,Name%d,%d\r\n", id, id, id%2)
	}
	file := []byte(in.String())
	sc, err := codec.NewScanner("SRPatient", bytes.NewReader(file), codec.DefaultDialect())
	if err != nil {
		t.Fatal(err)
	}
	tc, err := codec.NewTableCodec(sc.Layout) // the same header: the same layout
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	allocs := testing.AllocsPerRun(3, func() {
		ck := newCheck(bytes.NewReader(file))
		sc, err := codec.NewScanner("SRPatient", ck, codec.DefaultDialect())
		if err != nil {
			t.Fatal(err)
		}
		fw := &fileWork{tc: tc, full: true, maxRecord: 1 << 20, scope: scope{win: -1}}
		r := &rowReader{fw: fw, tc: tc, sc: sc, ck: ck, now: func() int64 { return 1 }}
		c := &chunk{rows: make([]rowWork, 0, chunkRows)}
		got = 0
		for !c.end {
			*c = chunk{rows: c.rows[:0]}
			r.fill(c)
			for _, rw := range c.rows {
				if rw.dead == nil && len(rw.key) > 0 && len(rw.val) > 0 && len(rw.skey) > 0 {
					got++
				}
			}
		}
		if c.err != nil {
			t.Fatal(c.err)
		}
	})
	if got != rows {
		t.Fatalf("%d rows read, want %d", got, rows)
	}
	if allocs > rows/20 {
		t.Errorf("%.0f allocations for %d rows", allocs, rows)
	}
}

// A pass stopped while a file is read (the service stops) publishes none
// of what ends the file: no end marker, no vanished keys, no batch
// reported published with part of its rows, in a dry run as in publish.
func TestStoppedMidFileEndsNothing(t *testing.T) {
	for _, dry := range []bool{true, false} {
		t.Run(fmt.Sprintf("dry=%t", dry), func(t *testing.T) {
			e := newFakeEnv(t)
			e.cfg.TxnRecords = 1_000_000
			const rows = 6000
			e.patientBatch("20240101_0000", "", "20240101_0000", rows)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := []Opt{WithProgress(func(_, _, file string, _, _, n int64, done bool) {
				if file == "SRPatient.csv" && !done {
					cancel() // as the file's first rows are read
				}
			})}
			if dry {
				opts = append(opts, WithDryRun(DryRun{}))
			}
			var pass *Pass
			err := e.withAgent(context.Background(), opts, func(a *Agent) (err error) {
				pass, err = a.RunOnce(ctx)
				return err
			})
			if pass != nil {
				for _, b := range pass.Batches {
					if b.Outcome == Published && b.Events != rows {
						t.Fatalf("published %d of %d rows after the pass was stopped (err %v)", b.Events, rows, err)
					}
				}
			}
			if !dry {
				for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
					if ev.marker == "END" {
						t.Fatalf("an end marker was committed for a file read in part")
					}
				}
			}
		})
	}
}

// The publish stage hands a chunk back to the read stage for reuse (its
// slabs of encoded rows and its records) only once the transaction that
// produced its rows committed, when the client has delivered them all: a
// chunk reused while the client still held its records would publish
// later rows' bytes under earlier rows' keys. Rows of many lengths, a
// third of them deletes (a delete and its tombstone: chunks of more
// records than rows), many transactions, records lingering in the client.
func TestChunksReusedOnlyOnceDelivered(t *testing.T) {
	e := newFakeEnv(t)
	e.cfg.TxnRecords, e.cfg.Linger = 3000, 20*time.Millisecond
	const rows = 30_000
	name := func(id int) string { return fmt.Sprintf("N%d%s", id, strings.Repeat("x", id%97)) }
	var in strings.Builder
	in.WriteString("RowIdentifier,IDOrganisationVisibleTo,FirstName,RemovedData\r\n")
	for id := 1; id <= rows; id++ {
		fmt.Fprintf(&in, "%d,A1,%s,%d\r\n", id, name(id), btoi(id%3 == 0))
	}
	e.fullPatients(in.String())
	if _, err := e.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var upserts, deletes, tombstones int
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
		if ev.marker != "" {
			continue
		}
		id := int(ev.key["RowIdentifier"].(int64))
		if ev.value == nil {
			tombstones++
			continue
		}
		img, op := ev.value["after"], ev.value["op"].(string)
		if op == "d" {
			img = ev.value["before"]
			deletes++
		} else {
			upserts++
		}
		v := img.(map[string]any)["sragent.SRPatient.Value"].(map[string]any)
		got, _ := cellString(v["FirstName"])
		gotID, _ := cellString(v["RowIdentifier"])
		line := ev.value["source"].(map[string]any)["line"].(int64)
		if gotID != fmt.Sprint(id) || got != name(id) || line != int64(id)+1 || (op == "d") != (id%3 == 0) {
			t.Fatalf("key %d: op %s, line %d, image of row %s named %d bytes (want line %d, %d bytes)", id, op, line, gotID, len(got), id+1, len(name(id)))
		}
	}
	if upserts != rows-rows/3 || deletes != rows/3 || tombstones != rows/3 {
		t.Errorf("%d upserts, %d deletes, %d tombstones of %d rows", upserts, deletes, tombstones, rows)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
