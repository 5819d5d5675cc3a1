// Package top is the model of aper top: a live view of a running server, read from its
// Prometheus metrics endpoint once a second.
package top

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is what one scrape of a server's metrics says.
type Sample struct {
	At         time.Time
	Rooms      float64
	Clients    map[string]float64 // by transport
	Confirmed  float64            // total since the server started
	Rejected   float64
	Presence   float64
	Slow       float64
	Queued     float64
	Confirm    Histogram // the confirm latency
	Append     Histogram // the journal's append latency
	Goroutines float64
}

// Histogram is a cumulative Prometheus histogram: the count of observations ≤ each bound.
type Histogram struct {
	Bounds []float64 // upper bounds, ascending, +Inf last
	Counts []float64 // cumulative
	Sum    float64
}

// Count is the number of observations.
func (h Histogram) Count() float64 {
	if len(h.Counts) == 0 {
		return 0
	}
	return h.Counts[len(h.Counts)-1]
}

// Since returns the observations of h that came after prev (a scrape of the same histogram).
func (h Histogram) Since(prev Histogram) Histogram {
	if !slices.Equal(h.Bounds, prev.Bounds) || prev.Count() > h.Count() {
		return h // another server (restarted): all of h is new
	}
	d := Histogram{Bounds: h.Bounds, Counts: make([]float64, len(h.Counts)), Sum: h.Sum - prev.Sum}
	for i := range h.Counts {
		d.Counts[i] = h.Counts[i] - prev.Counts[i]
	}
	return d
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by linear interpolation within its bucket, as
// Prometheus' histogram_quantile does; NaN without observations. A quantile in the +Inf bucket
// is the largest finite bound.
func (h Histogram) Quantile(q float64) float64 {
	n := h.Count()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	i := sort.Search(len(h.Counts), func(i int) bool { return h.Counts[i] >= rank })
	if i >= len(h.Bounds) {
		i = len(h.Bounds) - 1
	}
	if math.IsInf(h.Bounds[i], 1) {
		if i == 0 {
			return math.NaN()
		}
		return h.Bounds[i-1]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = h.Bounds[i-1], h.Counts[i-1]
	}
	in := h.Counts[i] - below
	if in <= 0 {
		return h.Bounds[i]
	}
	return lo + (h.Bounds[i]-lo)*(rank-below)/in
}

// Parse reads a scrape in Prometheus' text format.
func Parse(r io.Reader, at time.Time) (Sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Sample{}, fmt.Errorf("metrics: %w", err)
	}
	s := Sample{At: at, Clients: make(map[string]float64)}
	sum := func(name string) float64 {
		var v float64
		if mf := fams[name]; mf != nil {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		return v
	}
	s.Rooms = sum("aper_rooms_loaded")
	s.Confirmed = sum("aper_transitions_confirmed_total")
	s.Rejected = sum("aper_transitions_rejected_total")
	s.Presence = sum("aper_presence_updates_total")
	s.Slow = sum("aper_slow_client_disconnects_total")
	s.Queued = sum("aper_queue_frames")
	s.Goroutines = sum("go_goroutines")
	if mf := fams["aper_clients_connected"]; mf != nil {
		for _, m := range mf.GetMetric() {
			s.Clients[label(m, "transport")] += m.GetGauge().GetValue()
		}
	}
	s.Confirm = histogram(fams["aper_confirm_latency_seconds"])
	s.Append = histogram(fams["aper_journal_append_seconds"])
	if _, ok := fams["aper_rooms_loaded"]; !ok {
		return s, fmt.Errorf("metrics: no aper_rooms_loaded: not an aper server's metrics")
	}
	return s, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// histogram sums the series of a histogram family (they share their bounds).
func histogram(mf *dto.MetricFamily) Histogram {
	var h Histogram
	if mf == nil {
		return h
	}
	for _, m := range mf.GetMetric() {
		hm := m.GetHistogram()
		if hm == nil {
			continue
		}
		if h.Bounds == nil {
			for _, b := range hm.GetBucket() {
				h.Bounds = append(h.Bounds, b.GetUpperBound())
			}
			h.Bounds = append(h.Bounds, math.Inf(1))
			h.Counts = make([]float64, len(h.Bounds))
		}
		for i, b := range hm.GetBucket() {
			if i < len(h.Counts)-1 {
				h.Counts[i] += float64(b.GetCumulativeCount())
			}
		}
		h.Counts[len(h.Counts)-1] += float64(hm.GetSampleCount())
		h.Sum += hm.GetSampleSum()
	}
	return h
}

// Scraper reads a metrics endpoint over HTTP.
func Scraper(url string, client *http.Client) func(ctx context.Context) (Sample, error) {
	return func(ctx context.Context) (Sample, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return Sample{}, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return Sample{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return Sample{}, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return Parse(resp.Body, time.Now())
	}
}

// Model is the bubbletea model of aper top.
type Model struct {
	url      string
	scrape   func(ctx context.Context) (Sample, error)
	interval time.Duration

	last, prev *Sample
	err        error
	width      int
}

// New returns the model of a view of the server whose metrics scrape reads (url is shown),
// refreshed every interval.
func New(url string, interval time.Duration, scrape func(ctx context.Context) (Sample, error)) *Model {
	return &Model{url: url, scrape: scrape, interval: interval}
}

// SampleMsg carries a scrape's result to Update.
type SampleMsg struct {
	Sample Sample
	Err    error
}

// TickMsg asks for the next scrape.
type TickMsg struct{}

// Init scrapes at once.
func (m *Model) Init() tea.Cmd { return m.fetch() }

func (m *Model) fetch() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), max(m.interval, time.Second))
		defer cancel()
		s, err := m.scrape(ctx)
		return SampleMsg{Sample: s, Err: err}
	}
}

