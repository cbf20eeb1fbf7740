package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sragent/sragent/producer"
)

// newRegistry is the process's own Prometheus registry (never the global
// one): Go runtime and process collectors, and what the caller adds.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// check is one readiness check's result.
type check struct {
	OK     bool              `json:"ok"`
	Error  string            `json:"error,omitempty"`
	Halted map[string]string `json:"halted,omitempty"`
	// Incomplete names each group's first batch still waiting for its
	// files, and why: not a failure until input.incomplete_after
	// quarantines it (the chain is then halted).
	Incomplete map[string]string `json:"incomplete,omitempty"`
	// Failing are the chains whose batch failed on the last passes: not
	// ready, whatever metrics.ready_when_halted says.
	Failing map[string]producer.Failure `json:"failing,omitempty"`
}

// health serves /metrics, /healthz and /readyz: of the session s, or of a
// daemon still connecting (start).
type health struct {
	s               *session
	start           *startup
	readyWhenHalted bool
}

// startup is a daemon connecting to Kafka and the registry, retrying:
// /readyz says why it is not up yet.
type startup struct {
	metricsReg *prometheus.Registry
	log        *slog.Logger
	mu         sync.Mutex
	s          *session
	err        error
}

func (st *startup) set(s *session, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s, st.err = s, err
}

func (st *startup) get() (*session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s, st.err
}

func (h health) session() (*session, error) {
	if h.start == nil {
		return h.s, nil
	}
	return h.start.get()
}

func (h health) registry() *prometheus.Registry {
	if h.start != nil {
		return h.start.metricsReg
	}
	return h.s.metricsReg
}

func (h health) logger() *slog.Logger {
	if h.start != nil {
		return h.start.log
	}
	return h.s.log
}

func (h health) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(h.registry(), promhttp.HandlerOpts{Registry: h.registry()}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeHealth(w, http.StatusOK, map[string]any{"status": "alive"})
	})
	mux.HandleFunc("/readyz", h.ready)
	return mux
}

// ready reports whether the agent can do its job: broker and registry
// reachable, and no chain halted (unless metrics.ready_when_halted).
func (h health) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]check{}
	set := func(name string, err error) {
		c := check{OK: err == nil}
		if err != nil {
			c.Error = err.Error()
		}
		checks[name] = c
	}
	s, err := h.session()
	if s == nil {
		if err == nil {
			err = errors.New("connecting")
		}
		set("start", fmt.Errorf("not connected yet, retrying: %w", err))
		writeHealth(w, http.StatusServiceUnavailable, map[string]any{"status": "starting", "checks": checks})
		return
	}
	kafka, registry := s.agent.Ping(ctx)
	set("kafka", kafka)
	set("schema_registry", registry)
	halted, failing := s.agent.Halted(), s.agent.Failing()
	checks["chains"] = check{OK: (len(halted) == 0 || h.readyWhenHalted) && len(failing) == 0, Halted: halted,
		Incomplete: s.agent.Incomplete(), Failing: failing}
	status, code := "ready", http.StatusOK
	for _, c := range checks {
		if !c.OK {
			status, code = "not ready", http.StatusServiceUnavailable
		}
	}
	writeHealth(w, code, map[string]any{"status": status, "checks": checks})
}

func writeHealth(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

// serve starts the HTTP server on addr; stop shuts it down gracefully.
func (h health) serve(addr, setting string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (another sragent, or another program, listens there: set %s to a free address)", setting, addr, err, setting)
	}
	srv := &http.Server{Handler: h.mux(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.logger().Error("metrics server stopped", "err", err)
		}
	}()
	h.logger().Info("serving /metrics, /healthz and /readyz", "address", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
