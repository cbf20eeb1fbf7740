package producer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadCommitted reads the topics from their start to their last stable
// offset as a read_committed consumer would and calls fn for each record,
// control records excluded: what is committed now, not waiting for a
// transaction still open (another producer's). It checks what was
// published (demo, tests, diagnosis) and rebuilds the table state.
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
	// Every committed or aborted transaction ends with a control record,
	// which is read too (KeepControlRecords), so the record just before
	// the last stable offset is always seen.
	ends, err := kadm.NewClient(acl).ListCommittedOffsets(ctx, topics...)
	acl.Close()
	remaining := map[string]int64{} // topic/partition → end offset
	ends.Each(func(o kadm.ListedOffset) {
		switch {
		case o.Err != nil && !errors.Is(o.Err, kerr.UnknownTopicOrPartition): // a missing topic holds nothing
			err = o.Err
		case o.Err == nil && o.Offset > 0:
			remaining[fmt.Sprint(o.Topic, "/", o.Partition)] = o.Offset
		}
	})
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
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
