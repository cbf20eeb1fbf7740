package tablestate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ingestMin is the fewest changes in a batch's run that Commit writes as
// a sorted file of their own, which the store takes in whole (ingests),
// rather than through the write-ahead log and memtable. A first publish
// is all run (a file in key order): its keys then go straight to the
// last level, not written to the log, flushed to L0 and compacted into
// L6 again (1M SREvent rows: pebble's flushes and compactions, ~1.1
// CPU-s, become ~0.3 CPU-s of writing the files).
const ingestMin = 4096

// ingestPrefix names the files batches write for the store to ingest;
// one left by a crash (never ingested) is removed when the store opens.
const ingestPrefix = "sragent-ingest-"

// ingester writes batches' runs as sorted files the store ingests.
type ingester struct {
	db   *pebble.DB
	fs   vfs.FS
	dir  string
	name string // the start of this open's files' names
	opts sstable.WriterOptions
	seq  atomic.Uint64 // numbers each file
}

func newIngester(db *pebble.DB, opts *pebble.Options, dir string, log *slog.Logger) (*ingester, error) {
	// As a compaction would write them into the last level, but for one
	// thing: a file that overlaps what the store holds is ingested above
	// it, where a delete marked obsolete (as only the last level may mark
	// them, in newer table formats) would let the older value show.
	wo := opts.MakeWriterOptions(len(opts.Levels)-1, db.TableFormat())
	wo.WritingToLowestLevel = false
	// Names of this open's own (a file a crash left may still be there,
	// on Windows while anything holds it open).
	in := &ingester{db: db, fs: opts.FS, dir: dir, opts: wo, name: fmt.Sprintf("%s%x-", ingestPrefix, rand.Uint64())}
	names, err := opts.FS.List(dir)
	if err != nil {
		return nil, fmt.Errorf("table state: %w", err)
	}
	for _, name := range names {
		if strings.HasPrefix(name, ingestPrefix) {
			if err := opts.FS.Remove(opts.FS.PathJoin(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				// Only disk space: the next open tries again.
				log.Warn("table state: a file never ingested could not be removed", "file", name, "err", err)
			}
		}
	}
	return in, nil
}

// sealed is a run being written to a file (Seal).
type sealed struct {
	path string
	done chan error // the file's outcome, once
	err  error      // received from done
	wait bool       // done has not been received yet
}

// Seal ends the batch's changes of keys (a later Put or Delete fails) and
// starts writing its run, when it is long, to the file Commit ingests:
// the caller commits its transaction on the broker meanwhile (a broker's
// commit waits on the network, the file on the disk).
func (b *Batch) Seal() {
	if b.b == nil || b.sealed != nil {
		return
	}
	s := &sealed{}
	b.sealed = s
	in := b.s.ingest
	if b.run.len() < ingestMin || in == nil { // nil: read-only
		return
	}
	s.path = in.fs.PathJoin(in.dir, fmt.Sprintf("%s%d.sst", in.name, in.seq.Add(1)))
	s.done, s.wait = make(chan error, 1), true
	go func() { s.done <- in.write(s.path, &b.run) }()
}

// write writes run to a new file at path, synced (Ingest requires it).
func (in *ingester) write(path string, r *run) error {
	f, err := in.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("table state: %w", err)
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), in.opts)
	err = r.writeTo(w.Set, w.Delete)
	if err = errors.Join(err, w.Close()); err != nil {
		return fmt.Errorf("table state: write %d changes: %w", r.len(), err)
	}
	return nil
}

// result returns the outcome of the sealed run's file, once written.
func (s *sealed) result() error {
	if s.wait {
		s.err, s.wait = <-s.done, false
	}
	return s.err
}

// writeRun writes the batch's run before the rest of its changes: as the
// file Seal wrote, which the store ingests, or into the batch. An
// ingested run is in the store before the batch's checkpoint: a crash
// between them leaves the checkpoint behind the committed one, which the
// owner detects and rebuilds from (as after a crash between the broker's
// commit and the store's).
func (b *Batch) writeRun() error {
	b.Seal()
	s := b.sealed
	if s.path == "" {
		set := func(k, v []byte) error { return b.b.Set(k, v, nil) }
		del := func(k []byte) error { return b.b.Delete(k, nil) }
		if err := b.run.writeTo(set, del); err != nil {
			return fmt.Errorf("table state: %w", err)
		}
		return nil
	}
	err := s.result()
	if err == nil {
		err = b.s.ingest.db.Ingest(context.Background(), []string{s.path})
	}
	if err != nil {
		return fmt.Errorf("table state: ingest %d changes: %w", b.run.len(), err)
	}
	return nil
}

// unseal waits for a sealed run's file and removes it: one not ingested,
// or the name of one pebble ingested but could not remove (it logs that
// only: on Windows, while pebble holds the file open).
func (b *Batch) unseal() {
	if s := b.sealed; s != nil && s.path != "" {
		_ = s.result()
		// A failure costs disk space only: the store's next open removes
		// the file (or the name).
		_ = b.s.ingest.fs.Remove(s.path)
	}
	b.sealed = nil
}
