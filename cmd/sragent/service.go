package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
)

// serviceName is the Windows service's name (and Event Log source).
const serviceName = "sragent"

// errNotWindows is returned by the service commands elsewhere.
var errNotWindows = errors.New("Windows service commands work on Windows only; on Linux run `sragent run` under systemd (deploy/README.md)")

func (a *app) serviceCommand() *cobra.Command {
	svc := &cobra.Command{
		Use:   "service",
		Short: "Install and control sragent as a Windows service (runs `sragent run`)",
		Long: `service manages the Windows service that runs "sragent run --config FILE" at boot,
restarts it after failures (10s, 30s, 60s), logs warnings and errors to the
Event Log (source "sragent") and everything to log.file when set. Services
start in C:\Windows\System32: relative paths in the configuration are taken
relative to sragent.exe's folder. Use UNC paths (\\server\share\...) for
network folders: services cannot see mapped drive letters.`,
	}
	do := func(use, short string, fn func() error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error {
			if err := fn(); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			return nil
		}}
	}
	svc.AddCommand(
		do("install", "Install the service (needs --config; run as Administrator)", func() error {
			if a.configPath == "" {
				return errors.New("service install needs --config FILE")
			}
			cfg, err := filepath.Abs(a.configPath)
			if err != nil {
				return fmt.Errorf("resolve config path: %w", err)
			}
			if _, err := loadConfig(cfg, a.environ); err != nil {
				return err
			}
			return installService(cfg, a.stderr)
		}),
		do("uninstall", "Remove the service", removeService),
		do("start", "Start the service", startService),
		do("stop", "Stop the service (the open transaction is finished or aborted)", stopService),
		do("status", "Print the service's state", func() error {
			st, err := serviceStatus()
			if err == nil {
				fmt.Fprintf(a.stdout, "service %s: %s\n", serviceName, st)
			}
			return err
		}),
	)
	return svc
}
