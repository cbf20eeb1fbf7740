package producer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strings"

	"github.com/sragent/sragent/manifest"
)

// Publish publishes one loaded batch of its group's chain, resuming after
// the last committed checkpoint when the batch was half-published. A dry
// run goes through every step but produces nothing. The Result says what
// happened (or would); the error is for Kafka, the registry or the disk.
func (p *Publisher) Publish(ctx context.Context, b *manifest.Batch) (Result, error) {
	if err := p.refresh(ctx, b.Group); err != nil {
		return Result{}, err
	}
	res := newResult(b)
	g := b.Group
	if pub := p.state.Batch(g, b.Name); pub != nil {
		return redelivered(res, b, pub)
	}
	prog := p.state.Progress(g)
	resume := !prog.Done && prog.Batch == b.Name
	var resized string // a file of a changed-halted batch still not back: no need to read it all
	if resume && prog.Changed {
		resized = sizeDiffers(b, prog.Files)
	}
	switch {
	case !prog.Done && !resume:
		return Result{}, fmt.Errorf("group %s: batch %s is half-published and must be published before %s", g, prog.Batch, b.Name)
	case resume && prog.Manifest != b.ManifestSHA256:
		return res.with(Conflict, fmt.Sprintf("SRManifest.csv changed after batch %s was partly published", b.Name)), nil
	case prog.GaveUp && prog.Batch == b.Name:
		res.givenUp = true
		return res.with(Conflict, fmt.Sprintf("batch %s was given up half-published by `sragent chain resume`; what of it was committed stays and it is never published again", b.Name)), nil
	case resized != "":
		return changedHalt(res, g, &FileChangedError{File: resized, Since: "the copy of the batch that was partly published"}, true), nil
	case !resume && prog.Batch != "" && olderThan(b, prog):
		return res.with(Conflict, fmt.Sprintf("arrived after batch %s, which is newer; batches of a chain publish in the order of their cut-offs", prog.Batch)), nil
	}
	gaps, reason := p.continuity(&res, prog, b)
	if len(gaps) > 0 && !resume && !prog.Resume {
		res.GapTables = gaps
		return res.with(Halted, reason), nil
	}
	from, cutOff := manifest.ChainRange(prog.chainCutOff(), b.Manifest.DeltaFrom(), b.Manifest.CutOff())
	w, err := p.prepare(ctx, &work{batch: b, res: &res, from: from, cutOff: cutOff})
	if err != nil || w == nil {
		return res, err
	}
	if resume && prog.Files != nil {
		if name := differs(w.digests(), prog.Files); name != "" {
			return changedHalt(res, g, &FileChangedError{File: name, Since: "the copy of the batch that was partly published"}, true), nil
		}
	}
	out, err := p.produce(ctx, w, prog, resume)
	var fc *FileChangedError
	if errors.As(err, &fc) {
		// The transaction that would end the file was aborted; what was
		// committed before stays.
		now := p.state.Progress(g)
		return changedHalt(res, g, fc, !now.Done && now.Batch == b.Name && now.Files != nil), nil
	}
	return out, err
}

// changedHalt halts the chain at a batch whose file changed. When part of
// the batch is committed the halt lifts by itself once the files are back
// as they were first read; otherwise an operator checks the batch and
// resumes.
func changedHalt(res Result, g string, fc *FileChangedError, partly bool) Result {
	if partly {
		res.changed = true
		return res.with(Halted, fc.Error()+"; part of the batch is committed: put it back exactly as it was first delivered and the chain goes on by itself, "+
			"or give the rest up with `sragent chain resume "+g+"`")
	}
	return res.with(Halted, fc.Error()+"; nothing of the batch is committed: put it back as it should be and run `sragent chain resume "+g+"`")
}

// redelivered judges a batch the state says was published: a duplicate
// when its manifest and every file's bytes are those published (a state
// written before files were recorded compares the manifest only), a
// conflict otherwise, which is quarantined and never replaces the
// archived copy. A file that vanished (the folder moved away meanwhile)
// is an error, not a verdict.
func redelivered(res Result, b *manifest.Batch, pub *PublishedBatch) (Result, error) {
	if pub.Manifest != b.ManifestSHA256 {
		return res.with(Conflict, fmt.Sprintf("a batch named %s was published before with a different SRManifest.csv", b.Name)), nil
	}
	if pub.Files != nil {
		got, err := readDigests(b)
		if errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("batch %s: %w", b.Name, err)
		}
		if err != nil {
			return res.with(Conflict, fmt.Sprintf("batch %s was published before, but this copy cannot be read: %v", b.Name, err)), nil
		}
		if name := differs(got, pub.Files); name != "" {
			return res.with(Conflict, fmt.Sprintf("batch %s was published before with the same SRManifest.csv, but %s differs from the published file; the archived copy is kept", b.Name, name)), nil
		}
		for _, fr := range res.Files {
			fr.SHA256 = got[fr.File].SHA256
		}
	}
	return res.with(Duplicate, "published before with the same SRManifest.csv and files; nothing new was produced"), nil
}

