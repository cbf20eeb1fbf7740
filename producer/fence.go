package producer

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// FencedError is another sragent publishing the same reporting group: it
// initialised the group's transactional id after this one did, so this
// one's transaction was aborted. The Agent backs off the group instead of
// fencing it back at once.
type FencedError struct {
	Group, TransactionalID string
	Err                    error
}

// Error names the group and the transactional id.
func (e *FencedError) Error() string {
	return fmt.Sprintf("another sragent is publishing group %s (transactional id %s); this one backs off: %v", e.Group, e.TransactionalID, e.Err)
}

// Unwrap returns the broker's error.
func (e *FencedError) Unwrap() error { return e.Err }

func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}
