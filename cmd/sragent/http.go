package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
}

// health serves /metrics, /healthz and /readyz.
type health struct {
	s               *session
	readyWhenHalted bool
}

func (h health) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(h.s.metricsReg, promhttp.HandlerOpts{Registry: h.s.metricsReg}))
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
	kafka, registry := h.s.agent.Ping(ctx)
	set("kafka", kafka)
	set("schema_registry", registry)
	halted := h.s.agent.Halted()
	checks["chains"] = check{OK: len(halted) == 0 || h.readyWhenHalted, Halted: halted}
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
func (h health) serve(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on metrics.listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h.mux(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.s.log.Error("metrics server stopped", "err", err)
		}
	}()
	h.s.log.Info("serving /metrics, /healthz and /readyz", "address", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
