package sync

import (
	"context"
	"fmt"
	stdsync "sync"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// EventKind says what an [Event] reports.
type EventKind uint8

// The kinds of events.
const (
	// EventRemote: the server ordered a transition that is not one of this client's pending
	// ones (another client's, or this client's made by an earlier instance) and it is now in
	// the confirmed state. Seq, Client, Time and Transition are set.
	EventRemote EventKind = iota + 1
	// EventConfirmed: the server ordered one of this client's transitions. Seq, Client, Time,
	// Transition (as the server applied it) and Handle (of the Submit that made it; nil for a
	// transition restored from a client store) are set.
	EventConfirmed
	// EventRebased: remote transitions were ordered before this client's pending ones, which
	// are now rebased on top of them. Seq is the last confirmed Seq and Pending the number of
	// transitions still pending.
	EventRebased
	// EventRejected: the server refused one of this client's transitions, which has left the
	// view. Transition, Handle, Err and Conflict are set as in [Rejection].
	EventRejected
	// EventSnapshot: the client took a snapshot of the room's state at Seq in place of the
	// transitions it had missed (it was away longer than the server's log reaches back).
	EventSnapshot
	// EventLost: the subscription's buffer was full and Lost events were dropped here. Read
	// the client's State to catch up.
	EventLost
)

// String returns the kind's name: "remote", "confirmed", and so on.
func (k EventKind) String() string {
	switch k {
	case EventRemote:
		return "remote"
	case EventConfirmed:
		return "confirmed"
	case EventRebased:
		return "rebased"
	case EventRejected:
		return "rejected"
	case EventSnapshot:
		return "snapshot"
	case EventLost:
		return "lost"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one thing that happened to a Client's state, as a [Subscription] reports it. Which
// fields are set depends on Kind (see the kinds).
type Event[T any] struct {
	Kind       EventKind
	Seq        uint64
	Client     aper.ClientID
	Time       time.Time
	Transition T
	// Handle is the handle of the Submit that made the transition (EventConfirmed,
	// EventRejected), or nil.
	Handle *Handle
	// Err and Conflict are a rejection's reason (EventRejected), as in [Rejection].
	Err      error
	Conflict *conflict.Conflict
	// Pending is the number of transitions pending after a rebase (EventRebased).
	Pending int
	// Lost is the number of events dropped (EventLost).
	Lost int
}

// Handle follows one transition made with [Client.Submit] until the server confirms or rejects
// it. Its methods may be called from any goroutine.
type Handle struct {
	local uint64
	done  chan struct{} // closed once resolved
	seq   uint64        // set before done closes: the Seq it was confirmed at, or 0
	err   error         // set before done closes: why it was rejected, or nil
	stop  <-chan struct{}
}

func newHandle(stop <-chan struct{}) *Handle {
	return &Handle{done: make(chan struct{}), stop: stop}
}

// resolve records the server's verdict; it is called once, under the client's lock.
func (h *Handle) resolve(seq uint64, err error) {
	if h == nil {
		return
	}
	h.seq, h.err = seq, err
	close(h.done)
}

// Local returns the transition's local sequence number: the client numbers its transitions
// 1, 2, 3, ... in the order it applied them.
func (h *Handle) Local() uint64 { return h.local }

// Done is closed once the server has confirmed or rejected the transition.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Seq returns the Seq the server ordered the transition at, or 0 if it has not (yet).
func (h *Handle) Seq() uint64 {
	select {
	case <-h.done:
		return h.seq
	default:
		return 0
	}
}

// Err returns why the server rejected the transition (the Rejection's Err: a
// *conflict.Conflict, a *RefusedError or ErrOutcomeUnknown), or nil if it has not.
func (h *Handle) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}

// Wait waits until the server has confirmed or rejected the transition. It returns nil when it
// was confirmed, the rejection's reason (see Err) when it was rejected, the cause of ctx if ctx
// ends first, and an error matching ErrClosed if the client stops first.
func (h *Handle) Wait(ctx context.Context) error {
	select {
	case <-h.done:
		return h.err
	default:
	}
	select {
	case <-h.done:
		return h.err
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-h.stop:
		select {
		case <-h.done:
			return h.err
		default:
		}
		return fmt.Errorf("aper/sync: wait: %w", ErrClosed)
	}
}

// DefaultEventBuffer is the buffer of a Subscription when Subscribe is given no size.
const DefaultEventBuffer = 1024

// Subscription is one reader's stream of a Client's events, in the order they happened, from
// the moment of Subscribe. Each subscription has its own buffer: the client never waits for a
// subscriber. A subscriber that falls behind by more than its buffer loses the events that do
// not fit: they are dropped and, once the subscriber has read what its buffer holds, it reads
// one EventLost that counts them (then it should read the client's State to catch up) and the
// events after it. Events are buffered before the Sync, Settled and WaitSeq calls they concern
// return and before Handles resolve, so a subscriber that reads with TryNext after those sees
// them.
//
// Its methods may be called from any goroutine; each event goes to one of the readers.
type Subscription[T any] struct {
	mu     stdsync.Mutex
	buf    []Event[T]
	size   int
	lost   int
	closed bool
	ready  chan struct{} // signalled (coalesced) when an event or the close arrives
	drop   func(*Subscription[T])
}

// Subscribe returns a new subscription to the client's events, with a buffer of size events
// (DefaultEventBuffer if size is 0 or less). Close it when done; Close of the client closes it
// too.
func (c *Client[S, T]) Subscribe(size int) *Subscription[T] {
	if size <= 0 {
		size = DefaultEventBuffer
	}
	s := &Subscription[T]{size: size, ready: make(chan struct{}, 1), drop: c.unsubscribe}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		s.closed = true
		close(s.ready)
		return s
	}
	c.subs = append(c.subs, s)
	c.core.watch = true
	return s
}

func (c *Client[S, T]) unsubscribe(s *Subscription[T]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.subs {
		if x == s {
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			break
		}
	}
	c.core.watch = len(c.subs) > 0
}

// publishLocked hands the core's events to every subscription. Called with c.mu held.
func (c *Client[S, T]) publishLocked(evs []Event[T]) {
	if len(evs) == 0 {
		return
	}
	for _, s := range c.subs {
		s.push(evs)
	}
}

// closeSubsLocked closes every subscription (the client stopped). Called with c.mu held.
func (c *Client[S, T]) closeSubsLocked() {
	for _, s := range c.subs {
		s.shut()
	}
	c.subs = nil
	c.core.watch = false
}

func (s *Subscription[T]) push(evs []Event[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, e := range evs {
		if s.lost > 0 || len(s.buf) >= s.size {
			s.lost++
			continue
		}
		s.buf = append(s.buf, e)
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *Subscription[T]) shut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ready)
	}
}

