package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer"
)

func (a *app) validateCommand() *cobra.Command {
	var asJSON, checkRegistry, offline bool
	cmd := &cobra.Command{
		Use:   "validate [BATCH_DIR...]",
		Short: "Dry run: say what publish would do with every pending batch (or the named ones); produce nothing",
		Long: `validate is publish as a dry run: the same code reads every pending batch under
input.dir (or only the named batch folders), classifies it against the
committed state in Kafka (read without disturbing a running agent), checks
its structure, converts every cell, encodes every row and checks its size
against the topic, and reports per batch what publish would do. Nothing is
produced, registered, created or moved.

Outcomes: published (dead letters are listed as errors); duplicate
(published before; archived); conflict (the name was used with another
manifest, or an older batch after a newer one; quarantined); halted (a gap
of lost deltas, or the chain already waits); invalid (structural; the batch
would be quarantined whole); incomplete (not ready yet); blocked (with
--check-registry: the Schema Registry would refuse a table's schema).

--offline reads no state and needs no Kafka: every batch is then checked as
if its chain were new, except against the batches before it in the same run.

Exit status: 0 when every batch would be published without dead letters,
be a duplicate, or is incomplete while its files arrive; 1 when any is not
(a batch whose manifest lists a file that is not there is an error naming
it); 2 on a usage or
configuration error; 3 when validation could not run. No problem ever
quotes a cell's value.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			rep, err := a.validate(cmd.Context(), cfg, args, producer.DryRun{Offline: offline, CheckRegistry: checkRegistry})
			if rep == nil {
				return err
			}
			render := writeHuman
			if asJSON {
				render = writeJSON
			}
			if werr := render(a.stdout, rep); werr != nil {
				return &exitError{code: exitFailed, err: werr}
			}
			if err != nil { // the report shows what was reached
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
	cmd.Flags().BoolVar(&offline, "offline", false, "do not read the committed state from Kafka (no broker needed)")
	cmd.Flags().BoolVarP(&a.verbose, "verbose", "v", false, "log progress when the output is not a terminal (on a terminal a progress bar is drawn anyway)")
	return cmd
}

// report is validate's output: the dry run's pass.
type report struct {
	Batches []producer.BatchReport `json:"batches"`
	// Ignored are entries of the input folder that look like batches or
	// groups but are not read, and why.
	Ignored []ignoredEntry `json:"ignored"`
	Summary summary        `json:"summary"`
}

// ignoredEntry is a manifest.Ignored as validate and status print it.
type ignoredEntry struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

func ignoredEntries(ig []manifest.Ignored) []ignoredEntry {
	out := []ignoredEntry{}
	for _, i := range ig {
		out = append(out, ignoredEntry{Path: i.Path, Why: i.Why})
	}
	return out
}

type summary struct {
	Batches     int                      `json:"batches"`
	Outcomes    map[producer.Outcome]int `json:"outcomes"`
	Events      int64                    `json:"events"`
	DeadLetters int64                    `json:"dead_letters"`
	Unchanged   int64                    `json:"unchanged"`
	// Vanished are keys full files no longer hold; VanishedDeleted the
	// ones publish deletes (reconcile delete mode).
	Vanished        int64 `json:"vanished"`
	VanishedDeleted int64 `json:"vanished_deleted"`
}

// validate runs the dry run over dirs (all pending batches when empty).
// When a chain's pass fails (Kafka, a topic's settings, the disk), the
// report of what was reached comes with the error.
func (a *app) validate(ctx context.Context, cfg Config, dirs []string, dry producer.DryRun) (*report, error) {
	cfg.Log.File = ""            // a dry run leaves a running service's log alone
	a.quietProgress = !a.verbose // a report for a file or a pipe, without progress lines
	s, err := a.connect(ctx, cfg, producer.WithDryRun(dry))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	pass, err := s.agent.RunOnce(ctx, dirs...)
	if pass == nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	if err != nil {
		err = &exitError{code: exitFailed, err: err}
	}
	rep := &report{Batches: pass.Batches, Ignored: ignoredEntries(pass.Ignored), Summary: summary{Outcomes: map[producer.Outcome]int{}}}
	if rep.Batches == nil {
		rep.Batches = []producer.BatchReport{}
	}
	for _, b := range rep.Batches {
		rep.Summary.Batches++
		rep.Summary.Outcomes[b.Outcome]++
		rep.Summary.Events += b.Events
		rep.Summary.DeadLetters += b.DeadLetters
		rep.Summary.Unchanged += b.Unchanged
		rep.Summary.Vanished += b.Vanished
		rep.Summary.VanishedDeleted += b.VanishedDeleted
	}
	return rep, err
}

// ok reports whether publish would publish everything cleanly (batches
// still arriving are not failures).
func (r *report) ok() bool {
	for _, b := range r.Batches {
		switch {
		case b.Outcome == producer.Published && b.DeadLetters == 0:
		case b.Outcome == producer.Duplicate, b.Outcome == producer.Incomplete && b.Errors() == 0:
		default:
			return false
		}
	}
	return true
}

func writeJSON(w io.Writer, rep *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func writeHuman(w io.Writer, rep *report) error {
	var b strings.Builder
	for _, br := range rep.Batches {
		fmt.Fprintf(&b, "batch %s/%s: %s", br.Group, br.Batch, strings.ToUpper(br.Outcome.String()))
		if br.Reason != "" && br.Outcome != producer.Invalid {
			fmt.Fprintf(&b, " (%s)", br.Reason)
		}
		b.WriteString("\n")
		if !br.CutOff.IsZero() {
			fmt.Fprintf(&b, "  cut-off %s", br.CutOff)
			if br.SinceCutOff != 0 {
				fmt.Fprintf(&b, ", %.1f days after the previous cut-off", br.SinceCutOff)
			}
			b.WriteString("\n")
		}
		if len(br.Files) > 0 {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  file\tmode\tcontinuity\tevents\tdeletes\tdead letters\tunchanged\tvanished\t")
			for _, f := range br.Files {
				where, cont := "", f.Continuity
				if f.InZip {
					where = " (zip)"
				}
				if cont == "" {
					cont = "-"
				}
				fmt.Fprintf(tw, "  %s%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t\n", f.File, where, f.Mode, cont, f.Events, f.Deletes, f.DeadLetters, f.Unchanged,
					vanished(f.Vanished, f.VanishedDeleted))
			}
			tw.Flush()
		}
		if len(br.OrganisationsNew) > 0 {
			fmt.Fprintf(&b, "  organisations new to the group: %s\n", strings.Join(br.OrganisationsNew, ", "))
		}
		for _, p := range br.Problems {
			fmt.Fprintf(&b, "  %s: %s\n", p.Severity, p)
		}
		if br.ProblemsOmitted > 0 {
			fmt.Fprintf(&b, "  ... and %d more row problems not listed\n", br.ProblemsOmitted)
		}
	}
	for _, ig := range rep.Ignored {
		fmt.Fprintf(&b, "not read: %s: %s\n", ig.Path, ig.Why)
	}
	s := rep.Summary
	var counts []string
	for o := producer.Published; o <= producer.Blocked; o++ {
		if n := s.Outcomes[o]; n > 0 || o <= producer.Invalid {
			counts = append(counts, fmt.Sprintf("%d %s", n, o))
		}
	}
	fmt.Fprintf(&b, "%d batches: %s; %d events, %d dead letters, %d unchanged rows not published, %d rows vanished (%d deleted)\n",
		s.Batches, strings.Join(counts, ", "), s.Events, s.DeadLetters, s.Unchanged, s.Vanished, s.VanishedDeleted)
	_, err := io.WriteString(w, b.String())
	return err
}

// vanished renders a file's vanished count and how many are deleted.
func vanished(n, deleted int64) string {
	if deleted > 0 {
		return fmt.Sprintf("%d (%d deleted)", n, deleted)
	}
	return fmt.Sprint(n)
}
