package producer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sragent/sragent/producer/kafkatest"
)

// The batches and dead-letter schemas do not change at run time; between
// releases each must stay BACKWARD compatible with its released copy in
// testdata/released (today's text). Replace a released copy with the
// current schema only at a release, and only after this test passes.
func TestFixedSchemasBackwardCompatibleWithRelease(t *testing.T) {
	for _, tc := range []struct{ subject, current string }{
		{"batches-key", batchKeySchema},
		{"batches-value", batchValueSchema},
		{"deadletter-key", deadKeySchema},
		{"deadletter-value", deadValueSchema},
	} {
		released, err := os.ReadFile(filepath.Join("testdata", "released", tc.subject+".avsc"))
		if err != nil {
			t.Fatal(err)
		}
		if err := kafkatest.BackwardCompatible(tc.current, string(released)); err != nil {
			t.Errorf("%s: not BACKWARD compatible with the released schema: %v", tc.subject, err)
		}
	}
}
