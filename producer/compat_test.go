package producer

import (
	"testing"

	"github.com/sragent/sragent/producer/kafkatest"
)

// The fixed schemas of the batches and dead-letter topics as last released
// (today's text). Replace a released copy with the current schema only at a
// release, and only after this test passes.
const (
	releasedBatchKeySchema = `{"type":"record","name":"BatchKey","namespace":"sragent","fields":[
		{"name":"group","type":"string"},{"name":"batch","type":"string"}]}`
	releasedBatchValueSchema = `{"type":"record","name":"BatchEvent","namespace":"sragent",
		"doc":"BEGIN before the first event of a batch, END after its last, in the same transactions.",
		"fields":[
		{"name":"status","type":"string","doc":"BEGIN or END"},
		{"name":"group","type":"string"},
		{"name":"batch","type":"string"},
		{"name":"manifest_sha256","type":"string"},
		{"name":"cut_off","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null},
		{"name":"ts_ms","type":"long"},
		{"name":"event_count","type":["null","long"],"default":null,"doc":"END: events published, markers and tombstones excluded"},
		{"name":"data_collections","type":{"type":"array","items":{"type":"record","name":"DataCollection","fields":[
			{"name":"data_collection","type":"string","doc":"topic"},
			{"name":"event_count","type":"long"},
			{"name":"deletes","type":"long"},
			{"name":"dead_letters","type":"long"}]}},"default":[]}]}`
	releasedDeadKeySchema = `{"type":"record","name":"DeadLetterKey","namespace":"sragent","fields":[
		{"name":"group","type":"string"},{"name":"batch","type":"string"},
		{"name":"file","type":"string"},{"name":"line","type":"long"}]}`
	releasedDeadValueSchema = `{"type":"record","name":"DeadLetter","namespace":"sragent",
		"doc":"A row that did not convert; the rest of its batch was published.",
		"fields":[
		{"name":"group","type":"string"},
		{"name":"batch","type":"string"},
		{"name":"table","type":"string"},
		{"name":"file","type":"string"},
		{"name":"line","type":"long","doc":"line where the row starts"},
		{"name":"column","type":["null","string"],"default":null},
		{"name":"reason","type":"string"},
		{"name":"fields","type":["null",{"type":"array","items":"string"}],"default":null,
			"doc":"the row's cells as decoded text, when the row could be split into cells"},
		{"name":"ts_ms","type":"long"}]}`
)

// The batches and dead-letter schemas do not change at run time; between
// releases each must stay BACKWARD compatible with its released copy.
func TestFixedSchemasBackwardCompatibleWithRelease(t *testing.T) {
	for _, tc := range []struct{ subject, current, released string }{
		{"batches-key", batchKeySchema, releasedBatchKeySchema},
		{"batches-value", batchValueSchema, releasedBatchValueSchema},
		{"deadletter-key", deadKeySchema, releasedDeadKeySchema},
		{"deadletter-value", deadValueSchema, releasedDeadValueSchema},
	} {
		if err := kafkatest.BackwardCompatible(tc.current, tc.released); err != nil {
			t.Errorf("%s: not BACKWARD compatible with the released schema: %v", tc.subject, err)
		}
	}
}
