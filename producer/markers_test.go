package producer

import (
	"context"
	"testing"

	"github.com/sragent/sragent/schemas/srgen"
)

// Compaction keeps the latest begin and end marker of every group on
// every partition: marker keys differ per (group, table), so one group's
// snapshot never erases another's boundary from a compacted topic.
func TestMarkersSurviveCompactionPerGroup(t *testing.T) {
	e := newFakeEnv(t)
	e.chain(srgen.Options{Seed: 12, Groups: 2, Orgs: 1, Batches: 2, Rows: 30, Tables: []string{"SRPatient"}})
	e.mustRun(context.Background())
	e.k.Fake.Compact()
	markers := map[int32]map[string]bool{} // partition → group/type
	for _, ev := range e.consume(e.cfg.TopicFor("SRPatient")) {
		if ev.marker == "" {
			continue
		}
		if markers[ev.partition] == nil {
			markers[ev.partition] = map[string]bool{}
		}
		markers[ev.partition][ev.value["source"].(map[string]any)["group"].(string)+"/"+ev.marker] = true
	}
	if len(markers) != int(e.cfg.Partitions) {
		t.Fatalf("markers on %d of %d partitions after compaction", len(markers), e.cfg.Partitions)
	}
	for part, got := range markers {
		for _, want := range []string{"group1/snapshot_begin", "group1/snapshot_end", "group2/snapshot_begin", "group2/snapshot_end"} {
			if !got[want] {
				t.Errorf("partition %d: no %s marker after compaction (%v)", part, want, got)
			}
		}
	}
}
