package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes shared by all commands.
const (
	exitOK      = 0
	exitInvalid = 1 // the command ran and found problems (validate)
	exitUsage   = 2 // bad flags, arguments or configuration; nothing ran
	exitFailed  = 3 // the command could not complete (I/O, broker, ...)
)

// exitError carries an exit code out of a cobra RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// app is what every command shares.
type app struct {
	stdout, stderr io.Writer
	environ        []string
	configPath     string
	// baseDir, when set (a Windows service), is where relative paths of
	// the configuration point to: sragent.exe's folder.
	baseDir string
	// extraLog also receives the log (the Windows Event Log).
	extraLog slog.Handler
	// quietProgress leaves progress out when the output is not a
	// terminal (validate without -v); verbose is validate's -v.
	quietProgress, verbose bool
	// configWarnings are logged by the logger (a service's warnings).
	configWarnings []string
}

func (a *app) config() (Config, error) {
	path := a.configPath
	if path == "" {
		path = a.getenv(configEnv)
	}
	if a.baseDir != "" && path != "" && !filepath.IsAbs(path) {
		path = filepath.Join(a.baseDir, path)
	}
	c, warnings, err := loadConfigWarn(path, a.environ)
	if a.extraLog != nil { // a Windows service: no console, they go to its log
		a.configWarnings = warnings
	}
	for _, w := range warnings {
		fmt.Fprintln(a.stderr, "sragent: warning:", w)
	}
	if err != nil {
		return Config{}, &exitError{code: exitUsage, err: err}
	}
	if a.baseDir != "" {
		resolvePaths(&c, a.baseDir)
	}
	return c, nil
}

// getenv returns the variable name of the app's environment.
func (a *app) getenv(name string) string {
	for _, kv := range a.environ {
		if n, v, _ := strings.Cut(kv, "="); n == name {
			return v
		}
	}
	return ""
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	return runApp(ctx, &app{stdout: stdout, stderr: stderr, environ: environ}, args)
}

// runApp executes args with a and returns the exit code.
func runApp(ctx context.Context, a *app, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "sragent:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "sragent:", err)
	return exitUsage
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sragent",
		Short: "Stream SystmOne Strategic Reporting extracts into Kafka as Avro change events",
		Long: `sragent reads the SR extract batches that SystmOne's download scheduler drops on a
Gateway PC (a yyyyMMdd_HHmm folder per batch with SRManifest.csv and the table
CSVs, loose or in SRExtract.zip) and publishes every row as an Avro change
event to one Kafka topic per table.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "YAML config file (default: $SRAGENT_CONFIG; every key also settable as SRAGENT_<KEY>)")
	root.AddCommand(a.validateCommand(), a.publishCommand(), a.runCommand(), a.statusCommand(), a.chainCommand(),
		a.serviceCommand(), a.demoCommand(), a.tailCommand(), a.deadletterCommand(), a.versionCommand())
	return root
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sragent's version, the commit it was built from and the Go release",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(a.stdout, versionLine())
			return nil
		},
	}
}

// versionLine is "sragent VERSION (commit REV[, modified], GO, OS/ARCH)".
func versionLine() string {
	rev, modified := "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				modified = ", modified"
			}
		}
	}
	return fmt.Sprintf("sragent %s (commit %s%s, %s, %s/%s)", version(), rev, modified, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
