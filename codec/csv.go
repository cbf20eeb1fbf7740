package codec

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The CSV record reader: buffering, record boundaries, line numbers and
// record-level errors. Records are split by the fast path (csv_fast.go) or
// the byte-by-byte parser (csv_slow.go).

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
	bom       bool // the input began with a UTF-8 byte order mark
	noFast    bool // tests: always use the byte-by-byte parser
}

// BOM reports whether the input began with a UTF-8 byte order mark (known
// once the first record is read): it was then read as UTF-8.
func (r *Reader) BOM() bool { return r.bom }

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

// skipBOM drops a UTF-8 byte order mark at the start of the input. A
// file that starts with one is UTF-8 whatever the dialect says: read as
// Windows-1252, "Müller" would become "MÃ¼ller" and still convert.
func (r *Reader) skipBOM() bool {
	for r.w-r.r < 3 && r.fill() {
	}
	if r.w-r.r >= 3 && r.buf[r.r] == 0xEF && r.buf[r.r+1] == 0xBB && r.buf[r.r+2] == 0xBF {
		r.r += 3
		r.offset += 3
		r.d.Encoding, r.bom = UTF8, true
		return true
	}
	return false
}

func (r *Reader) consume(i int) {
	r.offset += int64(i - r.r)
	r.r = i
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
