package sync

import (
	"context"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/aper-go/aper/transport"
)

// outItem is one entry of an outgoing queue: an encoded frame, or a snapshot transfer whose
// chunk frames the writer encodes one at a time when it reaches it (so that connections that
// receive the same snapshot share its bytes, and each holds at most one chunk frame of it).
type outItem struct {
	frame []byte
	snap  *snapSend
}

// outq is a connection's outgoing queue of encoded frames. Producers (a room, a client's Apply)
// push without blocking and without ever touching the network; one writer goroutine at a time
// takes what is queued and sends it, coalescing frames into as few transport messages as fit: a
// writer that waits for the connection's life (writeLoop), or one that a push onto an idle queue
// starts and that ends when the queue is empty (writeOnDemand). No lock is held while sending.
//
// A queue that passes its limit overflows: what it holds is dropped and replaced by one error
// frame (code "overflow") that the writer sends next, ahead of anything it had not sent yet;
// then the writer stops. If the writer cannot send it within abortGrace (the peer does not read
// at all), the send is cancelled, which closes the connection. The same holds whenever this side
// ends the connection with a reason (closeAfterFlush).
type outq struct {
	mu       stdsync.Mutex
	items    []outItem
	limit    int  // most items queued at once; 0 means no limit
	closing  bool // send what is queued, then stop
	overflow bool
	reason   error         // why this side ends the connection, if it does (see closeAfterFlush)
	wire     *wire         // encodes the overflow's error frame; nil: none is sent
	signal   chan struct{} // wakes a writer that waits (writeLoop); nil with writeOnDemand
	run      func()        // a writer on demand (writeOnDemand), started by a push onto an idle queue
	running  bool          // a writer on demand runs, or the last one has ended

	jumps      atomic.Uint64 // counts jumps: the writer abandons what it took before one
	cancelSend context.CancelCauseFunc
	grace      *time.Timer
}

// abortGrace is how long a writer has to send an overflow's error frame before its send is
// cancelled and the connection closed.
const abortGrace = 5 * time.Second

// newOutq returns a queue of at most limit items (0: no limit). w, if not nil, encodes the error
// frame an overflow sends.
func newOutq(limit int, w *wire) *outq {
	return &outq{limit: limit, wire: w, signal: make(chan struct{}, 1)}
}

// newOutqOnDemand returns a queue like newOutq for writeOnDemand.
func newOutqOnDemand(limit int, w *wire) *outq {
	return &outq{limit: limit, wire: w}
}

// push queues frames and reports whether it did. A closing queue drops them: the connection is
// ending and the frame that says why is already queued. A push that finds limit items that the
// writer has not taken (a burst onto a queue that keeps up, such as a resume's catch-up, is
// fine) overflows the queue: see outq.
func (q *outq) push(frames ...[]byte) bool {
	q.mu.Lock()
	ok := q.admitLocked()
	if ok {
		for _, f := range frames {
			q.items = append(q.items, outItem{frame: f})
		}
	}
	start := q.startLocked()
	q.mu.Unlock()
	q.wake(start)
	return ok
}

// pushItems is push for items.
func (q *outq) pushItems(items []outItem) bool {
	q.mu.Lock()
	ok := q.admitLocked()
	if ok {
		q.items = append(q.items, items...)
	}
	start := q.startLocked()
	q.mu.Unlock()
	q.wake(start)
	return ok
}

// admitLocked reports whether the queue takes more items, overflowing it if it is full.
func (q *outq) admitLocked() bool {
	if q.closing {
		return false
	}
	if q.limit > 0 && len(q.items) >= q.limit {
		q.overflowLocked()
		return false
	}
	return true
}

// overflowLocked drops what the queue holds and queues the overflow's error frame in its place.
func (q *outq) overflowLocked() {
	q.overflow, q.closing = true, true
	reason := &ServerError{Code: codeOverflow,
		Message: "the client fell too far behind: its outgoing queue held as many frames as it may"}
	q.reason = reason
	clear(q.items)
	q.items = q.items[:0]
	if q.wire != nil {
		if b := errorFrame(q.wire, reason); b != nil {
			q.items = append(q.items, outItem{frame: b})
		}
	}
	q.jumps.Add(1)
	q.armGraceLocked()
}

