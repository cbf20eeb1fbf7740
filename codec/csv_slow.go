package codec

import "math/bits"

// The byte-by-byte CSV parser: a state machine over byte classes. It reads
// whatever the fast path gives up on: the first record, quoted line breaks,
// bare CRs, records with no line break in the buffer, irregular quoting,
// invalid UTF-8, and records over the size bound.

// byte classes for the scanner.
const (
	clPlain uint8 = iota
	clDelim
	clQuote
	clCR
	clLF
	clHigh
)

// parser states.
const (
	stFieldStart uint8 = iota
	stUnquoted
	stQuoted
	stQuoteInQuoted
)

// scan consumes buffered bytes until the record ends (true) or the buffer
// is empty (false).
func (r *Reader) scan() bool {
	buf, i, w := r.buf, r.r, r.w
	for i < w {
		c := buf[i]
		cl := r.class[c]
		switch r.state {
		case stFieldStart, stUnquoted:
			if r.state == stFieldStart && cl == clQuote {
				r.state, r.quoted = stQuoted, true
				i++
				continue
			}
			r.state = stUnquoted
			switch cl {
			case clPlain, clQuote:
				// Fast path: copy a run of plain bytes at once. A quote
				// inside an unquoted field is literal (Apache Commons CSV).
				j := i + 1
				for j < w && r.class[buf[j]] == clPlain {
					j++
				}
				r.appendBytes(buf[i:j])
				i = j
				continue
			case clDelim:
				r.endField()
				r.state = stFieldStart
			case clLF:
				r.line++
				r.endField()
				r.consume(i + 1)
				return true
			case clCR:
				r.line++
				r.endField()
				if i+1 < w && buf[i+1] == '\n' {
					r.consume(i + 2)
				} else {
					r.skipLF = true // the LF, if any, is in the next read
					r.consume(i + 1)
				}
				return true
			case clHigh:
				r.appendHigh(c)
			}
			i++
		case stQuoted:
			switch cl {
			case clQuote:
				r.state = stQuoteInQuoted
			case clHigh:
				r.appendHigh(c)
			case clLF:
				r.line++
				r.appendByte(c)
			default:
				j := i + 1
				for j < w && r.class[buf[j]] <= clDelim {
					j++
				}
				r.appendBytes(buf[i:j])
				i = j
				continue
			}
			i++
		case stQuoteInQuoted:
			switch cl {
			case clQuote:
				r.appendByte(c)
				r.state = stQuoted
				i++
			case clDelim, clCR, clLF:
				r.state = stUnquoted // let the unquoted branch end field or record
			default:
				// Text after a closing quote: keep it (nothing is lost) but
				// report the record.
				if r.recErr == nil {
					r.recErr, r.recErrCol = errQuoteText, len(r.ends)+1
				}
				r.state = stUnquoted
			}
		}
	}
	r.consume(w)
	return false
}

var errQuoteText = newFault(ReasonQuote, "text after the closing quote of a quoted field")

// room reports whether n more bytes fit the record limit, growing the
// record buffer by doubling (append's 1.25x growth of large slices would
// allocate five times the record size on the way up).
func (r *Reader) room(n int) bool {
	need := len(r.out) + n
	if need > r.d.MaxRecordBytes {
		r.tooLong = true
		return false
	}
	if need > cap(r.out) {
		c := min(max(1<<bits.Len(uint(need)), 4096), r.d.MaxRecordBytes)
		out := make([]byte, len(r.out), c)
		copy(out, r.out)
		r.out = out
	}
	return true
}

func (r *Reader) appendBytes(b []byte) {
	if !r.tooLong && r.room(len(b)) {
		r.out = append(r.out, b...)
	}
}

func (r *Reader) appendByte(c byte) {
	if !r.tooLong && r.room(1) {
		r.out = append(r.out, c)
	}
}

func (r *Reader) appendHigh(c byte) {
	r.high = true
	if r.d.Encoding == UTF8 {
		r.appendByte(c)
		return
	}
	enc := cp1252[c-0x80]
	r.appendBytes(enc[1 : 1+enc[0]])
}

func (r *Reader) endField() {
	r.ends = append(r.ends, len(r.out))
}
