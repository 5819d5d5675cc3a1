package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads a metrics endpoint and returns the sum of each metric's series (a histogram's
// count), by name.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	_, body := get(t, url)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	out := make(map[string]float64)
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				out[name] += m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] += m.Gauge.GetValue()
			case m.Histogram != nil:
				out[name] += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// /healthz and /readyz answer, pprof is off without its flag, and /metrics, scraped while an
// aper sim run drives the server, ends with counters that add up with what the sim confirmed
// and rejected.
func TestServeMetricsAddUpWithSim(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	base := "http://" + srv.ws
	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ready" {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code == http.StatusOK {
		t.Fatalf("/debug/pprof/ is served without -pprof")
	}

	// Scrape while the sim runs: every scrape parses, and the confirmed count never goes down.
	stop := make(chan struct{})
	scraped := make(chan error, 1)
	go func() {
		var last float64
		var err error
		n := 0
		defer func() { scraped <- err }()
		for {
			select {
			case <-stop:
				if n == 0 {
					err = fmt.Errorf("no scrape during the run")
				}
				return
			default:
			}
			resp, gerr := http.Get(base + "/metrics")
			if gerr != nil {
				err = gerr
				return
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, perr := parser.TextToMetricFamilies(resp.Body)
			resp.Body.Close()
			if perr != nil {
				err = perr
				return
			}
			var v float64
			if mf := fams["aper_transitions_confirmed_total"]; mf != nil {
				for _, m := range mf.GetMetric() {
					v += m.GetCounter().GetValue()
				}
			}
			if v < last {
				err = fmt.Errorf("confirmed went down from %v to %v", last, v)
				return
			}
			last = v
			n++
		}
	}()
	var out strings.Builder
	args := []string{"sim", "-server", "ws://" + srv.ws + "/aper", "-room", "todo", "-name", "metrics",
		"-clients", "4", "-transitions", "400", "-faults", "0.02", "-seed", "3"}
	err := run(context.Background(), args, nil, &out, io.Discard)
	close(stop)
	if serr := <-scraped; serr != nil {
		t.Errorf("scraping during the run: %v", serr)
	}
	if err != nil || !strings.Contains(out.String(), "exactly once     yes: ") {
		t.Fatalf("aper %v: %v\n%s", args, err, out.String())
	}
	confirmed := simFigure(t, out.String(), `(?m)^confirmed\s+(\d+)`)
	rejected := simFigure(t, out.String(), `(?m)^rejections\s+(\d+)`)
	if confirmed+rejected != 400 {
		t.Fatalf("sim: %v confirmed + %v rejected, want 400\n%s", confirmed, rejected, out.String())
	}
	got := scrape(t, base+"/metrics")
	if got["aper_transitions_confirmed_total"] != confirmed {
		t.Errorf("aper_transitions_confirmed_total %v, the sim confirmed %v", got["aper_transitions_confirmed_total"], confirmed)
	}
	if got["aper_transitions_rejected_total"] != rejected {
		t.Errorf("aper_transitions_rejected_total %v, the sim had %v rejections", got["aper_transitions_rejected_total"], rejected)
	}
	if got["aper_confirm_latency_seconds"] < confirmed+rejected {
		t.Errorf("aper_confirm_latency_seconds counted %v, want at least %v", got["aper_confirm_latency_seconds"], confirmed+rejected)
	}
	if got["aper_journal_append_seconds"] < 1 || got["aper_journal_fsyncs_total"] < 1 || got["aper_journal_fsync_seconds_total"] <= 0 {
		t.Errorf("journal appends %v, fsyncs %v in %v s: want some", got["aper_journal_append_seconds"],
			got["aper_journal_fsyncs_total"], got["aper_journal_fsync_seconds_total"])
	}
	if got["aper_rooms_loaded"] < 1 {
		t.Errorf("aper_rooms_loaded %v", got["aper_rooms_loaded"])
	}
	// The HTTP API at /api reads the same room.
	if code, body := get(t, base+"/api/state/todo/metrics"); code != http.StatusOK ||
		!strings.Contains(body, fmt.Sprintf(`"seq":%d,`, int(simFigure(t, out.String(), `room at seq (\d+)`)))) {
		t.Errorf("/api/state/todo/metrics: %d %s", code, body)
	}
	srv.stop()
}

// With -pprof, the profiles are served.
func TestServePprof(t *testing.T) {
	t.Parallel()
	p := start(t, t.TempDir(), "serve", "-http", "127.0.0.1:0", "-quic", "", "-data", "data", "-pprof")
	addr := p.waitLine(`^aper: websocket ws://(\S+)/aper$`)[1]
	p.waitLine(`^aper: ready`)
	if code, body := get(t, "http://"+addr+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("/debug/pprof/: %d\n%s", code, body)
	}
	p.stop()
}

func simFigure(t *testing.T, out, re string) float64 {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in the sim's output:\n%s", re, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// /readyz names each part that is not up: the journal, the listeners and, in a cluster, the
// connection to NATS.
func TestReadinessProblems(t *testing.T) {
	up, down := func() bool { return true }, func() bool { return false }
	for _, tt := range []struct {
		name               string
		journal, listeners bool
		nats               func() bool
		want               []string
	}{
		{"ready", true, true, nil, nil},
		{"ready in a cluster", true, true, up, nil},
		{"starting", false, false, nil, []string{"journal not open", "listeners not up"}},
		{"NATS down", true, true, down, []string{"not connected to NATS"}},
	} {
		r := readiness{nats: tt.nats}
		r.journal.Store(tt.journal)
		r.listeners.Store(tt.listeners)
		if got := r.problems(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: problems %q, want %q", tt.name, got, tt.want)
		}
	}
}
