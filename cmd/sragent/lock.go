package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// lockName is the single-instance guard in state.dir.
const lockName = "sragent.lock"

// lockStateDir makes this process the only sragent publishing from
// state.dir: it holds an OS lock on state.dir/sragent.lock (released by
// the OS when the process dies, however it dies) and writes into it who
// holds it. A second sragent is refused with a message naming the first.
func lockStateDir(dir, command string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state.dir: %w", err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("state.dir: open %s: %w", lockName, err)
	}
	if err := tryLock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		return nil, fmt.Errorf("another sragent is running from state.dir %s (%s); stop it first, or give this one its own state.dir and input", dir, who)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on %s, sragent %s, since %s", os.Getpid(), host, command, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info+"\n"), 0)
	}
	return func() { f.Close() }, nil
}

// exitWithin bounds a stop: once ctx ends (SIGTERM, a service stop), the
// process has timeout to finish or abort its transaction and return; then
// it exits anyway. Nothing is lost: the broker aborts what was open (or
// the next start fences it) and publishing resumes after the last
// checkpoint.
func (a *app) exitWithin(ctx context.Context, timeout time.Duration) {
	go func() {
		<-ctx.Done()
		time.Sleep(timeout)
		fmt.Fprintf(a.stderr, "sragent: still stopping after shutdown.timeout %s (Kafka not answering?); exiting now, the next start resumes after the last checkpoint\n", timeout)
		os.Exit(exitFailed)
	}()
}
