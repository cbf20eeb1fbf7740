package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sragent/sragent/producer"
)

func (a *app) validateCommand() *cobra.Command {
	var asJSON, checkRegistry bool
	cmd := &cobra.Command{
		Use:   "validate [BATCH_DIR...]",
		Short: "Dry run: read, convert and encode every pending batch (or the named ones); produce nothing",
		Long: `validate reads every pending batch under input.dir (or only the named batch
folders), checks its structure and chain continuity, converts every cell and
encodes every row exactly as publish would, and reports per batch. Nothing is
sent anywhere and no folder is moved.

Verdicts: valid; rows_rejected (publishable, the listed rows would go to the
dead-letter topic); halted (a continuity gap: the chain stops here); invalid
(structural: the batch would be quarantined whole); waiting (not ready yet);
blocked (with --check-registry: the Schema Registry would refuse a table's
schema, so publish would stop before producing).

Exit status: 0 when every batch is valid or waiting, 1 when any is not,
2 on a usage or configuration error, 3 when validation could not run.
No problem ever quotes a cell's value.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			rep, err := a.validate(cmd.Context(), cfg, args, asJSON, checkRegistry)
			if err != nil {
				return err
			}
			if !rep.ok() {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&checkRegistry, "check-registry", false, "also ask schema_registry.url whether every schema would be accepted (nothing is registered)")
	return cmd
}

// validate runs the dry run over dirs (all pending batches when empty) and
// prints the report; errors carry their exit code.
func (a *app) validate(ctx context.Context, cfg Config, dirs []string, asJSON, checkRegistry bool) (*report, error) {
	v, err := newValidator(cfg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	if checkRegistry {
		if v.registry, err = producer.NewRegistry(cfg.SchemaRegistry.URL, registryOpts(cfg)...); err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		v.topics = cfg.Producer()
	}
	log, closeLog, err := a.logger(cfg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	defer closeLog()
	v.progress = newProgress(a.stdout, a.stderr, log)
	rep, err := v.run(ctx, dirs, time.Now())
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	if asJSON {
		err = writeJSON(a.stdout, rep)
	} else {
		err = writeHuman(a.stdout, rep)
	}
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return rep, nil
}

func writeJSON(w io.Writer, rep *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func writeHuman(w io.Writer, rep *report) error {
	var b strings.Builder
	for _, br := range rep.Batches {
		fmt.Fprintf(&b, "batch %s/%s: %s", br.Group, br.Batch, strings.ToUpper(br.Verdict))
		if br.Waiting != "" {
			fmt.Fprintf(&b, " (%s)", br.Waiting)
		}
		b.WriteString("\n")
		if br.CutOff != "" {
			fmt.Fprintf(&b, "  cut-off %s", br.CutOff)
			if br.SinceCut != 0 {
				fmt.Fprintf(&b, ", %.1f days after the previous cut-off", br.SinceCut)
			}
			b.WriteString("\n")
		}
		if len(br.Files) > 0 {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  file\tmode\tcontinuity\trows\tdeletes\trejected\t")
			for _, f := range br.Files {
				where := ""
				if f.InZip {
					where = " (zip)"
				}
				cont := f.Continuity
				if cont == "" {
					cont = "-"
				}
				fmt.Fprintf(tw, "  %s%s\t%s\t%s\t%d\t%d\t%d\t\n", f.File, where, f.Mode, cont, f.Rows, f.Deletes, f.RowErrors)
			}
			tw.Flush()
		}
		for _, p := range br.Problems {
			fmt.Fprintf(&b, "  %s: %s\n", p.Severity, where(p))
		}
		if br.Omitted > 0 {
			fmt.Fprintf(&b, "  ... and %d more row problems not listed\n", br.Omitted)
		}
	}
	s := rep.Summary
	blocked := ""
	if s.Blocked > 0 {
		blocked = fmt.Sprintf(", %d blocked", s.Blocked)
	}
	fmt.Fprintf(&b, "%d batches: %d valid, %d rows_rejected, %d halted, %d invalid, %d waiting%s; %d rows, %d rejected rows\n",
		s.Batches, s.Valid, s.Rejected, s.Halted, s.Invalid, s.Waiting, blocked, s.Rows, s.RowErrors)
	_, err := io.WriteString(w, b.String())
	return err
}

func where(p problem) string {
	var parts []string
	if p.File != "" {
		parts = append(parts, p.File)
	}
	if p.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", p.Line))
	}
	if p.Column != "" {
		parts = append(parts, "column "+p.Column)
	}
	if len(parts) == 0 {
		return p.Reason
	}
	return strings.Join(parts, " ") + ": " + p.Reason
}
