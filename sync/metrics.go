//go:build !js

package sync

import (
	"fmt"
	"time"

	"github.com/aper-go/aper/journal"
	"github.com/prometheus/client_golang/prometheus"
)

// WithMetrics registers the server's Prometheus collectors on reg (nothing is registered
// globally): rooms loaded, clients connected per transport, transitions confirmed and rejected
// (by conflict kind or refusal code), presence updates, outgoing queue depth and slow-client
// disconnects, the confirm latency, journal appends and fsyncs, snapshots saved, and how joins
// were served (resumed from memory or the journal, or sent a snapshot). Every name starts with
// "aper_". No metric has a label per room or client unless WithRoomMetrics is given. NewServer
// returns an error matching ErrInvalidOption if reg refuses a collector (one of the same name is
// registered already: give each server its own registry, or wrap it with
// prometheus.WrapRegistererWith and a label of your own). Shutdown and Close unregister them
// once every goroutine of the server has ended.
func WithMetrics(reg prometheus.Registerer) ServerOption {
	return func(c *serverConfig) error {
		if reg == nil {
			return fmt.Errorf("%w: nil metrics registerer", ErrInvalidOption)
		}
		c.metrics = reg
		return nil
	}
}

// Bounds of the latency histograms, in seconds: 50µs to about 1.6s.
var latencyBuckets = prometheus.ExponentialBuckets(50e-6, 2, 16)

// serverMetrics are a server's collectors. A server without metrics has none (a nil
// *serverMetrics), and each hook is one nil check.
type serverMetrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector
	roomLabel  bool

	clients     *prometheus.GaugeVec   // transport
	confirmed   *prometheus.CounterVec // [room]
	rejected    *prometheus.CounterVec // kind [, room]
	presence    *prometheus.CounterVec // [room]
	slow        prometheus.Counter
	joins       *prometheus.CounterVec // how: resume, journal, snapshot
	confirmLat  prometheus.Histogram
	appendLat   prometheus.Histogram
	snapBytes   prometheus.Histogram
	snapSeconds prometheus.Histogram
	snapFailed  prometheus.Counter
}

// statser is a journal that counts what it did (journal.Disk).
type statser interface{ Stats() journal.Stats }

// newServerMetrics makes the collectors of s and registers them on cfg.metrics.
func newServerMetrics[S any, T any](cfg *serverConfig, rooms, queued, maxQueued func() float64) (*serverMetrics, error) {
	m := &serverMetrics{reg: cfg.metrics.(prometheus.Registerer), roomLabel: cfg.roomLabel}
	var perRoom []string
	if cfg.roomLabel {
		perRoom = []string{"room"}
	}
	m.clients = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aper_clients_connected",
		Help: "Connections joined to a room, by transport (websocket, quic, memory, agent)."}, []string{"transport"})
	m.confirmed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aper_transitions_confirmed_total",
		Help: "Transitions ordered and applied by rooms (client transitions and server events)."}, perRoom)
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aper_transitions_rejected_total",
		Help: "Client transitions rejected, by conflict kind, or by refusal code (rate, forbidden, size, pending)."},
		append([]string{"kind"}, perRoom...))
	m.presence = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aper_presence_updates_total",
		Help: "Presence values passed on to rooms (after the throttle)."}, perRoom)
	m.slow = prometheus.NewCounter(prometheus.CounterOpts{Name: "aper_slow_client_disconnects_total",
		Help: "Connections cut because their outgoing queue overflowed."})
	m.joins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aper_joins_total",
		Help: "Joins by how the client was brought up to date: resume (from the in-memory log), journal (resumed from the journal), snapshot."},
		[]string{"how"})
	m.confirmLat = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aper_confirm_latency_seconds",
		Help:    "From a transition's arrival at the server to its outcome made durable and queued for every client of its room.",
		Buckets: latencyBuckets})
	m.appendLat = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aper_journal_append_seconds",
		Help:    "Journal appends of one batch of a room, until durable (fsync included under the journal's policy).",
		Buckets: latencyBuckets})
	m.snapBytes = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aper_snapshot_bytes",
		Help:    "Size of the snapshots saved to the journal.",
		Buckets: prometheus.ExponentialBuckets(256, 4, 12)})
	m.snapSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aper_snapshot_seconds",
		Help:    "Time to encode and save a snapshot to the journal.",
		Buckets: latencyBuckets})
	m.snapFailed = prometheus.NewCounter(prometheus.CounterOpts{Name: "aper_snapshot_failures_total",
		Help: "Snapshots that could not be encoded or saved."})
	m.collectors = []prometheus.Collector{m.clients, m.confirmed, m.rejected, m.presence, m.slow, m.joins,
		m.confirmLat, m.appendLat, m.snapBytes, m.snapSeconds, m.snapFailed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aper_rooms_loaded", Help: "Rooms loaded."}, rooms),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aper_queue_frames",
			Help: "Frames waiting on the outgoing queues of every connection."}, queued),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aper_queue_frames_max",
			Help: "Frames waiting on the fullest outgoing queue."}, maxQueued),
	}
	if st, ok := cfg.journal.(statser); ok {
		m.collectors = append(m.collectors,
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aper_journal_fsyncs_total",
				Help: "Fsyncs of journal segment files."}, func() float64 { return float64(st.Stats().Syncs) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aper_journal_fsync_seconds_total",
				Help: "Time spent in fsyncs of journal segment files (divided by aper_journal_fsyncs_total: the mean fsync latency)."},
				func() float64 { return st.Stats().SyncTime.Seconds() }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aper_journal_bytes_total",
				Help: "Record bytes written to the journal."}, func() float64 { return float64(st.Stats().Bytes) }))
	}
	for i, c := range m.collectors {
		if err := m.reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				m.reg.Unregister(done)
			}
			return nil, fmt.Errorf("%w: metrics: %v", ErrInvalidOption, err)
		}
	}
	return m, nil
}

