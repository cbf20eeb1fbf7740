package codec

import (
	"errors"
	"fmt"
)

// fault is a row-level error with a stable reason code: the bounded label
// of dead-letter metrics, while the message says more.
type fault struct{ reason, msg string }

func (f *fault) Error() string { return f.msg }

func newFault(reason, msg string) error { return &fault{reason: reason, msg: msg} }

// Reason codes of row-level problems.
const (
	ReasonNotInteger  = "not_integer"
	ReasonOverflow    = "integer_overflow"
	ReasonNotBoolean  = "not_boolean"
	ReasonNotNumber   = "not_number"
	ReasonDateFormat  = "date_format"
	ReasonNoSuchDate  = "no_such_date"
	ReasonRemovedData = "bad_removed_data"
	ReasonEmptyKey    = "empty_key"
	ReasonFieldCount  = "field_count"
	ReasonTooLong     = "record_too_long"
	ReasonTooLarge    = "too_large_for_broker"
	ReasonQuote       = "bad_quoting"
	ReasonEncoding    = "bad_encoding"
	ReasonOther       = "other"
)

// Reason returns the reason code of a row-level error (a *RowError,
// *CellError or *RecordError, or their cause), or ReasonOther.
func Reason(err error) string {
	var f *fault
	if errors.As(err, &f) {
		return f.reason
	}
	return ReasonOther
}

// ErrTooLarge is the row-level error of an event of size bytes that its
// topic cannot take (max.message.bytes, or the producer's batch bound).
func ErrTooLarge(size, limit int) error {
	return newFault(ReasonTooLarge, fmt.Sprintf("the event is %d bytes, over the %d bytes its topic accepts (max.message.bytes)", size, limit))
}
