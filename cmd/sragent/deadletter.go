package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sragent/sragent/producer"
)

func (a *app) deadletterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "deadletter", Short: "Look at the rows that did not convert (the dead-letter topic)"}
	var group, batch string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the dead letters: group, batch, file, line, column and reason, never the cells",
		Long: `list reads <prefix>.deadletter as a read_committed consumer and prints one line
per row that did not convert: its group, batch, table, file, line, column and
why. The rows' cells, which hold patient data, are not printed: read them with
sragent tail <prefix>.deadletter where you may.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			dls, err := deadLetters(cmd.Context(), cfg, group, batch)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(map[string]any{"dead_letters": dls})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "group\tbatch\tfile\tline\tcolumn\tstatus\treason\t")
			pending := 0
			for _, d := range dls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", d.Group, d.Batch, d.File, d.Line, dash(d.Column), d.Status, d.Reason)
				if d.Status == producer.ReplayPending {
					pending++
				}
			}
			tw.Flush()
			fmt.Fprintf(a.stdout, "%d dead letters, %d pending\n", len(dls), pending)
			return nil
		},
	}
	list.Flags().StringVar(&group, "group", "", "only this reporting group's")
	list.Flags().StringVar(&batch, "batch", "", "only this batch's")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, a.replayCommand())
	return cmd
}

func (a *app) replayCommand() *cobra.Command {
	var sel producer.DeadLetterFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Convert the pending dead letters again and publish the rows that now convert, exactly once",
		Long: `replay takes up the pending dead letters (of --group and --batch when given)
and converts each row again as a batch would be converted now: this release's
catalogue, the types the registry holds, the topics' max.message.bytes, the
group's lists. A row that converts is published as a delta row would be (u, or d
and a tombstone, source naming its batch, file and line), unless a later event
of its key was published since (an upsert or a delete by a later batch, or a
later dead letter): then it is superseded and not published. Each resolved dead
letter is written again with its outcome and without its cells, in the same
transaction as its event: a second replay publishes nothing twice. Rows that
still do not convert stay pending. It takes state.dir's lock: stop the agent
first. See deploy/README.md, "Dead letters".

Exit status: 0 when no selected dead letter is left pending, 4 when some are,
3 on a failure (what committed stays resolved; run it again).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd.Context(), "deadletter replay", func(_ Config, s *session) error {
				rep, err := s.agent.Replay(cmd.Context(), sel)
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				if asJSON {
					if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
						return err
					}
				} else {
					tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "group\tbatch\tfile\tline\toutcome\treason\t")
					for _, r := range rep.Rows {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", r.Group, r.Batch, r.File, r.Line, r.Outcome, dash(r.Reason))
					}
					tw.Flush()
					fmt.Fprintf(a.stdout, "%d replayed, %d superseded, %d still pending; %d resolved by an earlier replay\n",
						rep.Count(producer.ReplayReplayed), rep.Count(producer.ReplaySuperseded), rep.Count(producer.ReplayPending), rep.Resolved)
				}
				if rep.Count(producer.ReplayPending) > 0 {
					return &exitError{code: exitAttention}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&sel.Group, "group", "", "only this reporting group's")
	cmd.Flags().StringVar(&sel.Batch, "batch", "", "only this batch's")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// deadLetters reads the dead letters of group and batch (all when empty).
func deadLetters(ctx context.Context, cfg Config, group, batch string) ([]producer.DeadLetter, error) {
	reg, err := cfg.Agent().Registry.Client()
	if err != nil {
		return nil, err
	}
	return producer.ReadDeadLetters(ctx, cfg.Kafka, reg, producer.DeadLetterFilter{Group: group, Batch: batch})
}
