package producer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sragent/sragent/manifest"
)

// ChecksumFile lists the SHA-256 of every file of an archived batch, in
// the format of sha256sum.
const ChecksumFile = "SHA256SUMS"

// ErrorFile explains why a batch was quarantined; it names files, lines
// and columns, never cell values.
const ErrorFile = "error.txt"

// archive writes SHA256SUMS into the batch folder and moves it to
// <dir>/<group>/<batch>. known holds the SHA-256 of the files sragent
// read (what was published: no second read); the others are read now.
// An archived copy is never replaced: a folder with the same checksums
// (a re-delivered duplicate) is dropped, any other goes beside it as
// <batch>.2, .3 ...
func archive(p manifest.Pending, dir string, known map[string]string) (string, error) {
	if _, err := os.Stat(filepath.Join(p.Dir, manifest.FileName)); err != nil {
		// Moved by someone else meanwhile: never clear the archive for it.
		return "", fmt.Errorf("archive batch %s: the batch folder is gone: %w", p.Name, err)
	}
	sums, err := writeChecksums(p.Dir, known)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, p.Group, p.Name)
	if old, err := os.ReadFile(filepath.Join(dst, ChecksumFile)); err == nil && string(old) == sums {
		if err := os.RemoveAll(p.Dir); err != nil {
			return "", fmt.Errorf("drop batch %s, archived before: %w", p.Name, err)
		}
		return dst, nil
	}
	dst, err = freeName(dst)
	if err == nil {
		err = moveDir(p.Dir, dst)
	}
	if err != nil {
		return "", fmt.Errorf("archive batch %s: %w", p.Name, err)
	}
	return dst, nil
}

// freeName returns base, or base.2, .3 ... whichever does not exist; an
// error when a name can be neither found nor ruled out (its parent is a
// file, no permission), which would otherwise be tried forever.
func freeName(base string) (string, error) {
	dst := base
	for i := 2; ; i++ {
		_, err := os.Stat(dst)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return dst, nil
		case err != nil:
			return "", err
		}
		dst = fmt.Sprintf("%s.%d", base, i)
	}
}

// quarantine writes error.txt and moves the batch to
// <dir>/<group>/<batch>, or <batch>.2, .3 ... when that name is taken.
func quarantine(p manifest.Pending, dir, reason, committed string, now time.Time) (string, error) {
	text := fmt.Sprintf("sragent quarantined batch %s of group %s at %s.\n\nWhy:\n%s\n\n%s\n",
		p.Name, p.Group, now.UTC().Format(time.RFC3339), strings.ReplaceAll(reason, "; ", "\n"), committed)
	if err := os.WriteFile(filepath.Join(p.Dir, ErrorFile), []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", ErrorFile, err)
	}
	dst, err := freeName(filepath.Join(dir, p.Group, p.Name))
	if err == nil {
		err = moveDir(p.Dir, dst)
	}
	if err != nil {
		return "", fmt.Errorf("quarantine batch %s: %w", p.Name, err)
	}
	return dst, nil
}

// writeChecksums writes SHA256SUMS into dir and returns its text: known
// sums by file name, the other files read now.
func writeChecksums(dir string, known map[string]string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read batch folder: %w", err)
	}
	sums := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || e.Name() == ChecksumFile {
			continue
		}
		sum, ok := known[e.Name()]
		if !ok {
			if sum, err = fileSHA256(filepath.Join(dir, e.Name())); err != nil {
				return "", err
			}
		}
		sums[e.Name()] = sum
	}
	text := checksums(sums)
	if err := os.WriteFile(filepath.Join(dir, ChecksumFile), []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", ChecksumFile, err)
	}
	return text, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", filepath.Base(path), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// moveDir renames src to dst. Across volumes (a share and a local disk,
// say) it copies to dst.partial (each file synced), renames that to dst,
// and only then deletes src: killed at any point, either dst does not
// exist yet (the next attempt starts again) or it is complete (the Agent
// finishes a half-deleted source of a published batch).
func moveDir(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	tmp := dst + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clear %s: %w", tmp, err)
	}
	if err := copyDir(src, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("move %s into place: %w", filepath.Base(dst), err)
	}
	return os.RemoveAll(src)
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// finishArchive completes the move of a published batch whose source was
// left half-deleted (a kill during a move across volumes): when the state
// says it was published and the archive holds its complete copy, the rest
// of the source goes. It reports whether it did.
func (a *Agent) finishArchive(p manifest.Pending) (bool, error) {
	if a.pub.State().Batch(p.Group, p.Name) == nil {
		return false, nil
	}
	dst := filepath.Join(a.cfg.ArchiveDir, p.Group, p.Name)
	if !leftOf(p.Dir, dst) {
		return false, nil
	}
	if a.pub.dry != nil {
		return true, nil
	}
	if err := os.RemoveAll(p.Dir); err != nil {
		return false, fmt.Errorf("finish archiving batch %s: %w", p.Name, err)
	}
	a.log.Info("finished the archive move of a published batch", "group", p.Group, "batch", p.Name, "archived_to", dst)
	return true, nil
}