// Update takes a scrape's result (and schedules the next), a tick, a key (q, Esc or Ctrl-C
// quit) or the window's size.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case SampleMsg:
		m.err = msg.Err
		if msg.Err == nil {
			s := msg.Sample
			m.prev, m.last = m.last, &s
		}
		return m, tea.Tick(m.interval, func(time.Time) tea.Msg { return TickMsg{} })
	case TickMsg:
		return m, m.fetch()
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "esc", "ctrl+c":
			return m, tea.Quit
		}
	case tea.WindowSizeMsg:
		m.width = msg.Width
	}
	return m, nil
}

// Rates are what the view derives from the last two scrapes.
type Rates struct {
	Transitions float64 // confirmed per second
	Rejections  float64 // per second
	ConfirmP99  float64 // seconds, over the last interval (NaN: no transition in it)
	ConfirmP50  float64
	AppendP99   float64
}

// Rates derives the rates from the last two scrapes; ok false before there are two.
func (m *Model) Rates() (r Rates, ok bool) {
	if m.last == nil || m.prev == nil {
		return Rates{}, false
	}
	dt := m.last.At.Sub(m.prev.At).Seconds()
	if dt <= 0 {
		return Rates{}, false
	}
	r.Transitions = max(m.last.Confirmed-m.prev.Confirmed, 0) / dt
	r.Rejections = max(m.last.Rejected-m.prev.Rejected, 0) / dt
	c := m.last.Confirm.Since(m.prev.Confirm)
	r.ConfirmP99, r.ConfirmP50 = c.Quantile(0.99), c.Quantile(0.5)
	r.AppendP99 = m.last.Append.Since(m.prev.Append).Quantile(0.99)
	return r, true
}

var (
	titleStyle = lipgloss.NewStyle().Bold(true)
	dimStyle   = lipgloss.NewStyle().Faint(true)
	errStyle   = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
)

// View shows the last scrape.
func (m *Model) View() string {
	var b strings.Builder
	b.WriteString(titleStyle.Render("aper top") + "  " + dimStyle.Render(m.url) + "\n\n")
	if m.last == nil {
		if m.err != nil {
			b.WriteString(errStyle.Render("scrape failed: "+m.err.Error()) + "\n")
		} else {
			b.WriteString("waiting for the first scrape...\n")
		}
		b.WriteString(dimStyle.Render("\nq quits") + "\n")
		return b.String()
	}
	s := m.last
	row := func(name, value string) { fmt.Fprintf(&b, "%-22s %s\n", name, value) }
	row("rooms loaded", fmt.Sprintf("%.0f", s.Rooms))
	var total float64
	var parts []string
	for _, tr := range slices.Sorted(maps.Keys(s.Clients)) {
		total += s.Clients[tr]
		parts = append(parts, fmt.Sprintf("%s %.0f", tr, s.Clients[tr]))
	}
	clients := fmt.Sprintf("%.0f", total)
	if len(parts) > 0 {
		clients += " (" + strings.Join(parts, ", ") + ")"
	}
	row("clients", clients)
	if r, ok := m.Rates(); ok {
		row("transitions/s", fmt.Sprintf("%.1f", r.Transitions))
		row("rejections/s", fmt.Sprintf("%.1f", r.Rejections))
		row("confirm latency", "p50 "+duration(r.ConfirmP50)+", p99 "+duration(r.ConfirmP99))
		row("journal append p99", duration(r.AppendP99))
	} else {
		row("transitions/s", dimStyle.Render("(after the next scrape)"))
		row("confirm latency", "p99 "+duration(s.Confirm.Quantile(0.99))+" since start")
		row("journal append p99", duration(s.Append.Quantile(0.99))+" since start")
	}
	row("confirmed", fmt.Sprintf("%.0f (rejected %.0f)", s.Confirmed, s.Rejected))
	row("queued frames", fmt.Sprintf("%.0f", s.Queued))
	row("slow disconnects", fmt.Sprintf("%.0f", s.Slow))
	row("presence updates", fmt.Sprintf("%.0f", s.Presence))
	if s.Goroutines > 0 {
		row("goroutines", fmt.Sprintf("%.0f", s.Goroutines))
	}
	if m.err != nil {
		b.WriteString("\n" + errStyle.Render("last scrape failed: "+m.err.Error()) + "\n")
	}
	b.WriteString(dimStyle.Render(fmt.Sprintf("\nscraped %s, every %v; q quits", s.At.Format("15:04:05"), m.interval)) + "\n")
	return b.String()
}

// duration formats seconds for the view: "-" for NaN.
func duration(sec float64) string {
	if math.IsNaN(sec) {
		return "-"
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Microsecond).String()
}
