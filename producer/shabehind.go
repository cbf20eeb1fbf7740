package producer

import "crypto/sha256"

// shaBehind computes a SHA-256 a few blocks behind what is written to it,
// on a goroutine of its own: the structure pass scans a file on one core
// while the other hashes it (the hash costs as much as the scan).
type shaBehind struct {
	cur        []byte      // the block being filled
	full, free chan []byte // blocks to hash, and hashed ones to fill again
	out        chan [sha256.Size]byte
	done       bool
	result     [sha256.Size]byte
}

const (
	shaBlock  = 256 << 10 // bytes of a block
	shaBlocks = 4         // blocks in flight
)

func newSHABehind() *shaBehind {
	s := &shaBehind{full: make(chan []byte, shaBlocks), free: make(chan []byte, shaBlocks), out: make(chan [sha256.Size]byte, 1)}
	for range shaBlocks - 1 {
		s.free <- make([]byte, 0, shaBlock)
	}
	s.cur = make([]byte, 0, shaBlock)
	go func() {
		h := sha256.New()
		for b := range s.full {
			h.Write(b)
			s.free <- b[:0]
		}
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		s.out <- sum
	}()
	return s
}

// write hands p to the hash; p may be reused as soon as write returns.
func (s *shaBehind) write(p []byte) {
	for len(p) > 0 {
		n := copy(s.cur[len(s.cur):cap(s.cur)], p)
		s.cur, p = s.cur[:len(s.cur)+n], p[n:]
		if len(s.cur) == cap(s.cur) {
			s.full <- s.cur
			s.cur = <-s.free
		}
	}
}

// sum waits for the hash of everything written and ends the goroutine;
// it may be called again, but write may not.
func (s *shaBehind) sum() [sha256.Size]byte {
	if !s.done {
		if len(s.cur) > 0 {
			s.full <- s.cur
		}
		close(s.full)
		s.result, s.done, s.cur = <-s.out, true, nil
	}
	return s.result
}
