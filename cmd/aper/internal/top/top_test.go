package top

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// scrapeText is a scrape as an aper server writes it, with confirmed transitions and the
// buckets of the confirm latency given.
func scrapeText(confirmed int, buckets [3]int) string {
	return fmt.Sprintf(`# TYPE aper_rooms_loaded gauge
aper_rooms_loaded 3
# TYPE aper_clients_connected gauge
aper_clients_connected{transport="websocket"} 5
aper_clients_connected{transport="quic"} 2
# TYPE aper_transitions_confirmed_total counter
aper_transitions_confirmed_total %d
# TYPE aper_transitions_rejected_total counter
aper_transitions_rejected_total{kind="not found"} 4
# TYPE aper_confirm_latency_seconds histogram
aper_confirm_latency_seconds_bucket{le="0.001"} %d
aper_confirm_latency_seconds_bucket{le="0.01"} %d
aper_confirm_latency_seconds_bucket{le="+Inf"} %d
aper_confirm_latency_seconds_sum 1
aper_confirm_latency_seconds_count %d
`, confirmed, buckets[0], buckets[1], buckets[2], buckets[2])
}

// fakeScrape returns the samples of texts in turn, each a second after the one before.
func fakeScrape(t *testing.T, texts ...string) func(context.Context) (Sample, error) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	i := 0
	return func(context.Context) (Sample, error) {
		if i >= len(texts) {
			return Sample{}, fmt.Errorf("connection refused")
		}
		s, err := Parse(strings.NewReader(texts[i]), at.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		i++
		return s, nil
	}
}

// The view shows what the scrapes say: the gauges of the last one, and the rates and the p99
// over the interval between the last two; a failed scrape is shown and the figures stay.
func TestModelShowsScrapes(t *testing.T) {
	m := New("http://server/metrics", time.Second, fakeScrape(t,
		scrapeText(1000, [3]int{900, 1000, 1000}),
		scrapeText(1250, [3]int{900, 1050, 1250}), // 250 more, 200 of them over 10ms
	))
	if v := m.View(); !strings.Contains(v, "waiting for the first scrape") {
		t.Fatalf("before a scrape:\n%s", v)
	}
	fetch := m.Init()
	m.Update(fetch())
	v := m.View()
	for _, want := range []string{"rooms loaded           3", "clients                7 (quic 2, websocket 5)", "(after the next scrape)", "1000 (rejected 4)"} {
		if !strings.Contains(v, want) {
			t.Fatalf("after one scrape, no %q in:\n%s", want, v)
		}
	}
	if _, cmd := m.Update(TickMsg{}); cmd != nil {
		m.Update(cmd())
	}
	r, ok := m.Rates()
	if !ok || r.Transitions != 250 || r.ConfirmP99 != 0.01 {
		t.Fatalf("rates %+v %v, want 250 transitions/s and p99 in the +Inf bucket, shown as 10ms", r, ok)
	}
	v = m.View()
	for _, want := range []string{"transitions/s          250.0", "p99 10ms", "rejections/s           0.0"} {
		if !strings.Contains(v, want) {
			t.Fatalf("after two scrapes, no %q in:\n%s", want, v)
		}
	}
	_, cmd := m.Update(TickMsg{})
	m.Update(cmd())
	if v := m.View(); !strings.Contains(v, "last scrape failed: connection refused") || !strings.Contains(v, "250.0") {
		t.Fatalf("after a failed scrape:\n%s", v)
	}
}

func TestQuantile(t *testing.T) {
	h := Histogram{Bounds: []float64{1, 2, 4, math.Inf(1)}, Counts: []float64{10, 30, 40, 40}}
	for _, c := range []struct{ q, want float64 }{{0.25, 1}, {0.5, 1.5}, {1, 4}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
	if got := (Histogram{}).Quantile(0.99); !math.IsNaN(got) {
		t.Errorf("empty: %v", got)
	}
}

// Parse reads what a server with metrics serves, by the names it gives them.
func TestParseServerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv, err := apersync.NewServer(func(context.Context, string) (*aper.Counter, error) { return aper.NewCounter(0), nil },
		apersync.WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	n := memory.NewNetwork(nil)
	defer n.Close()
	l, _ := n.Listen("s")
	go srv.Serve(context.Background(), l)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := apersync.Dial[*aper.Counter, aper.CounterTransition](ctx, n.Dialer("s"), "r")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		c.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer hs.Close()
	s, err := Scraper(hs.URL, hs.Client())(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rooms != 1 || s.Clients["memory"] != 1 || s.Confirmed != 3 || s.Confirm.Count() != 3 {
		t.Fatalf("sample %+v", s)
	}
}
