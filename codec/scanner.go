package codec

import (
	"errors"
	"fmt"
	"io"
)

// RowError is one bad row: where it is and why, never what it held. The
// scanner continues with the next row.
type RowError struct {
	// Line is where the row starts.
	Line int64
	// Column is the header name of the bad cell, or "" for the whole row.
	Column string
	Err    error
}

// Error describes the problem by position and cause, never by content.
func (e *RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("line %d column %s: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the cause.
func (e *RowError) Unwrap() error { return e.Err }

// FileError is a problem that makes the rest of a file unreadable.
type FileError struct {
	// Line and Column locate it when known (0 / "" otherwise).
	Line   int64
	Column string
	Err    error
}

// Error describes the problem by position and cause, never by content.
func (e *FileError) Error() string {
	switch {
	case e.Line > 0 && e.Column != "":
		return fmt.Sprintf("line %d column %s: %v", e.Line, e.Column, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// Scanner reads the typed rows of one table file.
type Scanner struct {
	// Layout is the mapping of the file's header.
	Layout *Layout
	r      *Reader
	conv   *Converter
	row    Row
	fields [][]byte
}

// NewScanner reads the header of src (a file of table) and maps it. Errors
// are *FileError: an empty file, a header that is not a CSV record, or a
// *HeaderError.
func NewScanner(table string, src io.Reader, d Dialect) (*Scanner, error) {
	return NewScannerWith(table, src, d, Options{})
}

// NewScannerWith is NewScanner with the layout NewLayoutWith maps.
func NewScannerWith(table string, src io.Reader, d Dialect, opt Options) (*Scanner, error) {
	r := NewReader(src, d)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FileError{Line: 1, Err: errors.New("empty file: no header row")}
	}
	var uq *UnterminatedQuoteError
	if errors.As(err, &uq) { // its position is the FileError's
		return nil, &FileError{Line: uq.Line, Column: fmt.Sprintf("#%d", uq.Column), Err: errors.New("header: quoted field not terminated before end of file")}
	}
	if err != nil {
		return nil, &FileError{Line: 1, Err: fmt.Errorf("header: %w", unwrapRecord(err))}
	}
	l, err := NewLayoutWith(table, header, opt)
	if err != nil {
		fe := &FileError{Line: 1, Err: err}
		var he *HeaderError
		if errors.As(err, &he) && he.Column > 0 && he.Column <= len(header) {
			fe.Column = string(header[he.Column-1])
		}
		return nil, fe
	}
	return &Scanner{Layout: l, r: r, conv: NewConverter(l)}, nil
}

func unwrapRecord(err error) error {
	var re *RecordError
	if errors.As(err, &re) {
		return re.Err
	}
	return err
}

// SetLabels gives the converter the lists that fill the layout's label
// fields (Options.Labels); without them every label is missing.
func (s *Scanner) SetLabels(l Labels) { s.conv.SetLabels(l) }

// BOM reports whether the file began with a UTF-8 byte order mark, so
// that it is read as UTF-8 whatever the dialect's encoding.
func (s *Scanner) BOM() bool { return s.r.BOM() }

// Line returns where the row last returned (or rejected) starts.
func (s *Scanner) Line() int64 { return s.r.Line() }

// Offset returns the input bytes consumed so far.
func (s *Scanner) Offset() int64 { return s.r.Offset() }

// Scan returns the next row, valid until the next call. It returns a
// *RowError for a bad row (call Scan again to go on), io.EOF at the end,
// and a *FileError when the rest of the file cannot be read.
func (s *Scanner) Scan() (*Row, error) {
	fields, err := s.r.Read()
	s.fields = fields
	if err != nil {
		var re *RecordError
		var uq *UnterminatedQuoteError
		switch {
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		case errors.As(err, &re):
			return nil, &RowError{Line: re.Line, Column: s.columnName(re.Column), Err: re.Err}
		case errors.As(err, &uq):
			return nil, &FileError{Line: uq.Line, Column: s.columnName(uq.Column), Err: errors.New("quoted field not terminated before end of file")}
		}
		return nil, &FileError{Err: err} // an I/O or archive error belongs to no line
	}
	if err := s.conv.Convert(fields, &s.row); err != nil {
		re := &RowError{Line: s.r.Line(), Err: err}
		var ce *CellError
		if errors.As(err, &ce) {
			re.Column, re.Err = ce.Column, ce.Err
		}
		return nil, re
	}
	return &s.row, nil
}

func (s *Scanner) columnName(field int) string {
	if field >= 1 && field <= len(s.Layout.Header) {
		return s.Layout.Header[field-1]
	}
	if field > len(s.Layout.Header) {
		return fmt.Sprintf("#%d", field)
	}
	return ""
}

// Fields returns the cells of the record last read, as decoded text, also
// when it did not convert; nil when the record could not be split (a
// *RowError from the CSV level). Valid until the next Scan.
func (s *Scanner) Fields() [][]byte { return s.fields }

// Skim reads the rest of the file without converting it, checking only
// what makes a file unreadable, and calls fn with each record's fields.
// Record-level problems are left to Scan; a *FileError is returned for an
// unterminated quote or a read error (for a zip entry, a CRC mismatch).
func (s *Scanner) Skim(fn func(fields [][]byte)) error {
	for {
		fields, err := s.r.Read()
		if err == nil {
			fn(fields)
			continue
		}
		if end, err := s.skimmed(err); end {
			return err
		}
	}
}

// SkimField is Skim for a pass that needs one field of each record: fn
// gets each record's field col (nil when the record has fewer fields or
// col < 0), and regular lines are not split past it (Reader.ReadField).
func (s *Scanner) SkimField(col int, fn func(field []byte)) error {
	for {
		field, err := s.r.ReadField(col)
		if err == nil {
			fn(field)
			continue
		}
		if end, err := s.skimmed(err); end {
			return err
		}
	}
}

// skimmed says whether Skim ends at err (a record-level error does not),
// and with what error (nil at the end of the file). Apart from the loop:
// the targets of errors.As escape, and would cost every record two
// allocations.
func (s *Scanner) skimmed(err error) (end bool, _ error) {
	var re *RecordError
	var uq *UnterminatedQuoteError
	switch {
	case errors.Is(err, io.EOF):
		return true, nil
	case errors.As(err, &re):
		return false, nil
	case errors.As(err, &uq):
		return true, &FileError{Line: uq.Line, Column: s.columnName(uq.Column), Err: errors.New("quoted field not terminated before end of file")}
	}
	return true, &FileError{Err: err}
}