// leftOf reports whether every file still in src is the same as in the
// archived copy dst (by its SHA256SUMS): what a stopped delete leaves.
// A re-delivery (another file, or one still being written) is not.
func leftOf(src, dst string) bool {
	raw, err := os.ReadFile(filepath.Join(dst, ChecksumFile))
	if err != nil {
		return false
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if sum, name, ok := strings.Cut(line, "  "); ok {
			sums[name] = sum
		}
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() == ChecksumFile {
			continue
		}
		sum, err := fileSHA256(filepath.Join(src, e.Name()))
		if e.IsDir() || err != nil || sums[e.Name()] != sum {
			return false
		}
	}
	return true
}

// archive moves a published (or duplicate) batch to the archive; a dry run
// moves nothing.
func (a *Agent) archive(p manifest.Pending, rep *BatchReport) error {
	if a.pub.dry != nil {
		return nil
	}
	known := map[string]string{}
	for _, fr := range rep.Files {
		if !fr.InZip && fr.SHA256 != "" {
			known[fr.File] = fr.SHA256
		}
	}
	dst, err := archive(p, a.cfg.ArchiveDir, known)
	rep.MovedTo = dst
	return err
}

// committed says, for error.txt, what of batch p is on the topics and how
// to go on.
func (a *Agent) committed(p manifest.Pending) string {
	prog := a.pub.State().Progress(p.Group)
	var events int64
	for _, c := range prog.Counts {
		events += c.Events
	}
	if prog.Batch == p.Name && prog.GaveUp {
		return fmt.Sprintf("PART of this batch was published (%d events, up to file %d line %d; no END, no snapshot_end) before `sragent chain resume` gave it up; "+
			"that stays on the topics and the batch is never published again. The chain goes on with the next batch.", events, prog.File+1, prog.Line)
	}
	if prog.Batch != p.Name || prog.Done {
		return "Nothing of this batch was published, and later batches of the group wait.\n" +
			"Fix or replace the batch and put it back in the input folder under the same name (error.txt may stay): the next pass publishes it " +
			"and the chain goes on. To skip it instead, run: sragent chain resume " + p.Group + " (the next batch is then published although this one never was)."
	}
	return fmt.Sprintf("PART of this batch was published before: %d events, the first %d file(s) whole and the next one before line %d, "+
		"with the batch's BEGIN event and the snapshot_begin markers of the full files it reached (no END, no snapshot_end); they stay on the topics.\n"+
		"Later batches of the group wait. To finish the batch, put it back exactly as it was first delivered (same SRManifest.csv and files): "+
		"the next pass resumes at line %d. To give it up, run: sragent chain resume %s (the next batch is then published although this one is incomplete).",
		events, prog.File, prog.Line, prog.Line, p.Group)
}

// quarantine moves a bad batch to the quarantine with error.txt, and halts
// its chain; a dry run only reports it.
// A batch an operator gave up before is moved away without halting.
func (a *Agent) quarantine(ctx context.Context, p manifest.Pending, rep *BatchReport, pass *Pass, log *slog.Logger) error {
	reason := fmt.Sprintf("batch %s was quarantined (%s): %s", p.Name, rep.Outcome, shortReason(rep))
	// A batch judged while a gap halts the chain (one named before the
	// gapped batch, which did not fill it) leaves the gap's halt as it is.
	gap := a.pub.State().Progress(p.Group)
	keepGap := len(gap.GapTables) > 0 && gap.HaltedAt != "" && gap.HaltedAt != p.Name
	if keepGap {
		reason = gap.Halted
	}
	if !rep.givenUp {
		pass.Halted[p.Group] = reason
	}
	if a.pub.dry == nil {
		dst, err := quarantine(p, a.cfg.QuarantineDir, rep.Reason, a.committed(p), a.now())
		if err != nil {
			return err
		}
		rep.MovedTo = dst
		log.Error("batch quarantined", "outcome", rep.Outcome.String(), "quarantined_to", dst, "chain_waits", !rep.givenUp)
	}
	pass.Batches = append(pass.Batches, *rep)
	if rep.givenUp || keepGap {
		return nil
	}
	return a.pub.Halt(ctx, p.Group, p.Name, reason, nil)
}

// shortReason is a quarantined batch's reason for the chain's halt, one
// line: its first error and how many more there are (error.txt and the
// batch report list them all).
func shortReason(rep *BatchReport) string {
	var errs []Problem
	for _, pr := range rep.Problems {
		if pr.Severity == SeverityError {
			errs = append(errs, pr)
		}
	}
	if len(errs) <= 1 {
		return rep.Reason
	}
	return fmt.Sprintf("%s (and %d more problems: see error.txt)", errs[0].String(), len(errs)-1+int(rep.ProblemsOmitted))
}
