package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sragent/sragent/manifest"
	"github.com/sragent/sragent/producer"
)

// chainStatus is one reporting group's chain, for `sragent status`.
type chainStatus struct {
	Group           string   `json:"group"`
	LastPublished   string   `json:"last_published_batch,omitempty"`
	CutOff          string   `json:"cut_off,omitempty"`
	DaysSinceCutOff *float64 `json:"days_since_cut_off,omitempty"`
	InFlight        string   `json:"in_flight,omitempty"`
	Pending         []string `json:"pending_batches"`
	Waiting         string   `json:"waiting,omitempty"`
	Halted          string   `json:"halted,omitempty"`
	// ResumeRequested is a `chain resume` the agent has not applied yet.
	ResumeRequested string `json:"resume_requested,omitempty"`
	// Failing is the batch that failed on the agent's last passes, as the
	// agent recorded it in state.dir at AsOf.
	Failing *failingStatus `json:"failing,omitempty"`
}

// failingStatus is a chain's failing batch, as of the agent's last pass.
type failingStatus struct {
	producer.Failure
	AsOf time.Time `json:"as_of"`
}

func (a *app) statusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each chain: last published batch and cut-off, pending batches, halts, days since the last cut-off",
		Long: `status reads the committed state from Kafka and the input folder and prints each
reporting group's chain. It does not publish and does not disturb a running
agent. SystmOne sends a full download when a chain's last delta is more than
21 days old; days_since_cut_off counts towards that.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			chains, ignored, err := chainsStatus(cmd.Context(), cfg, time.Now())
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"chains": chains, "ignored": ignored})
			}
			writeStatus(a.stdout, chains)
			for _, ig := range ignored {
				fmt.Fprintf(a.stdout, "not read: %s: %s\n", ig.Path, ig.Why)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// chainsStatus returns every chain's status, and the entries of the input
// folder that are not read.
func chainsStatus(ctx context.Context, cfg Config, now time.Time) ([]*chainStatus, []ignoredEntry, error) {
	st, err := producer.ReadState(ctx, cfg.Kafka)
	if err != nil {
		return nil, nil, err
	}
	ps, ignored, err := manifest.Survey(cfg.Input.Dir, cfg.Agent().Dialect.Manifest(), cfg.Input.Settle, now)
	if err != nil {
		return nil, nil, err
	}
	byGroup := map[string]*chainStatus{}
	get := func(g string) *chainStatus {
		c := byGroup[g]
		if c == nil {
			c = &chainStatus{Group: g, Pending: []string{}}
			byGroup[g] = c
		}
		return c
	}
	for g, pr := range st.Groups {
		c := get(g)
		c.Halted = pr.Halted
		if !pr.Done {
			c.InFlight = fmt.Sprintf("%s (file %d, line %d)", pr.Batch, pr.File+1, pr.Line)
		}
		if in := st.Intents[g]; in != nil && in.ID != pr.ResumeIntent {
			c.ResumeRequested = fmt.Sprintf("by %s at %s; the agent applies it at its next pass", dash(in.By), in.At.Format(time.RFC3339))
		}
		if last := st.LastPublished(g); last != nil {
			c.LastPublished = last.Batch
		}
		if to, err := manifest.ParseStamp(pr.CutOff()); err == nil {
			c.CutOff = to.String()
			days := float64(int(now.Sub(to.Time()).Hours()/24*10)) / 10
			c.DaysSinceCutOff = &days
		}
	}
	failing, asOf, err := producer.ReadFailing(cfg.State.Dir)
	if err != nil { // never worse than not knowing: the chains are shown without it
		failing = map[string]producer.Failure{}
	}
	for g, f := range failing {
		get(g).Failing = &failingStatus{Failure: f, AsOf: asOf}
	}
	for _, p := range ps {
		c := get(p.Group)
		c.Pending = append(c.Pending, p.Name)
		if c.Waiting != "" {
			continue
		}
		if held := producer.Held(p, now, cfg.Agent().FutureTolerance); held != "" {
			c.Waiting = p.Name + ": " + held
		} else if !p.Ready {
			c.Waiting = p.Name + ": incomplete: " + p.Waiting
			if p.Missing != "" {
				c.Waiting += fmt.Sprintf(" (quarantined if still missing %s after the folder last changed, at %s at the earliest)",
					cfg.Input.IncompleteAfter, p.Changed.Add(cfg.Input.IncompleteAfter).Format(time.RFC3339))
			}
		}
	}
	out := make([]*chainStatus, 0, len(byGroup))
	for _, c := range byGroup {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, ignoredEntries(ignored), nil
}

func writeStatus(w io.Writer, chains []*chainStatus) {
	if len(chains) == 0 {
		fmt.Fprintln(w, "no chains: nothing published and nothing pending")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "chain\tlast published\tcut-off\tdays since\tpending\tstate\t")
	for _, c := range chains {
		days, state := "-", "ok"
		if c.DaysSinceCutOff != nil {
			days = fmt.Sprintf("%.1f", *c.DaysSinceCutOff)
			if *c.DaysSinceCutOff > 21 {
				state = "over 21 days: expect a full download"
			}
		}
		switch {
		case c.Halted != "":
			state = "HALTED"
		case c.Failing != nil:
			state = "FAILING"
		case c.InFlight != "":
			state = "publishing " + c.InFlight
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t\n", c.Group, dash(c.LastPublished), dash(c.CutOff), days, len(c.Pending), state)
	}
	tw.Flush()
	for _, c := range chains {
		if c.Halted != "" {
			fmt.Fprintf(w, "%s halted: %s\n", c.Group, c.Halted)
		}
		if f := c.Failing; f != nil {
			fmt.Fprintf(w, "%s failing: batch %s failed on %d passes in a row since %s (as of %s): %s\n", c.Group, f.Batch, f.Passes,
				f.Since.Format(time.RFC3339), f.AsOf.Format(time.RFC3339), f.Error)
		}
		if c.Waiting != "" {
			fmt.Fprintf(w, "%s waiting: %s\n", c.Group, c.Waiting)
		}
		if c.ResumeRequested != "" {
			fmt.Fprintf(w, "%s resume requested: %s\n", c.Group, c.ResumeRequested)
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
