package sync

import (
	"context"
	stdsync "sync"
	"time"

	"github.com/aper-go/aper/transport"
)

// outq is a connection's outgoing queue of encoded frames. Producers (a room, a client's Apply)
// push without blocking and without ever touching the network; one writer goroutine takes what is
// queued and sends it, coalescing frames into as few transport messages as fit. No lock is held
// while sending.
type outq struct {
	mu       stdsync.Mutex
	frames   [][]byte
	limit    int  // most frames queued at once; 0 means no limit
	closing  bool // send what is queued, then close
	overflow bool
	signal   chan struct{}
}

func newOutq(limit int) *outq {
	return &outq{limit: limit, signal: make(chan struct{}, 1)}
}

// push queues frames. It returns false, queuing nothing, if the queue is closing or already
// holds limit frames that the writer has not taken (a burst onto a queue that keeps up, such as
// a resume's catch-up, is fine); the queue then counts as overflowed and the caller cuts the
// connection.
func (q *outq) push(frames ...[]byte) bool {
	q.mu.Lock()
	if q.closing || q.overflow {
		q.mu.Unlock()
		return false
	}
	if q.limit > 0 && len(q.frames) >= q.limit {
		q.overflow = true
		q.mu.Unlock()
		return false
	}
	q.frames = append(q.frames, frames...)
	q.mu.Unlock()
	q.wake()
	return true
}

// closeAfterFlush makes the writer send what is queued and then stop.
func (q *outq) closeAfterFlush() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.wake()
}

func (q *outq) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take swaps the queued frames for spare (emptied) and reports whether the writer should stop
// after sending them.
func (q *outq) take(spare [][]byte) (frames [][]byte, stop bool) {
	q.mu.Lock()
	frames = q.frames
	clear(spare)
	q.frames = spare[:0]
	stop = q.closing || q.overflow
	q.mu.Unlock()
	return frames, stop
}

// maxCoalesce bounds a coalesced message, below the transport's message limit.
const maxCoalesce = 256 << 10

// writeLoop sends what q holds over conn until ctx ends, the queue closes, or a send fails. tick,
// if not nil, makes it call onTick and send the frame it returns (a ping). It returns the reason
// it stopped; it does not close conn.
func writeLoop(ctx context.Context, conn transport.Conn, w *wire, q *outq, maxMsg int, tick <-chan time.Time, onTick func() []byte) error {
	limit := min(maxMsg, maxCoalesce)
	var (
		msg   []byte
		spare [][]byte
	)
	send := func() error {
		if len(msg) == 0 {
			return nil
		}
		err := conn.Send(ctx, msg)
		msg = msg[:0]
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-q.signal:
		case <-tick:
			if onTick != nil {
				if f := onTick(); f != nil {
					q.push(f)
				}
			}
			continue
		}
		frames, stop := q.take(spare)
		for _, f := range frames {
			if len(msg) > 0 && len(msg)+len(f)+1 > limit {
				if err := send(); err != nil {
					return err
				}
			}
			msg = w.appendFrame(msg, f)
		}
		if err := send(); err != nil {
			return err
		}
		spare = frames
		if cap(msg) > 4*limit {
			msg = nil
		}
		if stop {
			return nil
		}
	}
}
