package sync

import (
	"reflect"
	"strings"
	"time"
)

// The parts of the server's metrics that build everywhere; the collectors themselves
// (metrics.go, Prometheus) are left out of builds for the browser (metrics_js.go), so that a
// client compiled to WebAssembly does not carry them.

// WithRoomMetrics adds a "room" label to the per-room counters of WithMetrics (transitions
// confirmed and rejected, presence updates). Each room loaded once keeps its series until the
// server closes: use it only with a bounded set of room names.
func WithRoomMetrics() ServerOption {
	return func(c *serverConfig) error {
		c.roomLabel = true
		return nil
	}
}

// roomStats are what a room's core counted since the room last flushed them into the metrics:
// plain integers, owned by the room's goroutine.
type roomStats struct {
	confirmed uint64
	presence  uint64
	rejected  map[string]uint64 // by kind
	resumed   uint64
	fromLog   uint64 // resumed from the journal
	snapshots uint64

	submitted []submitTime // the submits handled in this step, for the confirm latency
}

type submitTime struct {
	at time.Time
	n  int
}

// reject counts a rejection of kind (its refusal code, else its conflict's kind).
func (st *roomStats) reject(kind string) { st.rejected[kind]++ }

// transportName names the transport of c for the clients' label: the last element of its
// package path (websocket, quic, memory), or "agent".
func transportName(c any, agent bool) string {
	if agent {
		return "agent"
	}
	t := reflect.TypeOf(c)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.PkgPath() == "" {
		return "other"
	}
	p := t.PkgPath()
	return p[strings.LastIndexByte(p, '/')+1:]
}

// roomsLoaded counts the rooms loaded, for the metrics.
func (s *Server[S, T]) roomsLoaded() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(len(s.rooms))
}

// queueDepth sums the frames waiting on every connection's outgoing queue.
func (s *Server[S, T]) queueDepth() float64 {
	sum, _ := s.queues()
	return float64(sum)
}

// queueDepthMax is the frames waiting on the fullest outgoing queue.
func (s *Server[S, T]) queueDepthMax() float64 {
	_, most := s.queues()
	return float64(most)
}

func (s *Server[S, T]) queues() (sum, most int) {
	s.mu.Lock()
	qs := make([]*outq, 0, len(s.conns))
	for sc := range s.conns {
		qs = append(qs, sc.q)
	}
	s.mu.Unlock()
	for _, q := range qs {
		q.mu.Lock()
		n := len(q.items)
		q.mu.Unlock()
		sum += n
		most = max(most, n)
	}
	return sum, most
}
