package producer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Intent is an operator's request, written to the state topic by a
// command that must not disturb a running agent (it initialises no
// transactional producer, so it fences nobody). The agent that publishes
// the group applies it at its next pass, in a transaction of its own.
type Intent struct {
	Group string    `json:"group"`
	ID    string    `json:"id"`
	At    time.Time `json:"requested_at"`
	// Halted is the halt the operator saw and accepts: a chain halted
	// since for another reason is not resumed by this request.
	Halted string `json:"halted"`
	// By says who asked (user and host), for the record.
	By string `json:"requested_by,omitempty"`
}

// RequestResume asks whichever agent publishes group to lift its halt at
// its next pass: the group's next batch is then published although it
// does not continue the chain. It is refused for a group the state does
// not know and for a chain that is not halted.
func RequestResume(ctx context.Context, cfg Config, group, by string) (*Intent, error) {
	cfg = cfg.withDefaults()
	st, err := ReadState(ctx, cfg)
	if err != nil {
		return nil, err
	}
	prog, ok := st.Groups[group]
	if !ok {
		known := make([]string, 0, len(st.Groups))
		for g := range st.Groups {
			known = append(known, g)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("no reporting group %q has published anything (known: %s)", group, strings.Join(known, ", "))
	}
	if prog.Halted == "" {
		return nil, fmt.Errorf("the chain of group %s is not halted: there is nothing to resume", group)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	in := &Intent{Group: group, ID: hex.EncodeToString(id), At: time.Now().UTC(), By: by, Halted: prog.Halted}
	v, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	opts, err := cfg.clientOpts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout))...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: cfg.StateTopic(), Key: []byte(intentKeyPrefix + group), Value: v}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return nil, fmt.Errorf("write the resume request to %s: %w", cfg.StateTopic(), err)
	}
	return in, nil
}

// applyIntents reads the operators' requests from the state topic and
// applies each new one to the committed progress (re-read after fencing):
// a chain still halted for the reason the operator saw is resumed (a
// half-published batch is then given up); any other request is only
// marked as seen. skip names groups not to touch (backing off). Errors
// are per group.
func (p *Publisher) applyIntents(ctx context.Context, skip func(group string) bool) error {
	if err := p.follow(ctx); err != nil {
		return err
	}
	groups := make([]string, 0, len(p.state.Intents))
	for g := range p.state.Intents {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	var errs []error
	for _, g := range groups {
		in := p.state.Intents[g]
		prog, ok := p.state.Groups[g]
		if !ok || prog.ResumeIntent == in.ID || skip(g) {
			continue
		}
		err := p.updateProgress(ctx, g, func(pr *Progress) {
			if pr.ResumeIntent == in.ID { // applied meanwhile (by another agent)
				return
			}
			pr.ResumeIntent = in.ID
			if pr.Halted == "" || pr.Halted != in.Halted {
				p.log.Warn("an operator's resume request does not match the chain's halt; not applied", "group", g, "requested_at", in.At)
				return
			}
			p.log.Info("applying an operator's resume request", "group", g, "requested_at", in.At, "requested_by", in.By)
			resume(pr)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("group %s: apply the resume request: %w", g, err))
		}
	}
	return errors.Join(errs...)
}

// follow reads what the state topic received since the last look (a pass
// with no new record costs one offset request): the operators' intents,
// and the newest checkpoint of each group, which shows whether another
// agent committed since (it is not the one this publisher holds); the
// state is then read again before anything is published, and the table
// state checked.
func (p *Publisher) follow(ctx context.Context) error {
	if p.adm == nil {
		return nil
	}
	latest := newState()
	end, err := scanStateFrom(ctx, p.cfg, p.adm, true, p.followedTo, func(key string, value []byte) error {
		switch {
		case strings.HasPrefix(key, intentKeyPrefix):
			return p.state.apply(key, value)
		case strings.HasPrefix(key, groupKeyPrefix):
			return latest.apply(key, value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.followedTo = end
	for g, prog := range latest.Groups {
		if mine, ok := p.state.Groups[g]; p.dry == nil && (!ok || string(checkpoint(mine)) != string(checkpoint(prog))) {
			p.stale = true
		}
	}
	return nil
}

// resume lifts pr's halt: its next batch is published although it does
// not continue the chain. A half-published batch is given up (what of it
// was committed stays), so that the next one can go.
func resume(pr *Progress) {
	pr.Halted, pr.GapTables, pr.Changed, pr.Resume, pr.HaltedAt = "", nil, false, true, ""
	pr.GaveUp = pr.GaveUp || !pr.Done
	pr.Done = true
}
