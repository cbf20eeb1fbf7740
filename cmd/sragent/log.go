package main

import (
	"io"
	"log/slog"
	"strings"
)

// newLogger builds the process logger: text or JSON on w, at the level of
// log.level. Log lines carry group, batch, file and line, never a cell.
func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
