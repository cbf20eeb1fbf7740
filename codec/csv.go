package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// Encoding is the character set of the input files.
type Encoding uint8

const (
	// Windows1252 is SystmOne's default (Java's Cp1252). The five bytes it
	// leaves undefined map to the C1 controls, as the WHATWG decoder does,
	// so no byte is ever lost.
	Windows1252 Encoding = iota
	// UTF8 input is passed through after validation.
	UTF8
)

// ParseEncoding accepts "windows-1252" (also "cp1252") and "utf-8" ("utf8").
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "windows-1252", "cp1252", "windows1252":
		return Windows1252, nil
	case "utf-8", "utf8":
		return UTF8, nil
	}
	return 0, fmt.Errorf("unknown encoding %q (want windows-1252 or utf-8)", s)
}

// String returns the encoding's canonical name.
func (e Encoding) String() string {
	if e == UTF8 {
		return "utf-8"
	}
	return "windows-1252"
}

// Dialect is how a CSV file is written.
type Dialect struct {
	// Delimiter separates fields; the default is ','.
	Delimiter byte
	// Quote is the text qualifier, doubled inside a quoted field to stand
	// for itself; the default is '"'. Zero means fields are never quoted.
	Quote byte
	// Encoding is the input character set; output is always UTF-8.
	Encoding Encoding
	// MaxRecordBytes bounds the decoded size of one record; a longer record
	// is reported and skipped, so memory never depends on the input.
	// The default is 16 MiB.
	MaxRecordBytes int
}

// DefaultDialect is the SR default: Windows-1252, comma, double quote.
func DefaultDialect() Dialect {
	return Dialect{Delimiter: ',', Quote: '"', Encoding: Windows1252, MaxRecordBytes: 16 << 20}
}

// Validate reports a dialect that cannot be parsed unambiguously.
func (d Dialect) Validate() error {
	switch {
	case d.Delimiter == 0:
		return errors.New("delimiter must be set")
	case d.Delimiter == d.Quote:
		return errors.New("delimiter and quote must differ")
	case d.Delimiter == '\r' || d.Delimiter == '\n' || d.Quote == '\r' || d.Quote == '\n':
		return errors.New("delimiter and quote cannot be CR or LF")
	case d.Delimiter >= 0x80 || d.Quote >= 0x80:
		return errors.New("delimiter and quote must be ASCII")
	case d.MaxRecordBytes <= 0:
		return errors.New("max record bytes must be positive")
	}
	return nil
}

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

// Reader streams records from CSV input without holding more than one
// record and one read buffer in memory.
type Reader struct {
	src   io.Reader
	d     Dialect
	class [256]uint8

	buf    []byte
	r, w   int
	eof    bool
	rdErr  error
	offset int64 // input bytes consumed

	out    []byte // decoded bytes of the current record's fields
	ends   []int
	fields [][]byte

	line      int64 // current physical line
	start     int64 // line where the current record starts
	skipLF    bool
	state     uint8
	quoted    bool // current record had a quoted field
	high      bool // current record had a byte >= 0x80
	tooLong   bool
	recErr    error
	recErrCol int
	first     bool
	noFast    bool // tests: always use the byte-by-byte parser
}

// NewReader returns a Reader over src with dialect d.
func NewReader(src io.Reader, d Dialect) *Reader {
	if d.MaxRecordBytes <= 0 {
		d.MaxRecordBytes = DefaultDialect().MaxRecordBytes
	}
	r := &Reader{src: src, d: d, buf: make([]byte, 256<<10), line: 1, first: true}
	for i := 0x80; i < 0x100; i++ {
		r.class[i] = clHigh
	}
	r.class[d.Delimiter] = clDelim
	if d.Quote != 0 {
		r.class[d.Quote] = clQuote
	}
	r.class['\r'] = clCR
	r.class['\n'] = clLF
	return r
}

// Line returns the line on which the record last returned by Read starts
// (the header is line 1).
func (r *Reader) Line() int64 { return r.start }

// Offset returns how many input bytes have been consumed.
func (r *Reader) Offset() int64 { return r.offset }

// fill reads more input after the unconsumed bytes (moved to the front of
// the buffer); it returns false when no byte was added.
func (r *Reader) fill() bool {
	if r.eof {
		return false
	}
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w == len(r.buf) {
		return false
	}
	for {
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			r.eof = true
			if !errors.Is(err, io.EOF) {
				r.rdErr = err
			}
		}
		if n > 0 || r.eof {
			return n > 0
		}
	}
}

