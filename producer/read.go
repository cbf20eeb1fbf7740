package producer

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadCommitted reads the topics from their start to their current end as
// a read_committed consumer would and calls fn for each record, control
// records excluded. It is for checking what was published (demo, tests,
// diagnosis), not for consuming in production.
func ReadCommitted(ctx context.Context, cfg Config, topics []string, fn func(*kgo.Record)) error {
	cfg = cfg.withDefaults()
	opts, err := cfg.clientOpts()
	if err != nil {
		return err
	}
	acl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	ends, err := kadm.NewClient(acl).ListEndOffsets(ctx, topics...)
	acl.Close()
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	remaining := map[string]int64{} // topic/partition → end offset
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			remaining[fmt.Sprint(o.Topic, "/", o.Partition)] = o.Offset
		}
	})
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topics...), kgo.KeepControlRecords(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	// Transaction markers are returned too (KeepControlRecords), so every
	// partition's last offset is seen even when it is a marker.
	for len(remaining) > 0 {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		fs := cl.PollFetches(pctx)
		timedOut := pctx.Err() != nil
		cancel()
		if timedOut {
			return fmt.Errorf("read topics: nothing for 10s with %d partitions unread", len(remaining))
		}
		for _, r := range fs.Records() {
			tp := fmt.Sprint(r.Topic, "/", r.Partition)
			if r.Offset >= remaining[tp]-1 {
				delete(remaining, tp)
			}
			if !r.Attrs.IsControl() {
				fn(r)
			}
		}
	}
	return nil
}
