package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/sragent/sragent/producer"
)

// Exit code of publish and run when a chain needs an operator.
const exitAttention = 4

// session is a connected agent, its metrics and its log.
type session struct {
	closeLog   func()
	agent      *producer.Agent
	metricsReg *prometheus.Registry
	log        *slog.Logger
}

// Close disconnects and closes the log file.
func (s *session) Close() {
	s.agent.Close()
	s.closeLog()
}

// connect opens the agent (one call: registry, topics, fencing, state,
// metrics) with the command's logger, metrics and progress display; opts
// add to them (a dry run).
func (a *app) connect(ctx context.Context, cfg Config, opts ...producer.Opt) (*session, error) {
	log, closeLog, err := a.logger(cfg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	metricsReg := newRegistry()
	s, err := a.open(ctx, cfg, log, metricsReg, producer.NewMetrics(metricsReg, version()), opts...)
	if err != nil {
		closeLog()
		return nil, err
	}
	s.closeLog = closeLog
	return s, nil
}

// open opens the agent with a logger and metrics the caller owns.
func (a *app) open(ctx context.Context, cfg Config, log *slog.Logger, reg *prometheus.Registry, m *producer.Metrics, opts ...producer.Opt) (*session, error) {
	prog := newProgress(a.stdout, a.stderr, log)
	if a.quietProgress && !prog.tty {
		prog = nil
	}
	opts = append([]producer.Opt{producer.WithLogger(log), producer.WithVersion(version()), producer.WithMetrics(m),
		producer.WithProgress(func(_, batch, file string, bytes, total, rows int64, done bool) {
			prog.update(batch, file, bytes, total, rows, done)
		})}, opts...)
	agent, err := producer.Open(ctx, cfg.Agent(), opts...)
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return &session{agent: agent, metricsReg: reg, log: log, closeLog: func() {}}, nil
}

// withSession loads the configuration, takes state.dir's single-instance
// lock, connects, runs fn and disconnects.
func (a *app) withSession(ctx context.Context, command string, fn func(Config, *session) error) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	unlock, err := lockStateDir(cfg.State.Dir, command)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	defer unlock()
	a.exitWithin(ctx, cfg.Shutdown.Timeout)
	s, err := a.connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(cfg, s)
}

func (a *app) publishCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "publish",
		Short: "Publish every pending batch in order, then exit",
		Long: `publish publishes every ready batch under input.dir, each reporting group's chain
in cut-off order, exactly once, and moves each published batch to archive.dir.
A structurally bad batch is quarantined whole and its chain waits; a gap
(lost deltas) halts its chain until a full batch arrives or an operator runs
sragent chain resume GROUP. Other chains go on.

Exit status: 0 when everything ready was published (or was a duplicate),
4 when a chain is halted or a batch was quarantined, 2 on a usage or
configuration error, 3 when Kafka, the registry or the disk failed (nothing
is lost: the next run resumes after the last committed transaction).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd.Context(), "publish", func(_ Config, s *session) error {
				pass, err := s.agent.RunOnce(cmd.Context())
				if pass != nil {
					writePass(a.stdout, pass, err)
				}
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				if len(pass.Halted) > 0 {
					return &exitError{code: exitAttention}
				}
				return nil
			})
		},
	}
}

// writePass prints a pass's batches; err is the pass's failure, after
// which "nothing to publish" would not be true.
func writePass(w io.Writer, pass *producer.Pass, err error) {
	if len(pass.Batches) == 0 && len(pass.Halted) == 0 {
		if err == nil {
			fmt.Fprintln(w, "nothing to publish")
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tbatch\toutcome\tevents\tdeletes\tdead letters\tunchanged\tvanished\t")
	for _, b := range pass.Batches {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t\n", b.Group, b.Batch, b.Outcome, b.Events, b.Deletes, b.DeadLetters, b.Unchanged,
			vanished(b.Vanished, b.VanishedDeleted))
	}
	tw.Flush()
	for _, b := range pass.Batches {
		if b.Reason != "" && b.Outcome != producer.Published {
			fmt.Fprintf(w, "%s/%s %s: %s\n", b.Group, b.Batch, b.Outcome, b.Reason)
		}
		if b.NotArchived != "" {
			fmt.Fprintf(w, "%s/%s %s but not archived (tried again at the next pass): %s\n", b.Group, b.Batch, b.Outcome, b.NotArchived)
		}
	}
	for g, why := range pass.Halted {
		fmt.Fprintf(w, "chain %s is halted: %s\n", g, why)
	}
}

// requester names who runs a command, for the state topic's record.
func requester() string {
	host, _ := os.Hostname()
	if u, err := user.Current(); err == nil {
		return u.Username + "@" + host
	}
	return host
}

func (a *app) chainCommand() *cobra.Command {
	chain := &cobra.Command{Use: "chain", Short: "Operate on a reporting group's chain of batches"}
	chain.AddCommand(&cobra.Command{
		Use:   "resume GROUP",
		Short: "Lift a halt: publish the group's next batch even though it does not continue the chain",
		Long: `resume asks the agent that publishes GROUP to accept a break in its chain (a
gap of lost deltas, or a quarantined batch that will not come back): the
group's next batch is then published although it does not continue from the
last one published. The request is written to the state topic without
disturbing a running agent, which applies it at its next pass (within
input.poll); otherwise the next publish does. It is refused for a group that
has published nothing and for a chain that is not halted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			in, err := producer.RequestResume(cmd.Context(), cfg.Kafka, args[0], requester())
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(a.stdout, "chain %s: resume requested at %s; the agent publishing it applies it at its next pass (sragent status shows the request until then)\n",
				args[0], in.At.Format(time.RFC3339))
			return nil
		},
	})
	return chain
}