// Read returns the next record's fields, which stay valid until the next
// call. Blank lines are skipped. At the end of input it returns io.EOF.
//
// A *RecordError means only this record is bad: its fields are not
// returned, and the next Read continues with the following record. Any
// other error (a read error, or an *UnterminatedQuoteError, which swallows
// the rest of the input) is fatal for the file.
func (r *Reader) Read() ([][]byte, error) {
	for {
		fields, done, err := r.readRecord()
		if err != nil || !done {
			return nil, err
		}
		if len(fields) == 1 && len(fields[0]) == 0 && !r.quoted {
			continue // blank line
		}
		return fields, nil
	}
}

// readRecord parses one record; done is false when the input held no more.
func (r *Reader) readRecord() (fields [][]byte, done bool, err error) {
	r.out, r.ends = r.out[:0], r.ends[:0]
	r.state, r.quoted, r.high, r.tooLong, r.recErr = stFieldStart, false, false, false, nil
	if fields, ok := r.fast(); ok {
		return fields, true, nil
	}
	r.out, r.ends = r.out[:0], r.ends[:0] // a failed fast attempt may have begun
	started := false
	for {
		if r.r >= r.w && !r.fill() {
			if r.rdErr != nil {
				return nil, false, fmt.Errorf("read input: %w", r.rdErr)
			}
			if r.state == stQuoted {
				return nil, false, &UnterminatedQuoteError{Line: r.start, Column: len(r.ends) + 1}
			}
			if !started {
				return nil, false, io.EOF
			}
			r.endField()
			return r.finish()
		}
		if r.first {
			r.first = false
			if r.skipBOM() {
				continue
			}
		}
		if !started {
			if r.skipLF && r.buf[r.r] == '\n' {
				r.skipLF = false
				r.r++
				r.offset++
				continue
			}
			r.skipLF = false
			started = true
			r.start = r.line
		}
		if end := r.scan(); end {
			return r.finish()
		}
	}
}

// skipBOM drops a UTF-8 byte order mark at the start of the input.
func (r *Reader) skipBOM() bool {
	for r.w-r.r < 3 && r.fill() {
	}
	if r.w-r.r >= 3 && r.buf[r.r] == 0xEF && r.buf[r.r+1] == 0xBB && r.buf[r.r+2] == 0xBF {
		r.r += 3
		r.offset += 3
		return true
	}
	return false
}

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

func (r *Reader) consume(i int) {
	r.offset += int64(i - r.r)
	r.r = i
}

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

// finish turns the parsed record into fields, or into a *RecordError.
func (r *Reader) finish() ([][]byte, bool, error) {
	if r.tooLong {
		return nil, false, &RecordError{Line: r.start, Err: newFault(ReasonTooLong, fmt.Sprintf("record longer than %d bytes", r.d.MaxRecordBytes))}
	}
	r.fields = r.fields[:0]
	prev := 0
	for _, e := range r.ends {
		r.fields = append(r.fields, r.out[prev:e:e])
		prev = e
	}
	if r.recErr != nil {
		return nil, false, &RecordError{Line: r.start, Column: r.recErrCol, Err: r.recErr}
	}
	if r.high && r.d.Encoding == UTF8 {
		for i, f := range r.fields {
			if !utf8.Valid(f) {
				return nil, false, &RecordError{Line: r.start, Column: i + 1, Err: newFault(ReasonEncoding, "bytes not valid in utf-8")}
			}
		}
	}
	return r.fields, true, nil
}

// RecordError reports one bad record; the reader can go on past it.
type RecordError struct {
	// Line is where the record starts.
	Line int64
	// Column is the 1-based field position, or 0 for the whole record.
	Column int
	Err    error
}

// Error describes the problem by position and cause, never by content.
func (e *RecordError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d field %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the underlying cause.
func (e *RecordError) Unwrap() error { return e.Err }

// UnterminatedQuoteError reports a quoted field still open at the end of
// the input: everything after its opening quote would be one field, so the
// file cannot be trusted.
type UnterminatedQuoteError struct {
	// Line is where the record with the open quote starts.
	Line int64
	// Column is the 1-based field position of the open quote.
	Column int
}

// Error describes the problem by position and cause, never by content.
func (e *UnterminatedQuoteError) Error() string {
	return fmt.Sprintf("line %d field %d: quoted field not terminated before end of file", e.Line, e.Column)
}

// cp1252 holds the UTF-8 encoding of bytes 0x80-0xFF: length, then bytes.
var cp1252 = func() (t [128][4]byte) {
	// 0x80-0x9F differ from Latin-1; 0 marks the five undefined bytes,
	// which decode to the C1 control of the same value.
	high := [32]rune{
		0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
		0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
	}
	for i := range t {
		r := rune(0x80 + i)
		if i < 32 && high[i] != 0 {
			r = high[i]
		}
		n := utf8.EncodeRune(t[i][1:], r)
		t[i][0] = byte(n)
	}
	return t
}()