// armGraceLocked gives the writer abortGrace to send what is left once this side ends the
// connection (an overflow, or closeAfterFlush with a reason): a peer that does not read cannot
// hold the writer, and with it the connection's goroutines, for longer.
func (q *outq) armGraceLocked() {
	if (q.overflow || (q.closing && q.reason != nil)) && q.cancelSend != nil && q.grace == nil {
		cancel := q.cancelSend
		q.grace = time.AfterFunc(abortGrace, func() { cancel(q.why()) })
	}
}

// closeAfterFlush makes the writer send what is queued and then stop. reason, if not nil, is why
// this side ends the connection (the first reason given is kept).
func (q *outq) closeAfterFlush(reason error) {
	q.mu.Lock()
	q.closing = true
	if q.reason == nil {
		q.reason = reason
	}
	q.armGraceLocked()
	start := q.startLocked()
	q.mu.Unlock()
	q.wake(start)
}

// why returns the reason this side ends the connection, or nil.
func (q *outq) why() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.reason
}

// startLocked reports whether a writer on demand should start now (the queue holds frames, or
// it closed, and none runs), and marks it as running if so.
func (q *outq) startLocked() bool {
	if q.run == nil || q.running || (len(q.items) == 0 && !q.closing) {
		return false
	}
	q.running = true
	return true
}

