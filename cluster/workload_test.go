package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apersync "github.com/aper-go/aper/sync"
)

// confirmation is a transition that the server confirmed to a client, as the client's handle
// tells it: at is the order in which the workload saw the confirmations, across clients.
type confirmation struct {
	client int
	seq    uint64
	at     uint64
	when   time.Time
}

// workload has clients submit a transition every pace until stopped, whether the previous
// ones were confirmed or not: clients that cannot reach the room keep applying. It records
// every confirmation.
type workload struct {
	t       testing.TB
	clients []*client
	homes   []int // the member beside each client
	pace    time.Duration

	stop    chan struct{} // stops the writers
	stopped atomic.Bool
	writers sync.WaitGroup
	quit    chan struct{} // stops the watchers, once the writers stopped
	quitted atomic.Bool
	watches sync.WaitGroup

	mu        sync.Mutex
	submitted int
	confirmed []confirmation
	changed   chan struct{} // closed and replaced on each confirmation
	clock     uint64
}

func newWorkload(t testing.TB, clients []*client, homes []int, pace time.Duration) *workload {
	w := &workload{t: t, clients: clients, homes: homes, pace: pace,
		stop: make(chan struct{}), quit: make(chan struct{}), changed: make(chan struct{})}
	for k, c := range clients {
		handles := make(chan *apersync.Handle, 1<<16)
		w.writers.Go(func() { w.write(c, handles) })
		w.watches.Go(func() { w.watch(k, handles) })
	}
	t.Cleanup(w.halt)
	return w
}

func (w *workload) write(c *client, handles chan<- *apersync.Handle) {
	defer close(handles)
	pace := time.NewTicker(w.pace)
	defer pace.Stop()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		h, err := c.Submit(add1)
		if !assert.NoError(w.t, err) {
			return
		}
		w.mu.Lock()
		w.submitted++
		w.mu.Unlock()
		handles <- h
		select {
		case <-pace.C:
		case <-w.stop:
			return
		}
	}
}

// watch records the confirmations of client k's handles, in the order it submitted them.
func (w *workload) watch(k int, handles <-chan *apersync.Handle) {
	for h := range handles {
		select {
		case <-h.Done():
		case <-w.quit:
			// The rest are confirmed by then (see finish), or the test failed.
			select {
			case <-h.Done():
			default:
				continue
			}
		}
		if err := h.Err(); err != nil {
			w.t.Errorf("client %d: transition %d rejected: %v", k, h.Local(), err)
			continue
		}
		w.mu.Lock()
		w.clock++
		w.confirmed = append(w.confirmed, confirmation{client: k, seq: h.Seq(), at: w.clock, when: time.Now()})
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
}

// stopWriters stops the writers and waits for them. It is idempotent.
func (w *workload) stopWriters() {
	if w.stopped.CompareAndSwap(false, true) {
		close(w.stop)
	}
	w.writers.Wait()
}

// halt stops the writers, then the watchers, and waits for them. It is idempotent.
func (w *workload) halt() {
	w.stopWriters()
	if w.quitted.CompareAndSwap(false, true) {
		close(w.quit)
	}
	w.watches.Wait()
}

// snapshot returns the confirmations so far and a channel closed at the next one.
func (w *workload) snapshot() ([]confirmation, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.confirmed[:len(w.confirmed):len(w.confirmed)], w.changed
}

// waitFor waits, up to within, until cond holds of the confirmations, and returns them.
func (w *workload) waitFor(within time.Duration, what string, cond func([]confirmation) bool) []confirmation {
	w.t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		cs, changed := w.snapshot()
		if cond(cs) {
			return cs
		}
		select {
		case <-changed:
		case <-deadline.C:
			w.t.Fatalf("%s: not within %v (%d confirmations)", what, within, len(cs))
		}
	}
}

// count is how many of cs went to a client beside a member for which side is true.
func (w *workload) count(cs []confirmation, side func(member int) bool) int {
	n := 0
	for _, c := range cs {
		if side(w.homes[c.client]) {
			n++
		}
	}
	return n
}

// finish stops the writers, waits until every client has every transition confirmed and all
// are at the same Seq, and checks that the room holds each confirmed transition exactly once:
// the Seqs of the confirmations are 1 to the room's Seq, each once, and every replica holds
// their sum.
func (w *workload) finish(within time.Duration) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), within)
	defer cancel()
	w.stopWriters()
	for k, c := range w.clients {
		require.NoError(w.t, c.Sync(ctx), "client %d", k)
	}
	w.halt()
	settle(w.t, w.clients)
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Len(w.t, w.confirmed, w.submitted, "every transition submitted is confirmed")
	seen := make(map[uint64]int, len(w.confirmed))
	for _, c := range w.confirmed {
		if other, dup := seen[c.seq]; dup {
			w.t.Errorf("Seq %d confirmed to client %d and to client %d", c.seq, other, c.client)
		}
		seen[c.seq] = c.client
	}
	n := uint64(len(w.confirmed))
	for k, c := range w.clients {
		assert.Equal(w.t, n, c.Seq(), "client %d: one Seq per transition", k)
		assert.Equal(w.t, int64(n), c.State().Value(), "client %d: every transition once", k)
	}
	for seq := range seen {
		assert.LessOrEqual(w.t, seq, n, "a confirmation beyond the room's last Seq")
	}
}

// longestGap returns the longest time between two confirmations (to any client) seen from
// from to until, counting from from.
func (w *workload) longestGap(from, until time.Time) time.Duration {
	cs, _ := w.snapshot()
	var gap time.Duration
	last := from
	for _, c := range cs { // in the order seen
		if c.when.Before(from) || c.when.After(until) {
			continue
		}
		gap = max(gap, c.when.Sub(last))
		last = c.when
	}
	return gap
}
