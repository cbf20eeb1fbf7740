package producer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadCommitted reads the topics from their start to their current end as
// a read_committed consumer would and calls fn for each record, control
// records excluded. It is for checking what was published (demo, tests,
// diagnosis): it waits up to 10 s for the commit markers of transactions
// that have just committed, and does not wait for one still open.
func ReadCommitted(ctx context.Context, cfg Config, topics []string, fn func(*kgo.Record)) error {
	return readStable(ctx, cfg, topics, 10*time.Second, fn)
}

// readStable reads to the last stable offsets once they have reached the
// high watermarks or settle has passed: what is committed now, not
// waiting for a transaction still open (another producer's).
func readStable(ctx context.Context, cfg Config, topics []string, settle time.Duration, fn func(*kgo.Record)) error {
	cfg = cfg.withDefaults()
	opts, err := cfg.clientOpts()
	if err != nil {
		return err
	}
	acl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	end, err := ends(ctx, kadm.NewClient(acl), topics, settle)
	acl.Close()
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	remaining := maps.Clone(end)
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
			e, ok := end[tp]
			if !ok || r.Offset >= e {
				continue // committed after the ends were taken
			}
			if r.Offset >= e-1 {
				delete(remaining, tp)
			}
			if !r.Attrs.IsControl() {
				fn(r)
			}
		}
	}
	return nil
}

// ends returns where to stop reading every partition of topics
// (topic/partition → offset, empty partitions left out): the last stable
// offsets. Every committed or aborted transaction ends with a control
// record, which is read too (KeepControlRecords), so the record just
// before it is always seen.
// A real broker writes a transaction's markers after its commit returns:
// for up to settle it waits for the stable offsets to reach the high
// watermarks (a transaction that just committed), then takes them as they
// are (a transaction still open).
func ends(ctx context.Context, adm *kadm.Client, topics []string, settle time.Duration) (map[string]int64, error) {
	until := time.Now().Add(settle)
	for {
		high, err := listOffsets(ctx, adm.ListEndOffsets, topics)
		if err != nil {
			return nil, err
		}
		stable, err := listOffsets(ctx, adm.ListCommittedOffsets, topics)
		if err != nil || maps.Equal(stable, high) || time.Now().After(until) {
			return stable, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topics []string) (map[string]int64, error) {
	offsets, err := list(ctx, topics...)
	out := map[string]int64{}
	offsets.Each(func(o kadm.ListedOffset) {
		switch {
		case o.Err != nil && !errors.Is(o.Err, kerr.UnknownTopicOrPartition): // a missing topic holds nothing
			err = o.Err
		case o.Err == nil && o.Offset > 0:
			out[fmt.Sprint(o.Topic, "/", o.Partition)] = o.Offset
		}
	})
	return out, err
}

// Follow reads the topics as a read_committed consumer from their current
// end (fromStart: from their start) and calls fn for each record as it is
// committed, until ctx ends (which is not an error) or fn returns false.
func Follow(ctx context.Context, cfg Config, topics []string, fromStart bool, fn func(*kgo.Record) bool) error {
	at := kgo.NewOffset().AtEnd()
	if fromStart {
		at = kgo.NewOffset().AtStart()
	}
	cl, err := cfg.withDefaults().client(kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(at))
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("read %s partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		for _, r := range fs.Records() {
			if !fn(r) {
				return nil
			}
		}
	}
}

// ListTopics returns the names of the cluster's topics, sorted.
func ListTopics(ctx context.Context, cfg Config) ([]string, error) {
	cl, err := cfg.withDefaults().client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	return details.Names(), nil
}
