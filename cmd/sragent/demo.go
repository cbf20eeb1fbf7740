package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sragent/sragent/schemas/srgen"
)

func (a *app) demoCommand() *cobra.Command {
	var keep bool
	var rows int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run sragent end to end on generated sample batches",
		Long: `demo generates a realistic synthetic download folder (two reporting groups, each
a full batch followed by deltas with inserts, updates and deletes, a full SRCode
re-send, Windows-1252 text, zipped files) in a temporary folder and runs the
whole reading side over it: discovery, manifests, chain continuity, and every
row converted and Avro-encoded. Publishing to an in-process Kafka broker and
Schema Registry joins the demo with the publish command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "sragent-demo-")
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("create demo folder: %w", err)}
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			g := srgen.New(srgen.Options{Seed: 1, Groups: 2, Orgs: 3, Batches: 4, Rows: rows, Zip: true})
			if err := g.Write(dir); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(a.stdout, "generated %d reporting groups x 4 batches in %s\n\n", len(g.Groups()), dir)
			cfg, err := loadConfig("", nil)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			cfg.Input.Dir, cfg.Input.Settle, cfg.Archive.Dir = dir, 0, dir+"-archive"
			rep, err := a.validate(cmd.Context(), cfg, nil, false)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "\nEvery row above was converted and encoded as an Avro change event; nothing was sent.")
			fmt.Fprintln(a.stdout, "Publishing to Kafka (sragent publish / run) is the next piece of work.")
			if keep {
				fmt.Fprintf(a.stdout, "The batches stay in %s: try  sragent validate --json BATCH_DIR\n", dir)
			}
			if !rep.ok() {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the generated batches")
	cmd.Flags().IntVar(&rows, "rows", 500, "SRCode rows per organisation in the full batch")
	return cmd
}