func newResult(b *manifest.Batch) Result {
	res := Result{CutOff: b.Manifest.CutOff(), Files: []*FileReport{}, Problems: []Problem{}}
	for _, f := range b.Files {
		fr := &FileReport{File: f.Name, Table: f.Table, Mode: "full", InZip: f.InZip, Bytes: f.Size}
		switch {
		case f.Full():
		case !f.Listed:
			fr.Mode = "list"
		default:
			fr.Mode = "delta"
		}
		res.Files = append(res.Files, fr)
	}
	for _, w := range b.Warnings {
		res.problem(Problem{Severity: SeverityWarning, File: w.File, Reason: w.Err.Error()})
	}
	return res
}

func (r Result) with(o Outcome, reason string) Result {
	r.Outcome, r.Reason = o, reason
	return r
}

// olderThan reports whether b comes before the group's current batch in
// the chain: by cut-off instant, by folder name when the instants are
// equal or unknown (a state written before they were kept).
func olderThan(b *manifest.Batch, prog *Progress) bool {
	_, at := manifest.ChainRange(prog.BatchCutOff, b.Manifest.DeltaFrom(), b.Manifest.CutOff())
	if at.IsZero() || prog.BatchCutOff.IsZero() || at.Equal(prog.BatchCutOff) {
		return b.Name < prog.Batch
	}
	return at.Before(prog.BatchCutOff)
}

// continuity classifies the batch's files against the tables' last ranges
// in the committed state: it fills each file's continuity, warns about
// overlaps, repeats and a stale chain, and returns the tables with a gap.
func (p *Publisher) continuity(res *Result, prog *Progress, b *manifest.Batch) ([]string, string) {
	history := historyOf(prog)
	byTable := map[string]*FileReport{}
	for _, fr := range res.Files {
		byTable[fr.Table] = fr
	}
	var gaps, why []string
	for _, fc := range manifest.Classify(history, b.Manifest) {
		file := fc.Table + ".csv"
		if fr := byTable[fc.Table]; fr != nil {
			fr.Continuity, fr.Previous, file = fc.Kind.String(), fc.Prev, fr.File
		}
		switch fc.Kind {
		case manifest.Gap:
			gaps = append(gaps, fc.Table)
			why = append(why, fmt.Sprintf("%s starts %s, after the cut-off %s of batch %s", fc.Table, fc.From, fc.PrevTo, fc.Prev))
			res.problem(Problem{Severity: SeverityError, File: file, Reason: fmt.Sprintf(
				"gap: DateExtractFrom %s is after DateExtractTo %s of batch %s; deltas were lost and the chain halts until a full file or an operator resumes it",
				fc.From, fc.PrevTo, fc.Prev)})
		case manifest.Overlap:
			res.problem(Problem{Severity: SeverityWarning, File: file, Reason: fmt.Sprintf(
				"overlap: DateExtractFrom %s is before DateExtractTo %s of batch %s; rows in the overlap are sent again", fc.From, fc.PrevTo, fc.Prev)})
		case manifest.Duplicate:
			res.problem(Problem{Severity: SeverityWarning, File: file, Reason: fmt.Sprintf(
				"duplicate: the same date range as batch %s", fc.Prev)})
		}
	}
	if age, stale := manifest.Staleness(history, b.Stamp, b.Manifest); age > 0 {
		res.SinceCutOff = math.Round(age.Hours()/24*10) / 10
		if stale {
			res.problem(Problem{Severity: SeverityWarning, File: manifest.FileName, Reason: fmt.Sprintf(
				"the chain's previous cut-off is %.1f days before this batch, more than the 21 days after which SystmOne sends a full download, yet this batch holds deltas", age.Hours()/24)})
		}
	}
	if len(gaps) == 0 {
		return nil, ""
	}
	// One line per table, under one that says it once.
	return gaps, "gap: deltas were lost; the chain waits for the missing deltas (put them in the input folder), a full batch, or `sragent chain resume`:\n  " +
		strings.Join(why, "\n  ")
}

// historyOf turns the committed ranges of a chain's tables into the links
// manifest.Classify compares with, oldest cut-off first.
func historyOf(prog *Progress) []manifest.Link {
	byBatch := map[string]*manifest.Manifest{}
	for table, r := range prog.Tables {
		m := byBatch[r.Batch]
		if m == nil {
			m = &manifest.Manifest{}
			byBatch[r.Batch] = m
		}
		from, _ := manifest.ParseStamp(r.From)
		to, _ := manifest.ParseStamp(r.To)
		m.Entries = append(m.Entries, manifest.Entry{FileName: table, IsDelta: r.From != "", From: from, To: to})
	}
	var history []manifest.Link
	for batch, m := range byBatch {
		sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].FileName < m.Entries[j].FileName })
		history = append(history, manifest.Link{Batch: batch, Manifest: m})
	}
	sort.Slice(history, func(i, j int) bool {
		ti, tj := history[i].Manifest.CutOffTime(), history[j].Manifest.CutOffTime()
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return history[i].Batch < history[j].Batch
	})
	return history
}
