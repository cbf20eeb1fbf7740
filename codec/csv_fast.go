package codec

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// The fast path of the CSV reader: whole, regular lines split straight
// from the read buffer.

// fast parses the next record straight from the buffer when it is the
// common kind: a whole line in the buffer, no qualifier, no CR inside, only
// ASCII. Its fields alias the buffer, so nothing is copied. Anything else
// is left to the byte-by-byte parser.
func (r *Reader) fast() ([][]byte, bool) {
	if r.first || r.rdErr != nil {
		return nil, false
	}
	if r.skipLF {
		if r.r >= r.w && !r.fill() {
			return nil, false
		}
		if r.buf[r.r] == '\n' {
			r.consume(r.r + 1)
		}
		r.skipLF = false
	}
	for {
		data := r.buf[r.r:r.w]
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			if r.eof || !r.fill() {
				return nil, false
			}
			continue
		}
		line := data[:nl]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if r.noFast || len(line) > r.d.MaxRecordBytes || bytes.IndexByte(line, '\r') >= 0 {
			return nil, false
		}
		high := hasHigh(line)
		if high && r.d.Encoding == UTF8 && !utf8.Valid(line) {
			return nil, false // the byte-by-byte parser names the field
		}
		quoted := r.d.Quote != 0 && bytes.IndexByte(line, r.d.Quote) >= 0
		if quoted || (high && r.d.Encoding != UTF8) {
			if !r.fastCopy(line, high) {
				return nil, false
			}
			r.start = r.line
			r.line++
			r.quoted = quoted
			r.consume(r.r + nl + 1)
			return r.fields, true
		}
		r.fields = r.fields[:0]
		for {
			i := bytes.IndexByte(line, r.d.Delimiter)
			if i < 0 {
				r.fields = append(r.fields, line[:len(line):len(line)])
				break
			}
			r.fields = append(r.fields, line[:i:i])
			line = line[i+1:]
		}
		r.start = r.line
		r.line++
		r.consume(r.r + nl + 1)
		return r.fields, true
	}
}

// fastCopy splits a line with quoted fields or Windows-1252 bytes into
// r.fields. Fields that need no change alias the line; only fields with a
// doubled quote or bytes to decode are built in r.out, which is sized up
// front so that it never moves under the fields already taken. It gives up
// (false) on anything irregular, such as a quoted field that runs past the
// line or text after a closing quote, which the byte-by-byte parser then
// handles and reports.
func (r *Reader) fastCopy(line []byte, high bool) bool {
	q, d := r.d.Quote, r.d.Delimiter
	decode := high && r.d.Encoding != UTF8
	if need := 3 * len(line); cap(r.out) < need {
		r.out = make([]byte, 0, need)
	}
	r.out, r.fields = r.out[:0], r.fields[:0]
	size := 0
	take := func(b []byte) {
		if decode && hasHigh(b) {
			start := len(r.out)
			r.appendDecoded(b)
			b = r.out[start:len(r.out):len(r.out)]
		}
		size += len(b)
		r.fields = append(r.fields, b[:len(b):len(b)])
	}
	for {
		if q != 0 && len(line) > 0 && line[0] == q {
			line = line[1:]
			k := bytes.IndexByte(line, q)
			if k < 0 {
				return false // the field goes on past this line
			}
			if k+1 < len(line) && line[k+1] == q {
				// Doubled quotes: unescape into r.out.
				start := len(r.out)
				for {
					r.appendDecoded(line[:k+1]) // the text and one quote
					line = line[k+2:]
					k = bytes.IndexByte(line, q)
					if k < 0 {
						return false
					}
					if k+1 >= len(line) || line[k+1] != q {
						break
					}
				}
				r.appendDecoded(line[:k])
				f := r.out[start:len(r.out):len(r.out)]
				size += len(f)
				r.fields = append(r.fields, f)
			} else {
				take(line[:k])
			}
			line = line[k+1:]
			if len(line) == 0 {
				break
			}
			if line[0] != d {
				return false
			}
			line = line[1:]
			continue
		}
		k := bytes.IndexByte(line, d)
		if k < 0 {
			take(line)
			break
		}
		take(line[:k])
		line = line[k+1:]
	}
	return size <= r.d.MaxRecordBytes // else report it the slow way
}

// appendDecoded appends b to r.out, decoding Windows-1252 unless the input
// is UTF-8.
func (r *Reader) appendDecoded(b []byte) {
	if r.d.Encoding == UTF8 || !hasHigh(b) {
		r.out = append(r.out, b...)
		return
	}
	for _, c := range b {
		if c < 0x80 {
			r.out = append(r.out, c)
			continue
		}
		enc := cp1252[c-0x80]
		r.out = append(r.out, enc[1:1+enc[0]]...)
	}
}

// hasHigh reports whether b has a byte >= 0x80, eight bytes at a time.
func hasHigh(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
