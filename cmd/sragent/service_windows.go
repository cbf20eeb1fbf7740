//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// maybeService runs sragent under the service control manager when it was
// started as a service; otherwise it returns false.
func maybeService(args []string) (bool, int) {
	is, err := svc.IsWindowsService()
	if err != nil || !is {
		return false, 0
	}
	h := &service{args: args}
	if err := svc.Run(serviceName, h); err != nil {
		return true, exitFailed
	}
	return true, h.code
}

type service struct {
	args []string
	code int
}

// Execute runs `sragent run` until the service is stopped. A non-zero exit
// makes the service manager apply the recovery actions.
func (s *service) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	exe, err := os.Executable()
	if err != nil {
		return false, 1
	}
	base := filepath.Dir(exe)
	elog, _ := eventlog.Open(serviceName)
	if elog != nil {
		defer elog.Close()
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, environ: os.Environ(), baseDir: base}
	if elog != nil {
		a.extraLog = eventlogHandler{el: elog}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- runApp(ctx, a, s.args) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: 60000}
				cancel()
				select {
				case s.code = <-done:
				case <-time.After(60 * time.Second):
					s.code = exitFailed
				}
				return false, uint32(s.code)
			}
		case s.code = <-done:
			if elog != nil && s.code != exitOK {
				elog.Error(1, fmt.Sprintf("sragent stopped with exit code %d; see log.file for details", s.code))
			}
			return false, uint32(s.code)
		}
	}
}

func installService(cfg string, warn io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find sragent.exe: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("resolve sragent.exe: %w", err)
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(serviceName); err == nil {
		s.Close()
		return fmt.Errorf("service %s is already installed", serviceName)
	}
	c := mgr.Config{
		DisplayName: "sragent (SystmOne Strategic Reporting to Kafka)",
		Description: "Publishes SystmOne SR extract batches to Kafka exactly once.",
		StartType:   mgr.StartAutomatic,
	}
	// Created without a delayed start, which is then set on the service:
	// mgr's DelayedAutoStart deletes the service when that fails, and
	// creating it again races Wine's deletion of the first one.
	s, err := m.CreateService(serviceName, exe, c, "run", "--config", cfg)
	if err != nil {
		return fmt.Errorf("create service: %w", err)
	}
	defer s.Close()
	delayed := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	err = windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&delayed)))
	switch {
	case errors.Is(err, windows.ERROR_INVALID_LEVEL):
		// A service manager without delayed automatic start (Wine's).
		fmt.Fprintln(warn, "sragent: the service manager does not support a delayed automatic start: installed to start automatically")
	case err != nil:
		s.Delete()
		return fmt.Errorf("set a delayed automatic start: %w", err)
	}
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	}
	err = s.SetRecoveryActions(actions, 24*60*60)
	if err == nil {
		err = s.SetRecoveryActionsOnNonCrashFailures(true)
	}
	switch {
	case errors.Is(err, windows.ERROR_INVALID_LEVEL):
		fmt.Fprintln(warn, "sragent: the service manager does not support recovery actions: the service is not restarted after a failure")
	case err != nil:
		return fmt.Errorf("set recovery actions: %w", err)
	}
	if err := eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		return fmt.Errorf("register Event Log source: %w", err)
	}
	return nil
}

func withService(fn func(*mgr.Service) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		return fmt.Errorf("open service %s: %w", serviceName, err)
	}
	defer s.Close()
	return fn(s)
}

func removeService() error {
	err := withService(func(s *mgr.Service) error { return s.Delete() })
	if err != nil {
		return err
	}
	eventlog.Remove(serviceName)
	return nil
}

func startService() error {
	return withService(func(s *mgr.Service) error { return s.Start() })
}

func stopService() error {
	return withService(func(s *mgr.Service) error {
		st, err := s.Control(svc.Stop)
		if err != nil {
			return fmt.Errorf("stop: %w", err)
		}
		for deadline := time.Now().Add(90 * time.Second); st.State != svc.Stopped; {
			if time.Now().After(deadline) {
				return fmt.Errorf("service did not stop within 90s")
			}
			time.Sleep(500 * time.Millisecond)
			if st, err = s.Query(); err != nil {
				return fmt.Errorf("query: %w", err)
			}
		}
		return nil
	})
}

func serviceStatus() (string, error) {
	var state string
	err := withService(func(s *mgr.Service) error {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		state = map[svc.State]string{svc.Stopped: "stopped", svc.StartPending: "starting", svc.StopPending: "stopping",
			svc.Running: "running", svc.ContinuePending: "continuing", svc.PausePending: "pausing", svc.Paused: "paused"}[st.State]
		return nil
	})
	return state, err
}

// eventlogHandler sends warnings and errors to the Windows Event Log.
type eventlogHandler struct {
	el    *eventlog.Log
	attrs []slog.Attr
}

func (h eventlogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h eventlogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(at slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", at.Key, at.Value)
		return true
	}
	for _, at := range h.attrs {
		add(at)
	}
	r.Attrs(add)
	if r.Level >= slog.LevelError {
		return h.el.Error(1, b.String())
	}
	return h.el.Warning(1, b.String())
}

func (h eventlogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return eventlogHandler{el: h.el, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h eventlogHandler) WithGroup(string) slog.Handler { return h }
