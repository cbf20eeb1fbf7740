package producer

import (
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
	"strings"

	"github.com/sragent/sragent/manifest"
)

// digest reads through to r, keeping the size of what passed, its check
// sum and (but for newCheck's) its SHA-256.
type digest struct {
	r  io.Reader
	h  *shaBehind // nil: no SHA-256
	ck maphash.Hash
	n  int64
}

// newDigest is a digest with the SHA-256, computed on a goroutine of its
// own; close ends it.
func newDigest(r io.Reader) *digest {
	d := newCheck(r)
	d.h = newSHABehind()
	return d
}

// newCheck is a digest of the check sum only: publishing compares a file
// with what the structure pass read by it.
func newCheck(r io.Reader) *digest {
	d := &digest{r: r}
	d.ck.SetSeed(checkSeed)
	return d
}

func (d *digest) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if d.h != nil {
		d.h.write(p[:n])
	}
	d.ck.Write(p[:n])
	d.n += int64(n)
	return n, err
}

// digest returns what has passed, and ends the digest's SHA-256: nothing
// more may be read through it.
func (d *digest) digest() FileDigest {
	sum := d.h.sum()
	return FileDigest{SHA256: hex.EncodeToString(sum[:]), Size: d.n}
}

// close ends the goroutine of the digest's SHA-256, if it has one.
func (d *digest) close() {
	if d.h != nil {
		d.h.sum()
	}
}

// sum returns the check sum of what has passed so far (checkSum).
func (d *digest) sum() checkSum { return checkSum{sum: d.ck.Sum64(), size: d.n} }

// checkSeed seeds every check sum of the process: they are compared within
// it, never kept.
var checkSeed = maphash.MakeSeed()

// checkSum names a file's bytes within the process: its size and a 64-bit
// hash, many times cheaper than SHA-256. Publishing compares the bytes it
// reads with the structure pass's by it, so each file's SHA-256 (kept in
// the checkpoints and the archive) is computed once, by the structure pass.
type checkSum struct {
	sum  uint64
	size int64
}

// FileChangedError is a table file whose bytes differ from when sragent
// first read them: between the structure pass and publishing (truncated,
// appended to, replaced), or since the batch was partly published.
type FileChangedError struct {
	File string
	// Since says since when ("" for the structure pass).
	Since string
}

// Error names the file and what was committed of it.
func (e *FileChangedError) Error() string {
	if e.Since != "" {
		return fmt.Sprintf("%s differs from %s; nothing more of the batch was published", e.File, e.Since)
	}
	return fmt.Sprintf("%s changed while it was being published (its bytes differ from when the batch was checked); nothing that ends it was committed", e.File)
}

// digests are the files of a prepared batch as the structure pass read
// them, by file name.
func (w *work) digests() map[string]FileDigest {
	out := make(map[string]FileDigest, len(w.files))
	for _, fw := range w.files {
		out[fw.file.Name] = fw.sum
	}
	return out
}

// differs names the first file (by name) that is in only one of the two
// sets or whose bytes differ, or returns "".
func differs(got, want map[string]FileDigest) string {
	names := make([]string, 0, len(got)+len(want))
	for n := range got {
		names = append(names, n)
	}
	for n := range want {
		if _, ok := got[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		g, ok1 := got[n]
		w, ok2 := want[n]
		if !ok1 || !ok2 || g != w {
			return n
		}
	}
	return ""
}

// sizeDiffers names the first file of b whose size is not the recorded
// one (a cheap check before reading), or returns "".
func sizeDiffers(b *manifest.Batch, want map[string]FileDigest) string {
	for _, f := range b.Files {
		if d, ok := want[f.Name]; !ok || d.Size != f.Size {
			return f.Name
		}
	}
	return ""
}

// readDigests reads every file of b to its end for its digest: a
// re-delivery is compared with what was published, by bytes.
func readDigests(b *manifest.Batch) (map[string]FileDigest, error) {
	out := make(map[string]FileDigest, len(b.Files))
	for _, f := range b.Files {
		rc, err := b.Open(f)
		if err != nil {
			return nil, err
		}
		dg := newDigest(rc)
		_, err = io.Copy(io.Discard, dg)
		rc.Close()
		if err != nil {
			dg.close()
			return nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
		out[f.Name] = dg.digest()
	}
	return out, nil
}

// checksums renders digests of a folder's files in sha256sum's format.
func checksums(sums map[string]string) string {
	lines := make([]string, 0, len(sums))
	for name, sum := range sums {
		lines = append(lines, sum+"  "+name)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}
