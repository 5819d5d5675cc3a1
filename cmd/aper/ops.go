package main

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// apiPath is where aper serve mounts the server's HTTP API (sync.Server.API).
const apiPath = "/api"

// readiness is what /readyz checks: each part of the server it names must be up.
type readiness struct {
	journal   atomic.Bool // the journal is open
	listeners atomic.Bool // every listener is bound and served
	nats      func() bool // in a cluster: whether the NATS connection is up; nil otherwise
}

// problems lists what is not ready, empty when all is.
func (r *readiness) problems() []string {
	var p []string
	if !r.journal.Load() {
		p = append(p, "journal not open")
	}
	if !r.listeners.Load() {
		p = append(p, "listeners not up")
	}
	if r.nats != nil && !r.nats() {
		p = append(p, "not connected to NATS")
	}
	return p
}

// newRegistry returns the registry aper serve exposes at /metrics: the server's collectors are
// registered on it by the server; the Go runtime's and the process's are added here.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// mountOps mounts what an operator reads: /metrics (reg), /healthz (the process answers),
// /readyz (ready's checks) and, with withPprof, net/http/pprof at /debug/pprof/.
func mountOps(mux *http.ServeMux, reg *prometheus.Registry, ready *readiness, withPprof bool) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if p := ready.problems(); len(p) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(p, "; "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}
