package producer

import (
	"time"

	"github.com/sragent/sragent/manifest"
)

// incompleteSince is when a batch folder that lacks a listed file began
// to wait: the later of its last change and when this agent first saw it
// incomplete (a folder moved in whole keeps its files' old times, and
// input.incomplete_after counts from its arrival).
func (a *Agent) incompleteSince(p manifest.Pending) time.Time {
	if a.missingSeen == nil {
		a.missingSeen = map[string]time.Time{}
	}
	seen, ok := a.missingSeen[p.Dir]
	if !ok {
		seen = a.now()
		a.missingSeen[p.Dir] = seen
	}
	if p.Changed.After(seen) {
		return p.Changed
	}
	return seen
}

// reportIgnored logs, once per entry and reason for the agent's life, what
// the input folder holds that looks like a batch but is not read.
func (a *Agent) reportIgnored(ignored []manifest.Ignored) {
	for _, ig := range ignored {
		if a.reported[ig] {
			continue
		}
		if a.reported == nil {
			a.reported = map[manifest.Ignored]bool{}
		}
		a.reported[ig] = true
		a.log.Warn("not read from the input folder: "+ig.Why, "path", ig.Path)
	}
}
