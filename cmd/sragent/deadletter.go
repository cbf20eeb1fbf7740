package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sragent/sragent/producer"
)

// deadLetter is one dead letter as `deadletter list` shows it: where the
// row was and why it did not convert, never its cells.
type deadLetter struct {
	Group  string `json:"group"`
	Batch  string `json:"batch"`
	Table  string `json:"table"`
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
	// Cells says whether the dead letter holds the row's cells (a row too
	// large for the broker is sent without them).
	Cells bool `json:"cells"`
}

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
			fmt.Fprintln(tw, "group\tbatch\tfile\tline\tcolumn\treason\t")
			for _, d := range dls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", d.Group, d.Batch, d.File, d.Line, dash(d.Column), d.Reason)
			}
			tw.Flush()
			fmt.Fprintf(a.stdout, "%d dead letters\n", len(dls))
			return nil
		},
	}
	list.Flags().StringVar(&group, "group", "", "only this reporting group's")
	list.Flags().StringVar(&batch, "batch", "", "only this batch's")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

// deadLetters reads the dead-letter topic, of group and batch when set,
// in group, batch, file and line order.
func deadLetters(ctx context.Context, cfg Config, group, batch string) ([]deadLetter, error) {
	reg, err := cfg.Agent().Registry.Client()
	if err != nil {
		return nil, err
	}
	dec := producer.NewDecoder(reg)
	var out []deadLetter
	var derr error
	err = producer.ReadCommitted(ctx, cfg.Kafka, []string{cfg.Kafka.DeadLetterTopic()}, func(r *kgo.Record) {
		if r.Value == nil || derr != nil {
			return
		}
		d, err := dec.Decode(ctx, r.Value)
		if err != nil {
			derr = fmt.Errorf("dead letter at partition %d offset %d: %w", r.Partition, r.Offset, err)
			return
		}
		m, _ := d.Native.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		dl := deadLetter{Group: str("group"), Batch: str("batch"), Table: str("table"), File: str("file"), Reason: str("reason")}
		dl.Line, _ = m["line"].(int64)
		if c, ok := m["column"].(map[string]any); ok {
			dl.Column, _ = c["string"].(string)
		}
		dl.Cells = m["fields"] != nil
		if (group == "" || dl.Group == group) && (batch == "" || dl.Batch == batch) {
			out = append(out, dl)
		}
	})
	if err == nil {
		err = derr
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Batch != b.Batch {
			return a.Batch < b.Batch
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out, err
}
