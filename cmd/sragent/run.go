package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"

	"github.com/sragent/sragent/producer"
)

func (a *app) runCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run as a daemon: watch input.dir and publish batches as they arrive",
		Long: `run publishes like publish, again every input.poll and whenever the input
folder changes (file-system events are only a hint: SMB shares send none, so
polling is what guarantees progress). While Kafka or the registry cannot be
reached, at start too, it keeps retrying (backing off to once a minute) and
/readyz says why. On SIGINT or SIGTERM the open transaction is finished or
aborted and the process exits; nothing is lost.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			unlock, err := lockStateDir(cfg.State.Dir, "run")
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			defer unlock()
			log, closeLog, err := a.logger(cfg)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			defer closeLog()
			a.exitWithin(cmd.Context(), cfg.Shutdown.Timeout)
			return a.daemon(cmd.Context(), cfg, log)
		},
	}
}

// daemon connects, retrying until it can, and publishes until ctx ends.
func (a *app) daemon(ctx context.Context, cfg Config, log *slog.Logger) error {
	st := &startup{metricsReg: newRegistry(), log: log}
	metrics := producer.NewMetrics(st.metricsReg, version())
	stop, err := health{start: st, readyWhenHalted: cfg.Metrics.ReadyWhenHalted}.serve(cfg.Metrics.Listen, "metrics.listen")
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer stop()
	var s *session
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		if s, err = a.open(ctx, cfg, log, st.metricsReg, metrics); err == nil {
			break
		}
		st.set(nil, err)
		log.Error("cannot start; retrying", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			log.Info("stopping")
			return nil
		case <-time.After(wait):
		}
	}
	defer s.agent.Close()
	st.set(s, nil)
	wake := watch(ctx, cfg.Input.Dir, s)
	tick := time.NewTicker(cfg.Input.Poll)
	defer tick.Stop()
	for {
		pass, err := s.agent.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			s.log.Info("stopping")
			return nil
		case err != nil:
			s.log.Error("publish pass failed; retrying at the next poll", "err", err)
			if pass != nil && len(pass.Batches) > 0 {
				writePass(a.stdout, pass, err) // what the pass did before it failed
			}
		case acted(pass):
			writePass(a.stdout, pass, nil)
		}
		select {
		case <-ctx.Done():
			s.log.Info("stopping")
			return nil
		case <-tick.C:
		case <-wake:
			// Let a copy in progress settle a little before looking.
			time.Sleep(time.Second)
		}
	}
}

// acted reports whether a pass did something (not only waited), so that a
// halted chain is not printed at every poll.
func acted(pass *producer.Pass) bool {
	for _, b := range pass.Batches {
		if b.Outcome != producer.Halted && b.Outcome != producer.Incomplete {
			return true
		}
	}
	return false
}

// watch returns a channel that receives when something changes under dir
// (one level of group folders deep). It is a hint only; without events
// (network shares), polling does the work.
func watch(ctx context.Context, dir string, s *session) <-chan struct{} {
	out := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.log.Info("no file-system events; polling only", "err", err)
		return out
	}
	add := func(p string) {
		if err := w.Add(p); err != nil {
			s.log.Debug("cannot watch folder", "folder", p, "err", err)
		}
	}
	add(dir)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				add(filepath.Join(dir, e.Name()))
			}
		}
	}
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) {
					if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() && filepath.Dir(ev.Name) == dir {
						add(ev.Name)
					}
				}
				select {
				case out <- struct{}{}:
				default:
				}
			case <-w.Errors:
			}
		}
	}()
	return out
}