// wake starts a writer on demand if start (see startLocked), or wakes a writer that waits.
func (q *outq) wake(start bool) {
	if start {
		go q.run() // owned by the queue's owner, who waits for writeOnDemand's done
		return
	}
	if q.signal == nil {
		return
	}
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take swaps the queued items for spare (emptied) and reports whether the writer should stop
// after sending them, and the jump count they belong to. When it finds nothing to send, a writer
// on demand ends: the queue is idle until the next push starts another.
func (q *outq) take(spare []outItem) (items []outItem, stop bool, jumps uint64) {
	q.mu.Lock()
	items = q.items
	clear(spare)
	q.items = spare[:0]
	stop = q.closing
	jumps = q.jumps.Load()
	if len(items) == 0 && !stop {
		q.running = false
		if q.run != nil {
			q.items = nil // an idle queue keeps no buffer
		}
	}
	q.mu.Unlock()
	return items, stop, jumps
}

// attach registers the writer's send cancellation; detach ends it.
func (q *outq) attach(cancel context.CancelCauseFunc) {
	q.mu.Lock()
	q.cancelSend = cancel
	q.armGraceLocked()
	q.mu.Unlock()
}

func (q *outq) detach() {
	q.mu.Lock()
	q.cancelSend = nil
	if q.grace != nil {
		q.grace.Stop()
	}
	q.mu.Unlock()
}

// maxCoalesce bounds a coalesced message, below the transport's message limit.
const maxCoalesce = 256 << 10

// writer sends what a queue holds over a connection, coalescing frames into as few transport
// messages as fit.
type writer struct {
	ctx   context.Context // the sends' context, which the queue's grace cancels (outq.attach)
	conn  transport.Conn
	w     *wire
	q     *outq
	limit int // bytes in a coalesced message
	msg   []byte
	spare []outItem
}

func newWriter(ctx context.Context, conn transport.Conn, w *wire, q *outq, maxMsg int) *writer {
	return &writer{ctx: ctx, conn: conn, w: w, q: q, limit: min(maxMsg, maxCoalesce)}
}

// send sends the message being coalesced, if any.
func (wr *writer) send() error {
	if len(wr.msg) == 0 {
		return nil
	}
	err := wr.conn.Send(wr.ctx, wr.msg)
	wr.msg = wr.msg[:0]
	if err != nil && wr.ctx.Err() != nil {
		return context.Cause(wr.ctx)
	}
	return err
}

// reserve makes room in the empty message buffer for the first message the items make, in one
// allocation: a writer on demand starts with no buffer, and growing one frame at a time would
// allocate about twice the message in copies. The items after a snapshot, or past the limit,
// go into the same buffer once it is sent.
func (wr *writer) reserve(items []outItem) {
	if len(wr.msg) > 0 {
		return
	}
	n := 0
	for i, it := range items {
		if i > 0 && n+len(it.frame)+1 > wr.limit {
			break
		}
		n += len(it.frame) + 1 // a JSON frame's separator at most
		if it.snap != nil {
			break
		}
	}
	if cap(wr.msg) < n {
		wr.msg = make([]byte, 0, n)
	}
}

// flush sends what the queue holds until it is empty (done is false: for a writer on demand,
// the queue has marked itself idle, and its next push starts another) or it closed and all was
// sent (done, with a nil error), or a send fails (done, with its error).
func (wr *writer) flush() (done bool, err error) {
	for {
		items, stop, jumps := wr.q.take(wr.spare)
		if len(items) == 0 && !stop {
			wr.spare = items
			return false, nil
		}
		jumped := func() bool { return wr.q.jumps.Load() != jumps }
		wr.reserve(items)
		for _, it := range items {
			if len(wr.msg) > 0 && len(wr.msg)+len(it.frame)+1 > wr.limit {
				if err := wr.send(); err != nil {
					return true, err
				}
			}
			wr.msg = wr.w.appendFrame(wr.msg, it.frame)
			if it.snap != nil {
				// The frame announced a snapshot: its chunks follow, each a message.
				if err := wr.send(); err != nil {
					return true, err
				}
				if err := it.snap.send(wr.ctx, wr.conn, wr.w, jumped); err != nil {
					return true, err
				}
			}
			if jumped() {
				break
			}
		}
		wr.spare = items
		if jumped() {
			// An overflow dropped what is left of this batch: send its error frame next.
			wr.msg = wr.msg[:0]
			continue
		}
		if err := wr.send(); err != nil {
			return true, err
		}
		if cap(wr.msg) > 4*wr.limit {
			wr.msg = nil
		}
		if stop {
			return true, nil
		}
	}
}

// writeLoop sends what q holds over conn until ctx ends, the queue closes, or a send fails: a
// writer that waits on its own goroutine for the connection's life. tick, if not nil, makes it
// call onTick and send the frame it returns (a ping). It returns the reason it stopped (nil when
// the queue closed); it does not close conn.
func writeLoop(ctx context.Context, conn transport.Conn, w *wire, q *outq, maxMsg int, tick <-chan time.Time, onTick func() []byte) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	q.attach(cancel)
	defer q.detach()
	wr := newWriter(sctx, conn, w, q, maxMsg)
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
		if done, err := wr.flush(); done {
			return err
		}
	}
}

// writeOnDemand makes q send what is pushed onto it over conn with a writer that runs only
// while the queue holds frames: a push onto an idle queue starts one on a goroutine of its own,
// which ends when the queue is empty, so that an idle connection holds no writer and no
// buffers. When the queue has closed and all was sent, or a send fails (or ctx ends), the last
// writer calls done with the reason it stopped (nil when the queue closed) and no writer starts
// again; done does not close conn. The caller owns the writers: it waits for done, which comes
// once closeAfterFlush was called.
func (q *outq) writeOnDemand(ctx context.Context, conn transport.Conn, w *wire, maxMsg int, done func(error)) {
	sctx, cancel := context.WithCancelCause(ctx)
	run := func() {
		wr := newWriter(sctx, conn, w, q, maxMsg)
		finished, err := wr.flush()
		if !finished {
			return
		}
		q.detach()
		q.mu.Lock()
		q.closing = true // later pushes are dropped; running stays set, so no writer starts
		clear(q.items)
		q.items = nil
		q.mu.Unlock()
		cancel(nil)
		done(err)
	}
	q.mu.Lock()
	q.run = run
	q.cancelSend = cancel
	q.armGraceLocked()
	start := q.startLocked()
	q.mu.Unlock()
	if start {
		go run()
	}
}