// Ready is signalled (coalesced: a buffer of one) when events may be read, and closed when the
// subscription is; for a select loop around TryNext.
func (s *Subscription[T]) Ready() <-chan struct{} { return s.ready }

// TryNext returns the next event if one is buffered, without waiting.
func (s *Subscription[T]) TryNext() (Event[T], bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) > 0 {
		e := s.buf[0]
		s.buf[0] = Event[T]{}
		s.buf = s.buf[1:]
		if len(s.buf) == 0 {
			s.buf = nil
		}
		return e, true
	}
	if s.lost > 0 {
		e := Event[T]{Kind: EventLost, Lost: s.lost}
		s.lost = 0
		return e, true
	}
	return Event[T]{}, false
}

// Next returns the next event, waiting for one. It returns the cause of ctx if ctx ends first,
// and an error matching ErrClosed once the subscription (or its client) is closed and every
// buffered event has been read.
func (s *Subscription[T]) Next(ctx context.Context) (Event[T], error) {
	for {
		if e, ok := s.TryNext(); ok {
			return e, nil
		}
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return Event[T]{}, fmt.Errorf("aper/sync: next event: %w", ErrClosed)
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return Event[T]{}, context.Cause(ctx)
		}
	}
}

// Close ends the subscription: its buffered events are dropped and Next returns ErrClosed. It is
// idempotent.
func (s *Subscription[T]) Close() error {
	s.drop(s)
	s.shut()
	s.mu.Lock()
	s.buf, s.lost = nil, 0
	s.mu.Unlock()
	return nil
}

