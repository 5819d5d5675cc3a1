//go:build !js

package sync_test

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue returns the value of the series of name whose labels include labels (the sum
// over the matching series; a histogram counts its observations).
func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, mt := range mf.GetMetric() {
			for k, v := range labels {
				if !hasLabel(mt, k, v) {
					continue series
				}
			}
			switch {
			case mt.Counter != nil:
				sum += mt.Counter.GetValue()
			case mt.Gauge != nil:
				sum += mt.Gauge.GetValue()
			case mt.Histogram != nil:
				sum += float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabel(mt *dto.Metric, k, v string) bool {
	for _, l := range mt.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// The counters add up with what the room confirmed and rejected, and the gauges with what is
// connected and loaded.
func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv, n := memoryServer(t, nil,
		apersync.WithMetrics(reg),
		apersync.WithJournal(journal.NewMemory()),
		apersync.WithPermission(func(_ apersync.Identity, _ string, _ *cmap, tr cmt) error {
			if tr.Key == "no" {
				return errors.New("not this key")
			}
			return nil
		}))
	a := dial(t, n.Dialer("server"), "r")
	b := dial(t, n.Dialer("server"), "r")
	for i := range 5 {
		mustApply(t, a, m.Set(fmt.Sprint("a", i), aper.NewCounter(1)))
	}
	mustApply(t, b, m.Set("no", aper.NewCounter(1)))
	mustApply(t, b, m.Set("b", aper.NewCounter(1)))
	if seq := quiesce(t, srv, "r", a, b); seq != 6 {
		t.Fatalf("seq %d, want 6", seq)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"aper_transitions_confirmed_total", nil, 6},
		{"aper_transitions_rejected_total", map[string]string{"kind": "forbidden"}, 1},
		{"aper_transitions_rejected_total", nil, 1},
		{"aper_confirm_latency_seconds", nil, 7},
		{"aper_clients_connected", map[string]string{"transport": "memory"}, 2},
		{"aper_rooms_loaded", nil, 1},
		{"aper_joins_total", map[string]string{"how": "snapshot"}, 2},
	} {
		if got := metricValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := metricValue(t, reg, "aper_journal_append_seconds", nil); got < 1 || got > 6 {
		t.Errorf("journal appends observed %v, want 1 to 6 (one per batch)", got)
	}

	// The same registry refuses a second server until the first closes.
	if _, err := apersync.NewServer(func(context.Context, string) (*cmap, error) { return nil, nil },
		apersync.WithMetrics(reg)); !errors.Is(err, apersync.ErrInvalidOption) {
		t.Fatalf("second server on one registry: %v, want ErrInvalidOption", err)
	}
	srv.Close()
	other := newMapServer(t, apersync.WithMetrics(reg))
	other.Close()
}

// With WithRoomMetrics, the per-room counters carry the room's name.
func TestMetricsRoomLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv, n := memoryServer(t, nil, apersync.WithMetrics(reg), apersync.WithRoomMetrics())
	a := dial(t, n.Dialer("server"), "one")
	b := dial(t, n.Dialer("server"), "two")
	mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	mustApply(t, b, m.Set("x", aper.NewCounter(1)))
	mustApply(t, b, m.Set("y", aper.NewCounter(1)))
	quiesce(t, srv, "one", a)
	quiesce(t, srv, "two", b)
	if got := metricValue(t, reg, "aper_transitions_confirmed_total", map[string]string{"room": "two"}); got != 2 {
		t.Errorf("room two confirmed %v, want 2", got)
	}
	if got := metricValue(t, reg, "aper_transitions_confirmed_total", map[string]string{"room": "one"}); got != 1 {
		t.Errorf("room one confirmed %v, want 1", got)
	}
}

// BenchmarkThroughputMetrics is BenchmarkThroughput over memory with 10 writers, without and
// with metrics, in one run: the cost of the metrics on the hot path.
func BenchmarkThroughputMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) {
			var opts []apersync.ServerOption
			if on {
				opts = append(opts, apersync.WithMetrics(prometheus.NewRegistry()))
			}
			srv := counterServer(b, opts...)
			cs := dialCounters(b, benchTransports[0].start(b, srv), 10)
			b.ReportAllocs()
			b.ResetTimer()
			var wg stdsync.WaitGroup
			for i, c := range cs {
				n := b.N / len(cs)
				if i == 0 {
					n += b.N % len(cs)
				}
				wg.Go(func() {
					for range n {
						c.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
					}
					c.Sync(context.Background())
				})
			}
			wg.Wait()
			for _, c := range cs {
				waitCounterSeq(b, c, uint64(b.N))
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "confirmed/s")
		})
	}
}
