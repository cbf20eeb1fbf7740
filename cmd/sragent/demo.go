package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sragent/sragent/producer"
	"github.com/sragent/sragent/schemas/srgen"
)

// demoListen is the demo's default --listen: one port above the agent's
// metrics.listen, so that a demo beside a running agent starts.
const demoListen = "127.0.0.1:9465"

func (a *app) demoCommand() *cobra.Command {
	var keep bool
	var rows int
	var listen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run sragent end to end on generated batches with an in-process broker and registry",
		Long: `demo generates a realistic synthetic download folder (two reporting groups, each
a full batch followed by deltas with inserts, updates and deletes, a full SRCode
re-send inside a delta batch, Windows-1252 text, zipped files), starts an
in-process Kafka broker (franz-go's kfake) and Schema Registry (srfake) on
localhost, publishes every batch exactly as production would, and prints what
landed on each topic. With --keep the broker and registry stay up until Ctrl-C
so that you can point a consumer at them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), rows, keep, listen)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the broker, registry and folders until interrupted (Ctrl-C then removes the folders)")
	cmd.Flags().IntVar(&rows, "rows", 500, "SRCode rows per organisation in the full batch")
	cmd.Flags().StringVar(&listen, "listen", demoListen, "with --keep: address of /metrics, /healthz and /readyz (not metrics.listen's 9464: an agent may run beside the demo)")
	return cmd
}

func (a *app) demo(ctx context.Context, rows int, keep bool, listen string) error {
	fail := func(err error) error { return &exitError{code: exitFailed, err: err} }
	dir, err := os.MkdirTemp("", "sragent-demo-")
	if err != nil {
		return fail(fmt.Errorf("create demo folder: %w", err))
	}
	// Removed at the end, with --keep too (Ctrl-C ends it).
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "input")
	g := srgen.New(srgen.Options{Seed: 1, Groups: 2, Orgs: 3, Batches: 4, Rows: rows, Zip: true})
	if err := g.Write(in); err != nil {
		return fail(err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return fail(fmt.Errorf("start in-process broker: %w", err))
	}
	defer cluster.Close()
	registry := srfake.New()
	defer registry.Close()
	fmt.Fprintf(a.stdout, "generated %d reporting groups x 4 batches in %s\n", len(g.Groups()), in)
	fmt.Fprintf(a.stdout, "in-process Kafka broker at %s, Schema Registry at %s\n\n", strings.Join(cluster.ListenAddrs(), ","), registry.URL())

	cfg, err := loadConfig("", nil)
	if err != nil {
		return fail(err)
	}
	cfg.Input.Dir, cfg.Input.Settle = in, 0
	cfg.Archive.Dir, cfg.Quarantine.Dir = filepath.Join(dir, "archive"), filepath.Join(dir, "quarantine")
	cfg.State.Dir = filepath.Join(dir, "state")
	cfg.Kafka.Brokers, cfg.SchemaRegistry.URL = cluster.ListenAddrs(), registry.URL()
	cfg.Kafka.Partitions, cfg.Log.Level = 3, "warn"
	start := time.Now()
	s, err := a.connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	pass, err := s.agent.RunOnce(ctx)
	if err != nil {
		return fail(err)
	}
	elapsed := time.Since(start)
	writePass(a.stdout, pass, nil)
	if err := a.topicSummary(ctx, cfg); err != nil {
		return fail(err)
	}
	fmt.Fprintf(a.stdout, "\npublished in %s; batches archived under %s\n", elapsed.Round(time.Millisecond), cfg.Archive.Dir)
	if !keep {
		fmt.Fprintln(a.stdout, "run with --keep to leave the broker and registry up and consume the topics yourself")
		return nil
	}
	stop, err := health{s: s}.serve(listen, "--listen")
	if err != nil {
		return fail(err)
	}
	defer stop()
	fmt.Fprintf(a.stdout, "\nMetrics at http://%s/metrics (health: /healthz, /readyz).\n", listen)
	fmt.Fprint(a.stdout, demoConsumeHelp(cluster.ListenAddrs()[0], registry.URL(), cfg.Kafka.TopicFor("SRPatient")))
	<-ctx.Done()
	return nil
}

// topicSummary prints what a read_committed consumer finds on each topic.
func (a *app) topicSummary(ctx context.Context, cfg Config) error {
	all, err := producer.ListTopics(ctx, cfg.Kafka)
	if err != nil {
		return err
	}
	var topics []string
	for _, t := range all {
		if strings.HasPrefix(t, cfg.Kafka.TopicPrefix+".") && t != cfg.Kafka.StateTopic() {
			topics = append(topics, t)
		}
	}
	counts, err := countTopics(ctx, cfg, topics)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "topic\tevents\ttombstones\tmarkers\t")
	sort.Strings(topics)
	for _, t := range topics {
		c := counts[t]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", t, c.events, c.tombstones, c.markers)
	}
	return tw.Flush()
}

// topicCount is what a read_committed consumer finds on a topic: events
// (including d events), tombstones and snapshot markers.
type topicCount struct{ events, tombstones, markers int }

// countTopics reads the topics to their ends with read_committed.
func countTopics(ctx context.Context, cfg Config, topics []string) (map[string]*topicCount, error) {
	out := map[string]*topicCount{}
	for _, t := range topics {
		out[t] = &topicCount{}
	}
	err := producer.ReadCommitted(ctx, cfg.Kafka, topics, func(r *kgo.Record) {
		c := out[r.Topic]
		switch {
		case r.Value == nil:
			c.tombstones++
		case len(r.Headers) > 0 && r.Headers[0].Key == producer.MarkerHeader:
			c.markers++
		default:
			c.events++
		}
	})
	return out, err
}

// demoConsumeHelp says how to read the demo's topics from another
// terminal: sragent tail, which decodes keys and values through the
// registry, and kcat, which Debian's and Ubuntu's builds (without Avro
// support) can only show as bytes.
func demoConsumeHelp(broker, registry, topic string) string {
	return fmt.Sprintf(`The broker and registry stay up until Ctrl-C. From another terminal, print a topic as JSON lines,
key and value decoded through the registry (read_committed):
  SRAGENT_KAFKA_BROKERS=%[1]s SRAGENT_SCHEMA_REGISTRY_URL=%[2]s sragent tail %[3]s --from-beginning
  PowerShell: $env:SRAGENT_KAFKA_BROKERS="%[1]s"; $env:SRAGENT_SCHEMA_REGISTRY_URL="%[2]s"; sragent tail %[3]s --from-beginning
(go run ./cmd/sragent tail ... from a checkout). Any kcat shows the records undecoded:
  kcat -b %[1]s -C -t %[3]s -o beginning -e -X isolation.level=read_committed -f 'partition %%p offset %%o: %%S bytes\n'
`, broker, registry, topic)
}
