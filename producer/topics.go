package producer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Topic names beside the table topics.
const (
	batchesSuffix    = "batches"
	deadLetterSuffix = "deadletter"
	stateSuffix      = "state"
)

// TopicFor returns the topic of a table: <prefix>.<Table>.
func (c Config) TopicFor(table string) string { return c.TopicPrefix + "." + table }

// BatchesTopic carries BEGIN/END events per batch.
func (c Config) BatchesTopic() string { return c.TopicPrefix + "." + batchesSuffix }

// DeadLetterTopic carries rows that failed conversion.
func (c Config) DeadLetterTopic() string { return c.TopicPrefix + "." + deadLetterSuffix }

// StateTopic is sragent's own checkpoint log (compacted, one partition).
func (c Config) StateTopic() string { return c.TopicPrefix + "." + stateSuffix }

// TopicError is an existing topic whose settings break sragent's
// guarantees; sragent does not change it, an operator must.
type TopicError struct {
	Topic string
	Err   error
}

// Error describes the topic and what is wrong with it.
func (e *TopicError) Error() string { return fmt.Sprintf("topic %s: %v", e.Topic, e.Err) }

// Unwrap returns the cause.
func (e *TopicError) Unwrap() error { return e.Err }

// topics creates missing topics and checks existing ones, remembering
// partition counts (markers go to every partition).
type topics struct {
	adm        *kadm.Client
	cfg        Config
	partitions map[string]int32
}

func newTopics(adm *kadm.Client, cfg Config) *topics {
	return &topics{adm: adm, cfg: cfg, partitions: map[string]int32{}}
}

// ensure makes sure every named topic exists, compacted, with the
// configured partitions (the state topic: one). It returns every problem.
func (t *topics) ensure(ctx context.Context, names ...string) error {
	var missing []string
	for _, n := range names {
		if _, ok := t.partitions[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	details, err := t.adm.ListTopics(ctx, missing...)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var errs []error
	for _, n := range missing {
		want := t.cfg.Partitions
		if n == t.cfg.StateTopic() {
			want = 1
		}
		d, ok := details[n]
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			if err := t.create(ctx, n, want); err != nil {
				errs = append(errs, err)
				continue
			}
			t.partitions[n] = want
			continue
		}
		if d.Err != nil {
			errs = append(errs, &TopicError{Topic: n, Err: d.Err})
			continue
		}
		if got := int32(len(d.Partitions)); got != want {
			errs = append(errs, &TopicError{Topic: n, Err: fmt.Errorf("has %d partitions, kafka.partitions says %d; keys would hash differently, so sragent will not publish to it", got, want)})
			continue
		}
		if err := t.checkCompacted(ctx, n); err != nil {
			errs = append(errs, err)
			continue
		}
		t.partitions[n] = want
	}
	return errors.Join(errs...)
}

func (t *topics) create(ctx context.Context, name string, partitions int32) error {
	compact := "compact"
	resp, err := t.adm.CreateTopic(ctx, partitions, t.cfg.ReplicationFactor, map[string]*string{"cleanup.policy": &compact}, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return &TopicError{Topic: name, Err: fmt.Errorf("create: %w", err)}
	}
	return nil
}

func (t *topics) checkCompacted(ctx context.Context, name string) error {
	rcs, err := t.adm.DescribeTopicConfigs(ctx, name)
	if err != nil {
		return &TopicError{Topic: name, Err: fmt.Errorf("describe configs: %w", err)}
	}
	rc, err := rcs.On(name, nil)
	if err != nil {
		return &TopicError{Topic: name, Err: fmt.Errorf("describe configs: %w", err)}
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil && !strings.Contains(*c.Value, "compact") {
			return &TopicError{Topic: name, Err: fmt.Errorf("cleanup.policy is %q; it must include compact so that tombstones delete rows", *c.Value)}
		}
	}
	return nil
}

// partitionsOf returns the partition count of an ensured topic.
func (t *topics) partitionsOf(name string) int32 { return t.partitions[name] }
