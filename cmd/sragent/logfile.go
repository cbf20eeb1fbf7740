package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// rotatingFile is an io.Writer to a log file that is renamed to .1 (and
// .1 to .2, ...) when it would pass maxBytes, keeping keep old files. It
// is what a Windows service logs to besides the Event Log.
type rotatingFile struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	keep     int
	f        *os.File
	size     int64
}

func openRotating(path string, maxBytes int64, keep int) (*rotatingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create log folder: %w", err)
	}
	r := &rotatingFile{path: path, maxBytes: maxBytes, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log file: %w", err)
	}
	r.f, r.size = f, info.Size()
	return nil
}

// Write appends p, rotating first when p would not fit.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size > 0 && r.size+int64(len(p)) > r.maxBytes {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("close log file: %w", err)
	}
	os.Remove(fmt.Sprintf("%s.%d", r.path, r.keep))
	for i := r.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", r.path, i), fmt.Sprintf("%s.%d", r.path, i+1))
	}
	if r.keep > 0 {
		if err := os.Rename(r.path, r.path+".1"); err != nil {
			return fmt.Errorf("rotate log file: %w", err)
		}
	} else {
		os.Remove(r.path)
	}
	return r.open()
}

// Close closes the file.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}

// resolvePaths makes every relative folder and file of c absolute against
// base. Windows services start in C:\Windows\System32, so a relative path
// in the configuration means "next to sragent.exe".
func resolvePaths(c *Config, base string) {
	for _, p := range []*string{&c.Input.Dir, &c.Archive.Dir, &c.Quarantine.Dir, &c.State.Dir, &c.Log.File,
		&c.Kafka.TLS.CAFile, &c.Kafka.TLS.CertFile, &c.Kafka.TLS.KeyFile} {
		if *p != "" && !filepath.IsAbs(*p) && !isUNC(*p) {
			*p = filepath.Join(base, *p)
		}
	}
}

// isUNC reports whether p is a \\server\share path (a network share; a
// service cannot use mapped drive letters).
func isUNC(p string) bool { return len(p) > 2 && (p[:2] == `\\` || p[:2] == "//") }
