package manifest

import (
	"fmt"
	"strings"
)

// Error is a structural problem of a batch: it names where, never what a
// cell held.
type Error struct {
	// Batch is the batch folder name; File the file in it ("" for the
	// folder itself).
	Batch, File string
	// Line is the 1-based line in File, or 0.
	Line int64
	// Column is the column name, or "".
	Column string
	Err    error
}

// Error describes the problem by position and cause, never by content.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Batch != "" {
		b.WriteString("batch " + e.Batch)
	}
	if e.File != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " column %s", e.Column)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every structural problem found, in the order found.
type ErrorList []*Error

// Error describes the problem by position and cause, never by content.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

func (l ErrorList) withBatch(batch string) ErrorList {
	for _, e := range l {
		e.Batch = batch
	}
	return l
}
