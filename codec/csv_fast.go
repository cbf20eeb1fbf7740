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
	line, nl, ok := r.wholeLine()
	if !ok {
		return nil, false
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

// wholeLine returns the next line in the buffer (filled as needed), its
// CR LF or LF not included, and where its LF is; not ok when there is no
// whole line to take (the start of the input, a read error, the end).
func (r *Reader) wholeLine() (line []byte, nl int, ok bool) {
	if r.first || r.rdErr != nil {
		return nil, 0, false
	}
	if r.skipLF {
		if r.r >= r.w && !r.fill() {
			return nil, 0, false
		}
		if r.buf[r.r] == '\n' {
			r.consume(r.r + 1)
		}
		r.skipLF = false
	}
	data := r.buf[r.r:r.w]
	nl = bytes.IndexByte(data, '\n')
	for nl < 0 {
		if r.eof || !r.fill() {
			return nil, 0, false
		}
		data = r.buf[r.r:r.w]
		nl = bytes.IndexByte(data, '\n')
	}
	line = data[:nl]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nl, true
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

// ReadField reads the next record as Read does (the same records, lines,
// errors and offsets) but returns only its field col: nil when col < 0 or
// the record has fewer fields. A whole regular line in the buffer without
// a qualifier is not split past col, nor decoded but for that field: a
// structure pass over tens of millions of rows does no more than it needs.
func (r *Reader) ReadField(col int) ([]byte, error) {
	for {
		field, blank, ok := r.fastField(col)
		switch {
		case ok && blank:
			continue
		case ok:
			return field, nil
		}
		fields, err := r.Read()
		if err != nil || col < 0 || col >= len(fields) {
			return nil, err
		}
		return fields[col], nil
	}
}

// fastField is fast's check of a line, and the line's field col; blank says
// the line is empty (Read skips it). Not ok: the line is left to Read.
func (r *Reader) fastField(col int) (field []byte, blank, ok bool) {
	line, nl, ok := r.wholeLine()
	if !ok || r.noFast {
		return nil, false, false
	}
	if len(line) > r.d.MaxRecordBytes || bytes.IndexByte(line, '\r') >= 0 ||
		(r.d.Quote != 0 && bytes.IndexByte(line, r.d.Quote) >= 0) ||
		(r.d.Encoding == UTF8 && hasHigh(line) && !utf8.Valid(line)) ||
		(r.d.Encoding != UTF8 && 3*len(line) > r.d.MaxRecordBytes && hasHigh(line)) { // may decode too long
		return nil, false, false
	}
	r.consume(r.r + nl + 1)
	r.start = r.line
	r.line++
	if len(line) == 0 {
		return nil, true, true
	}
	for i := 0; i <= col; i++ {
		k := bytes.IndexByte(line, r.d.Delimiter)
		switch {
		case i == col && k >= 0:
			field = line[:k:k]
		case i == col:
			field = line[:len(line):len(line)]
		case k < 0:
			return nil, false, true // fewer fields
		default:
			line = line[k+1:]
		}
	}
	if r.d.Encoding != UTF8 && hasHigh(field) {
		r.out = r.out[:0]
		r.appendDecoded(field)
		field = r.out[:len(r.out):len(r.out)]
	}
	return field, false, true
}
