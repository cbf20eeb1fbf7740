package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
)

// newHandler is text or JSON on w, at the level of log.level. Log lines
// carry group, batch, file and line, never a cell.
func newHandler(c LogConfig, w io.Writer) slog.Handler {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// logger builds the command's logger: stderr, plus log.file (rotated) when
// set, plus the app's extra handler (the Windows Event Log). The returned
// function closes the file.
func (a *app) logger(c Config) (*slog.Logger, func(), error) {
	w := a.stderr
	closeFile := func() {}
	if c.Log.File != "" {
		f, err := openRotating(c.Log.File, int64(max(c.Log.MaxSizeMB, 1))<<20, c.Log.MaxFiles)
		if err != nil {
			return nil, nil, err
		}
		w, closeFile = io.MultiWriter(a.stderr, f), func() { f.Close() }
	}
	h := newHandler(c.Log, w)
	if a.extraLog != nil {
		h = multiHandler{h, a.extraLog}
	}
	log := slog.New(h)
	for _, w := range a.configWarnings {
		log.Warn(w)
	}
	return log, closeFile, nil
}

// multiHandler sends every record to each handler that wants it.
type multiHandler []slog.Handler

func (m multiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range m {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (m multiHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range m {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (m multiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (m multiHandler) WithGroup(name string) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(name)
	}
	return out
}