// unregister removes the collectors from the registry.
func (m *serverMetrics) unregister() {
	if m == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}

// connOpened counts a connection that joined its room, and returns what to call when it ends.
func (m *serverMetrics) connOpened(sc *serverConn) func() {
	g := m.clients.WithLabelValues(transportName(sc.conn, sc.agent))
	g.Inc()
	return func() {
		g.Dec()
		if se, ok := sc.q.why().(*ServerError); ok && se.Code == codeOverflow {
			m.slow.Inc()
		}
	}
}

// roomMetrics are a room's handles on the server's metrics (children of its label values).
type roomMetrics struct {
	m         *serverMetrics
	stats     roomStats
	confirmed prometheus.Counter
	presence  prometheus.Counter
	rejected  map[string]prometheus.Counter
	room      string
}

func (m *serverMetrics) forRoom(name string) *roomMetrics {
	rm := &roomMetrics{m: m, room: name, rejected: make(map[string]prometheus.Counter),
		stats: roomStats{rejected: make(map[string]uint64)}}
	var lv []string
	if m.roomLabel {
		lv = []string{name}
	}
	rm.confirmed = m.confirmed.WithLabelValues(lv...)
	rm.presence = m.presence.WithLabelValues(lv...)
	return rm
}

// flush adds what the core counted to the metrics, and observes the confirm latency of the
// step's submits at now (their outcomes are durable and queued).
func (rm *roomMetrics) flush(now time.Time) {
	st := &rm.stats
	if st.confirmed > 0 {
		rm.confirmed.Add(float64(st.confirmed))
		st.confirmed = 0
	}
	if st.presence > 0 {
		rm.presence.Add(float64(st.presence))
		st.presence = 0
	}
	for kind, n := range st.rejected {
		c := rm.rejected[kind]
		if c == nil {
			lv := []string{kind}
			if rm.m.roomLabel {
				lv = append(lv, rm.room)
			}
			c = rm.m.rejected.WithLabelValues(lv...)
			rm.rejected[kind] = c
		}
		c.Add(float64(n))
		delete(st.rejected, kind)
	}
	if st.resumed+st.fromLog+st.snapshots > 0 {
		add := func(how string, n *uint64) {
			if *n > 0 {
				rm.m.joins.WithLabelValues(how).Add(float64(*n))
				*n = 0
			}
		}
		add("resume", &st.resumed)
		add("journal", &st.fromLog)
		add("snapshot", &st.snapshots)
	}
	for _, s := range st.submitted {
		d := now.Sub(s.at).Seconds()
		for range s.n {
			rm.m.confirmLat.Observe(d)
		}
	}
	clear(st.submitted)
	st.submitted = st.submitted[:0]
}

// appended records a journal append of the room's records that took d.
func (rm *roomMetrics) appended(d time.Duration) {
	if rm != nil {
		rm.m.appendLat.Observe(d.Seconds())
	}
}

// snapshotSaved records a snapshot of size bytes that took d to encode and save (err: it failed).
func (rm *roomMetrics) snapshotSaved(size int, d time.Duration, err error) {
	if rm == nil {
		return
	}
	if err != nil {
		rm.m.snapFailed.Inc()
		return
	}
	rm.m.snapBytes.Observe(float64(size))
	rm.m.snapSeconds.Observe(d.Seconds())
}