// clientWait is a caller of Settled or WaitSeq, woken when ready says so.
type clientWait struct {
	ready func() bool
	ch    chan struct{}
}

// wakeLocked wakes the waits that are ready. Called with c.mu held.
func (c *Client[S, T]) wakeLocked() {
	if len(c.conds) == 0 {
		return
	}
	kept := c.conds[:0]
	for _, w := range c.conds {
		if w.ready() {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	clear(c.conds[len(kept):])
	c.conds = kept
}

// waitFor waits until ready (called with c.mu held) holds.
func (c *Client[S, T]) waitFor(ctx context.Context, op string, ready func() bool) error {
	c.mu.Lock()
	if ready() {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	c.conds = append(c.conds, clientWait{ready: ready, ch: ch})
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.done:
		st := c.Status()
		if st.Err != nil {
			return wrap(st.Err, "%s", op)
		}
		return wrap(ErrClosed, "%s", op)
	}
}

// Settled waits until the client is connected, caught up with the server, and holds no pending
// transition: every transition applied so far is confirmed or rejected, and its handles, events
// and rejections are out. It returns ctx's cause if ctx ends first and the client's error if it
// stops first. A client taken offline with Disconnect does not settle until Reconnect.
func (c *Client[S, T]) Settled(ctx context.Context) error {
	return c.waitFor(ctx, "settled", func() bool {
		return len(c.core.pending) == 0 && c.core.live && c.cur != nil && c.status.State == Connected
	})
}

// WaitSeq waits until the client's confirmed state is at seq or later (see [Server.Seq]).
func (c *Client[S, T]) WaitSeq(ctx context.Context, seq uint64) error {
	return c.waitFor(ctx, "wait for seq", func() bool { return c.core.seq >= seq })
}

// Submit is Apply that also returns a handle to wait on the server's verdict or to find the
// transition again in the events (EventConfirmed, EventRejected).
func (c *Client[S, T]) Submit(t T) (*Handle, error) {
	return c.apply(t)
}

// note records e for the subscribers, if there are any. A rebase is reported after the run of
// remote transitions that caused it, before the next event of another kind.
func (c *clientCore[S, T]) note(e Event[T]) {
	if e.Kind != EventRemote {
		c.noteRebased()
	}
	if c.watch {
		c.events = append(c.events, e)
	}
}

// noteRebased records the EventRebased of the remote transitions noted since the last one.
func (c *clientCore[S, T]) noteRebased() {
	if c.rebased && c.watch && len(c.pending) > 0 {
		c.events = append(c.events, Event[T]{Kind: EventRebased, Seq: c.seq, Pending: len(c.pending)})
	}
	c.rebased = false
}

// reject reports the pending entry p as rejected with r: its handle, the rejections, the events
// and the undo stack (nothing of it is left to undo).
func (c *clientCore[S, T]) reject(p *pendingEntry[T], r Rejection[T]) {
	r.Handle = p.h
	p.h.resolve(0, r.Err)
	if p.ref != 0 {
		c.undo.Forget(p.ref)
	}
	c.rejections = append(c.rejections, r)
	c.note(Event[T]{Kind: EventRejected, Seq: c.seq, Client: c.id, Transition: r.Transition, Handle: p.h,
		Err: r.Err, Conflict: r.Conflict})
}

// settle resolves the pending entry p's handle as confirmed at seq (0: in a snapshot).
func (c *clientCore[S, T]) settle(p *pendingEntry[T], seq uint64) { p.h.resolve(seq, nil) }

// takeEvents returns the events since the last call (none unless watch).
func (c *clientCore[S, T]) takeEvents() []Event[T] {
	c.noteRebased()
	evs := c.events
	c.events = nil
	return evs
}
