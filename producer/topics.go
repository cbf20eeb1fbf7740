package producer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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
// partition counts (markers go to every partition) and the largest record
// each accepts.
type topics struct {
	adm *kadm.Client // nil: offline, every topic is as sragent would create it
	// dry: describe, never create; a missing topic is taken as sragent
	// would create it.
	dry        bool
	cfg        Config
	partitions map[string]int32
	maxBytes   map[string]int32
	brokerMax  int32 // the brokers' message.max.bytes (0: not asked yet)
	// expiring are topics whose cleanup.policy also deletes old records:
	// an image not published again may expire from them.
	expiring map[string]bool
	// keepDeletes is how long a topic is sure to keep a tombstone
	// (delete.retention.ms, and retention.ms when it expires records),
	// when the broker says; appendTime marks topics whose broker stamps
	// records itself (message.timestamp.type LogAppendTime). A replay of
	// dead letters orders by record times (replay.go).
	keepDeletes map[string]time.Duration
	appendTime  map[string]bool
}

// defaultMaxMessageBytes is Kafka's message.max.bytes default, assumed
// when a broker does not report a topic's max.message.bytes.
const defaultMaxMessageBytes = 1048588

func newTopics(adm *kadm.Client, cfg Config) *topics {
	return &topics{adm: adm, cfg: cfg, partitions: map[string]int32{}, maxBytes: map[string]int32{}, expiring: map[string]bool{},
		keepDeletes: map[string]time.Duration{}, appendTime: map[string]bool{}}
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
	if t.adm == nil {
		for _, n := range missing {
			t.assume(ctx, n)
		}
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
		if (!ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition)) && t.dry {
			t.assume(ctx, n)
			continue
		}
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			existed, err := t.create(ctx, n, want)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !existed {
				if err := t.inspect(ctx, n); err != nil {
					errs = append(errs, err)
					continue
				}
				t.partitions[n] = want
				continue
			}
			// Created meanwhile by someone else, or not yet in the
			// metadata a real broker serves: check it as it is.
			if d, err = t.await(ctx, n); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := t.check(ctx, d, want); err != nil {
			errs = append(errs, err)
			continue
		}
		t.partitions[n] = want
	}
	return errors.Join(errs...)
}

// assume takes a missing topic as ensure would create it (a dry run): the
// configured partitions, and the brokers' message.max.bytes, which a new
// topic inherits.
func (t *topics) assume(ctx context.Context, name string) {
	t.partitions[name] = t.cfg.Partitions
	if name == t.cfg.StateTopic() {
		t.partitions[name] = 1
	}
	if t.brokerMax == 0 {
		t.brokerMax = t.brokerMessageMax(ctx)
	}
	t.maxBytes[name] = t.brokerMax
}

// brokerMessageMax asks a broker for its message.max.bytes; Kafka's
// default when offline or when it does not say.
func (t *topics) brokerMessageMax(ctx context.Context) int32 {
	if t.adm == nil {
		return defaultMaxMessageBytes
	}
	brokers, err := t.adm.ListBrokers(ctx)
	if err != nil || len(brokers) == 0 {
		return defaultMaxMessageBytes
	}
	rcs, err := t.adm.DescribeBrokerConfigs(ctx, brokers[0].NodeID)
	if err != nil {
		return defaultMaxMessageBytes
	}
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			if c.Key == "message.max.bytes" && c.Value != nil {
				if n, err := strconv.ParseInt(*c.Value, 10, 32); err == nil && n > 0 {
					return int32(n)
				}
			}
		}
	}
	return defaultMaxMessageBytes
}

// check validates an existing topic.
func (t *topics) check(ctx context.Context, d kadm.TopicDetail, want int32) error {
	if d.Err != nil {
		return &TopicError{Topic: d.Topic, Err: d.Err}
	}
	if got := int32(len(d.Partitions)); got != want {
		return &TopicError{Topic: d.Topic, Err: fmt.Errorf("has %d partitions, kafka.partitions says %d; keys would hash differently, so sragent will not publish to it", got, want)}
	}
	return t.inspect(ctx, d.Topic)
}

// await lists a topic that exists until the broker's metadata shows it.
func (t *topics) await(ctx context.Context, name string) (kadm.TopicDetail, error) {
	for i := 0; ; i++ {
		details, err := t.adm.ListTopics(ctx, name)
		if err != nil {
			return kadm.TopicDetail{}, fmt.Errorf("list topics: %w", err)
		}
		if d, ok := details[name]; ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return d, nil
		}
		if i == 50 {
			return kadm.TopicDetail{}, &TopicError{Topic: name, Err: errors.New("exists, but the brokers' metadata does not show it")}
		}
		select {
		case <-ctx.Done():
			return kadm.TopicDetail{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// create creates a compacted topic; existed reports that it was there.
func (t *topics) create(ctx context.Context, name string, partitions int32) (existed bool, err error) {
	compact := "compact"
	resp, err := t.adm.CreateTopic(ctx, partitions, t.cfg.ReplicationFactor, map[string]*string{"cleanup.policy": &compact}, name)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return true, nil
	}
	if err != nil {
		return false, &TopicError{Topic: name, Err: fmt.Errorf("create: %w", err)}
	}
	return false, nil
}

// inspect checks that the topic is compacted and remembers its
// max.message.bytes.
func (t *topics) inspect(ctx context.Context, name string) error {
	rcs, err := t.adm.DescribeTopicConfigs(ctx, name)
	if err != nil {
		return &TopicError{Topic: name, Err: fmt.Errorf("describe configs: %w", err)}
	}
	rc, err := rcs.On(name, nil)
	if err != nil {
		return &TopicError{Topic: name, Err: fmt.Errorf("describe configs: %w", err)}
	}
	t.maxBytes[name] = defaultMaxMessageBytes
	keep, expire := 24*time.Hour, time.Duration(-1) // Kafka's defaults: a day, and never
	for _, c := range rc.Configs {
		if c.Value == nil {
			continue
		}
		switch c.Key {
		case "cleanup.policy":
			if !strings.Contains(*c.Value, "compact") {
				return &TopicError{Topic: name, Err: fmt.Errorf("cleanup.policy is %q; it must include compact so that tombstones delete rows", *c.Value)}
			}
			t.expiring[name] = strings.Contains(*c.Value, "delete")
		case "max.message.bytes":
			if n, err := strconv.ParseInt(*c.Value, 10, 32); err == nil && n > 0 {
				t.maxBytes[name] = int32(n)
			}
		case "delete.retention.ms":
			if n, err := strconv.ParseInt(*c.Value, 10, 64); err == nil && n >= 0 {
				keep = time.Duration(n) * time.Millisecond
			}
		case "retention.ms":
			if n, err := strconv.ParseInt(*c.Value, 10, 64); err == nil && n >= 0 {
				expire = time.Duration(n) * time.Millisecond
			}
		case "message.timestamp.type":
			t.appendTime[name] = *c.Value == "LogAppendTime"
		}
	}
	if t.expiring[name] && expire >= 0 {
		keep = min(keep, expire)
	}
	t.keepDeletes[name] = keep
	return nil
}

// recordOverhead is what a record batch of one record adds to its key and
// value (batch header, record framing, a marker's header), rounded up.
const recordOverhead = 1024

// maxRecord returns the largest key plus value the topic and the producer
// accept in one record.
func (t *topics) maxRecord(name string) int {
	return int(min(t.maxBytes[name], t.cfg.BatchMaxBytes)) - recordOverhead
}

// partitionsOf returns the partition count of an ensured topic.
func (t *topics) partitionsOf(name string) int32 { return t.partitions[name] }
