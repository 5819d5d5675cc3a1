// Package inbox is the read-ahead buffer of the network transports: a goroutine of a connection
// reads messages off the wire into an Inbox, and Recv takes them out, so that a cancelled Recv
// loses nothing and control traffic (pings, closing handshakes) is read while the application
// is busy.
package inbox

import (
	"context"
	"sync"
	"sync/atomic"
)

// Inbox is a queue of messages bounded in bytes (it always takes at least one message).
// One goroutine calls Put and Fail; one goroutine at a time calls Get; Close may be called by
// any goroutine.
type Inbox struct {
	limit   int
	closed  error // what Get returns after Close
	mu      sync.Mutex
	items   [][]byte
	bytes   int
	err     error // set by Fail
	after   error // what Get returns after it has returned err once
	arrived chan struct{}
	taken   chan struct{}
	failed  chan struct{}
	done    chan struct{}
	once    sync.Once
	full    atomic.Bool
}

// New returns an Inbox holding at most limit bytes; Get returns closedErr after Close.
func New(limit int, closedErr error) *Inbox {
	return &Inbox{
		limit: limit, closed: closedErr,
		arrived: make(chan struct{}, 1), taken: make(chan struct{}, 1),
		failed: make(chan struct{}), done: make(chan struct{}),
	}
}

// Put adds msg, waiting while the inbox is full. It returns false, dropping msg, once the inbox
// is closed.
func (q *Inbox) Put(msg []byte) bool {
	q.mu.Lock()
	for len(q.items) > 0 && q.bytes+len(msg) > q.limit {
		q.full.Store(true)
		q.mu.Unlock()
		select {
		case <-q.taken:
		case <-q.done:
			q.full.Store(false)
			return false
		}
		q.mu.Lock()
		q.full.Store(false)
	}
	select {
	case <-q.done:
		q.mu.Unlock()
		return false
	default:
	}
	q.items = append(q.items, msg)
	q.bytes += len(msg)
	q.mu.Unlock()
	signal(q.arrived)
	return true
}

// Full reports whether Put is waiting for room.
func (q *Inbox) Full() bool { return q.full.Load() }

// Fail records why the reading stopped. Get returns the queued messages, then err once, then
// after on every later call (err again if after is nil). Only the first Fail counts.
func (q *Inbox) Fail(err, after error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return
	}
	q.err, q.after = err, after
	close(q.failed)
}

// Close makes Get return the closed error and Put return false. It is idempotent.
func (q *Inbox) Close() {
	q.once.Do(func() {
		close(q.done)
		q.mu.Lock()
		q.items, q.bytes = nil, 0
		q.mu.Unlock()
	})
}

// Get returns the next message, blocking until one arrives, the reading fails, the inbox is
// closed, or ctx ends (then it returns ctx.Err() unwrapped).
func (q *Inbox) Get(ctx context.Context) ([]byte, error) {
	for {
		select {
		case <-q.done:
			return nil, q.closed
		default:
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			msg := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.bytes -= len(msg)
			q.mu.Unlock()
			signal(q.taken)
			return msg, nil
		}
		if q.err != nil {
			err := q.err
			if q.after != nil {
				q.err = q.after
			}
			q.mu.Unlock()
			return nil, err
		}
		q.mu.Unlock()
		select {
		case <-q.arrived:
		case <-q.failed:
		case <-q.done:
			return nil, q.closed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
