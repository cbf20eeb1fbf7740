package producer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"
	"time"
)

// TestDigestSHA256 checks the structure pass's SHA-256 (kept in the
// checkpoints and the archive, compared on re-delivery) against
// crypto/sha256's on files ending around the hash's blocks, read in
// pieces of every size; and that its goroutine ends whether or not the
// file was read to its end.
func TestDigestSHA256(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, shaBlocks*shaBlock*2+shaBlock/3)
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	before := runtime.NumGoroutine()
	sizes := []int{0, 1, shaBlock - 1, shaBlock, shaBlock + 1, shaBlocks * shaBlock, shaBlocks*shaBlock + 7, len(data)}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
	}
	for _, n := range sizes {
		for name, wrap := range readers {
			if name == "one byte" && n > 3*shaBlock {
				continue // long enough
			}
			dg := newDigest(wrap(bytes.NewReader(data[:n])))
			if _, err := io.Copy(io.Discard, dg); err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(data[:n])
			got := dg.digest()
			if got.SHA256 != hex.EncodeToString(want[:]) || got.Size != int64(n) {
				t.Errorf("%d bytes read %s: %+v, want %x", n, name, got, want)
			}
			if again := dg.digest(); again != got {
				t.Errorf("%d bytes: a second digest %+v, the first %+v", n, again, got)
			}
			dg.close()
		}
	}
	// Abandoned part way (a file that failed its structure pass).
	for range 20 {
		dg := newDigest(bytes.NewReader(data))
		if _, err := io.CopyN(io.Discard, dg, shaBlocks*shaBlock+5); err != nil {
			t.Fatal(err)
		}
		dg.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left behind by the digests", n-before)
	}
}
