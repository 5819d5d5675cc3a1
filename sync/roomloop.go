package sync

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
)

// room is the goroutine layer of one room: an inbox, and the loop that feeds the core.
type room[S aper.StateMachine[S, T], T any] struct {
	name  string
	srv   *Server[S, T]
	inbox chan roomMsg[T]
	done  chan struct{} // closed when run returns
	refs  int           // under srv.mu: connections and calls holding the room

	// sendMu orders senders against the room's end: a sender holds it (read) while it puts a
	// message in the inbox; stop sets stopped under it (write), then answers what is left in
	// the inbox, so that no message is left there unanswered.
	sendMu  stdsync.RWMutex
	stopped bool

	snapWait []snapshotWait[S] // Snapshot calls answered once the batch is durable

	core    *roomCore[S, T]
	touched []*serverConn

	entries  []journal.Entry
	snapSeq  uint64        // the Seq of the last snapshot saved or being saved
	snapDone chan struct{} // closed when the snapshot being saved is done
}

type msgKind uint8

const (
	msgJoin msgKind = iota + 1
	msgSubmit
	msgLeave
	msgSnapshot
	msgShutdown
)

type roomMsg[T any] struct {
	kind        msgKind
	sc          *serverConn
	hello       *frame
	subs        []submission[T]
	presence    raw // with hasPresence: the connection's new presence value (after subs)
	hasPresence bool
	reply       any // chan snapshotReply[S]
}

type submission[T any] struct {
	local  uint64
	t      T
	refuse string // a refusal code, when the reader refused it already
	why    string
}

// send passes m to the room, or reports false if the room has stopped.
func (r *room[S, T]) send(m roomMsg[T]) bool {
	return r.sendCtx(context.Background(), m) == nil
}

// sendCtx passes m to the room. It returns ErrServerClosed if the room has stopped (or stops
// first), and ctx's cause if ctx ends first. A message it passed is handled
// by the room, or answered by stop.
func (r *room[S, T]) sendCtx(ctx context.Context, m roomMsg[T]) error {
	r.sendMu.RLock()
	defer r.sendMu.RUnlock()
	if r.stopped {
		return ErrServerClosed
	}
	select {
	case r.inbox <- m:
		return nil
	case <-r.done:
		return ErrServerClosed
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// stop ends the room after run returned: later sends fail, and the messages still in the
// inbox are answered. A join gets a non-fatal error (its client reconnects, to the room loaded
// anew), a submit closes its connection (its client re-sends on the next one), a Snapshot call
// gets ErrServerClosed.
func (r *room[S, T]) stop() {
	close(r.done) // wakes senders blocked on a full inbox
	r.sendMu.Lock()
	r.stopped = true
	r.sendMu.Unlock()
	for _, w := range r.snapWait {
		w.reply <- snapshotReply[S]{err: ErrServerClosed}
	}
	r.snapWait = nil
	for {
		select {
		case m := <-r.inbox:
			switch m.kind {
			case msgJoin:
				m.sc.end(&ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q stopped", r.name)})
			case msgSubmit:
				m.sc.end(&ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q stopped", r.name)})
			case msgSnapshot:
				m.reply.(chan snapshotReply[S]) <- snapshotReply[S]{err: ErrServerClosed}
			}
		default:
			return
		}
	}
}

// snapshotWait is a Snapshot call waiting for the batch that answers it to be durable.
type snapshotWait[S any] struct {
	reply chan snapshotReply[S]
	rep   snapshotReply[S]
}

// maxBatch bounds how many inbox messages one loop iteration handles before delivering.
const maxBatch = 256

func (r *room[S, T]) run() {
	s := r.srv
	var state S
	err := catch("the room factory", func() (err error) {
		state, err = s.factory(s.ctx, r.name)
		return err
	})
	if err != nil {
		if p := (*panicError)(nil); errors.As(err, &p) {
			s.logPanic(r.name, p)
			err = errors.New("internal error")
		}
		r.fail(fmt.Errorf("aper/sync: room %q: %w", r.name, err))
		return
	}
	var permit func(Identity, S, T) error
	if s.permit != nil {
		permit = func(id Identity, st S, t T) error { return s.permit(id, r.name, st, t) }
	}
	r.core = newRoomCore(r.name, state, roomConfig[S, T]{
		logSize:       s.cfg.logSize,
		maxRejections: s.cfg.maxRejects,
		newID:         newClientID,
		permit:        permit,
		rate:          s.cfg.rate,
		burst:         s.cfg.burst,
		maxClients:    s.cfg.maxClients,
		grace:         s.cfg.leaveGrace,
		presenceEvery: s.cfg.presenceEvery,
		keepRecords:   s.cfg.journal != nil,
		chunk:         chunkSize(s.cfg.maxMessage),
	})
	r.snapDone = make(chan struct{})
	close(r.snapDone)
	defer func() { <-r.snapDone }()
	if j := s.cfg.journal; j != nil {
		if err := catch("rebuilding the room", func() error { return r.load(s.ctx, j) }); err != nil {
			if p := (*panicError)(nil); errors.As(err, &p) {
				s.logPanic(r.name, p)
				err = fmt.Errorf("aper/sync: room %q: internal error", r.name)
			} else if p := r.core.broken; p != nil {
				s.logPanic(r.name, p)
				err = fmt.Errorf("aper/sync: room %q: internal error", r.name)
			}
			r.fail(err)
			return
		}
		r.core.tail = r.journalTail(j)
	}
	r.core.replayed(s.cfg.now())
	// broken stops a room whose state may be half-changed by a panic in user code.
	broken := func() bool {
		if r.core.broken == nil {
			return false
		}
		r.crashPanic()
		return true
	}
	var (
		idle  *time.Timer
		idleC <-chan time.Time
		wake  *time.Timer
		wakeC <-chan time.Time
		busy  bool // a timer or a grace period is running: stay loaded
	)
	// schedule fires what is due and arms wake for what comes next.
	schedule := func() {
		defer func() {
			if v := recover(); v != nil {
				r.core.crashed(recovered("a Timer or Membership method", v), nil)
			}
		}()
		now := s.cfg.now()
		next, ok := r.core.fireTimers(now)
		busy = ok
		if at, ok2 := r.core.expireMembers(now); ok2 && (!ok || at.Before(next)) {
			next, ok = at, true
		}
		if at, ok2 := r.core.flushPresence(now); ok2 && (!ok || at.Before(next)) {
			next, ok = at, true
		}
		busy = busy || r.core.away()
		if !ok {
			wakeC = nil
			return
		}
		d := max(next.Sub(now), 0)
		if wake == nil {
			wake = time.NewTimer(d)
		} else {
			wake.Reset(d)
		}
		wakeC = wake.C
	}
	armIdle := func() {
		if s.cfg.roomIdle < 0 || !r.core.empty() || busy {
			idleC = nil
			return
		}
		if idleC != nil {
			return
		}
		if idle == nil {
			idle = time.NewTimer(s.cfg.roomIdle)
		} else {
			idle.Reset(s.cfg.roomIdle)
		}
		idleC = idle.C
	}
	defer func() {
		if idle != nil {
			idle.Stop()
		}
		if wake != nil {
			wake.Stop()
		}
	}()
	schedule()
	if broken() || !r.deliver() {
		return
	}
	armIdle()
	for {
		select {
		case <-s.ctx.Done():
			r.srv.forget(r)
			return
		case <-idleC:
			idleC = nil
			if r.core.empty() && !busy && s.tryUnload(r) {
				r.releaseJournal()
				return
			}
		case <-wakeC:
			wakeC = nil
			schedule()
			if broken() || !r.deliver() {
				return
			}
			armIdle()
		case m := <-r.inbox:
			stop := r.handle(m)
		drain:
			for i := 0; i < maxBatch && !stop; i++ {
				select {
				case m := <-r.inbox:
					stop = r.handle(m)
				default:
					break drain
				}
			}
			if !stop {
				schedule()
			}
			if broken() || !r.deliver() {
				return
			}
			if stop {
				r.srv.forget(r)
				return
			}
			armIdle()
		}
	}
}

// handle feeds one message to the core. It reports whether the room must stop (shutdown, or a
// panic in user code that left the core broken).
func (r *room[S, T]) handle(m roomMsg[T]) (stop bool) {
	defer func() {
		if v := recover(); v != nil {
			var by *session
			if m.kind == msgSubmit && m.sc.sess != nil {
				by = m.sc.sess
			}
			r.core.crashed(recovered("the room's state", v), by)
		}
		for _, p := range r.core.panics {
			r.srv.logPanic(r.name, p)
		}
		clear(r.core.panics)
		r.core.panics = r.core.panics[:0]
		if r.core.broken != nil {
			stop = true
		}
	}()
	now := r.srv.cfg.now()
	switch m.kind {
	case msgJoin:
		m.sc.sess = r.core.join(m.sc, m.sc.wire, m.hello, m.sc.ident, now)
	case msgSubmit:
		m.sc.inflight.Add(-int64(len(m.subs)))
		if m.sc.sess == nil {
			return false
		}
		for _, sub := range m.subs {
			if sub.refuse != "" {
				r.core.refuse(m.sc.sess, sub.local, sub.refuse, sub.why, now)
			} else {
				r.core.submit(m.sc.sess, sub.local, sub.t, now)
			}
		}
		if m.hasPresence {
			r.core.setPresence(m.sc.sess, m.presence, now)
		}
	case msgLeave:
		if m.sc.sess != nil {
			r.core.leave(m.sc.sess, now)
		}
	case msgSnapshot:
		// Answered by deliver, once what the state holds is durable.
		r.snapWait = append(r.snapWait, snapshotWait[S]{reply: m.reply.(chan snapshotReply[S]),
			rep: snapshotReply[S]{state: r.core.state.Clone(), seq: r.core.seq}})
	case msgShutdown:
		for len(r.core.sessions) > 0 {
			sess := r.core.sessions[0]
			r.core.closeWith(sess, errShuttingDown.Code, errShuttingDown.Message, errShuttingDown.Fatal)
			r.core.detach(sess)
		}
		return true
	}
	return false
}

// deliver hands the core's outputs to the connections' queues: one push per connection per
// batch, no network I/O. A connection whose queue overflows is cut. With a journal, the batch's
// records are made durable first; if that fails, nothing is delivered, every connection is
// closed (its client reconnects and re-sends what is pending) and the room stops, to be rebuilt
// from the journal on its next join: deliver then reports false.
func (r *room[S, T]) deliver() bool {
	rd := r.core.takeReady()
	if j := r.srv.cfg.journal; j != nil && len(rd.records) > 0 {
		if err := r.persist(j, rd.records); err != nil {
			r.crash(err)
			return false
		}
		r.maybeSnapshot(j)
	}
	for _, w := range r.snapWait {
		w.reply <- w.rep
	}
	clear(r.snapWait)
	r.snapWait = r.snapWait[:0]
	stage := func(sc *serverConn, b []byte) {
		if !sc.staged {
			sc.staged = true
			r.touched = append(r.touched, sc)
		}
		sc.stage = append(sc.stage, outItem{frame: b})
	}
	for i := range rd.outputs {
		o := &rd.outputs[i]
		if o.ephemeral {
			for _, sess := range r.core.sessions {
				if sess != o.except && o.frames[sess.wire.idx] != nil {
					stage(sess.peer.(*serverConn), o.frames[sess.wire.idx])
				}
			}
			continue
		}
		if o.to != nil {
			sc := o.to.peer.(*serverConn)
			stage(sc, o.frame)
			if o.snap != nil {
				sc.stage[len(sc.stage)-1].snap = o.snap
			}
			if o.close {
				sc.closeAfter = true
				if sc.closeWhy == nil && o.reason != nil {
					sc.closeWhy = o.reason
				}
			}
			continue
		}
		for _, sess := range r.core.sessions {
			if sess.since < o.seq {
				stage(sess.peer.(*serverConn), o.frames[sess.wire.idx])
			}
		}
	}
	for _, sc := range r.touched {
		// A queue that overflows sends its client the reason and stops; its reader then tells
		// the room that it left. A closing one drops what comes after the frame that says why.
		sc.q.pushItems(sc.stage)
		if sc.closeAfter {
			sc.q.closeAfterFlush(sc.closeWhy)
		}
		clear(sc.stage)
		sc.stage = sc.stage[:0]
		sc.staged = false
		sc.closeAfter = false
		sc.closeWhy = nil
	}
	clear(r.touched)
	r.touched = r.touched[:0]
	r.core.recycle(rd)
	return true
}

// releaser is a journal that can close what it holds open for a room (journal.Disk).
type releaser interface{ Release(room string) error }

// releaseJournal tells the journal that the room unloaded, so that it closes the room's files.
func (r *room[S, T]) releaseJournal() {
	j, ok := r.srv.cfg.journal.(releaser)
	if !ok {
		return
	}
	<-r.snapDone // a snapshot being saved still writes to the room
	if err := j.Release(r.name); err != nil && r.srv.ctx.Err() == nil {
		r.srv.cfg.logger.Warn("aper/sync: journal release failed", "room", r.name, "err", err)
	}
}

// logPanic reports a panic recovered from user code, with its stack.
func (s *Server[S, T]) logPanic(room string, p *panicError) {
	s.cfg.logger.Error("aper/sync: panic in user code", "room", room, "in", p.what, "panic", fmt.Sprint(p.value), "stack", string(p.stack))
}

// crashPanic stops a room whose state a panic in user code may have left half-changed. Nothing
// of the batch is delivered or journaled. The client whose transition panicked gets a fatal error
// (it must not re-send it into the same panic); the others get a non-fatal one and reconnect to
// the room rebuilt from the journal, or, without a journal (the state is lost), a fatal one.
func (r *room[S, T]) crashPanic() {
	s := r.srv
	p := r.core.broken
	s.logPanic(r.name, p)
	s.forget(r)
	rd := r.core.takeReady()
	r.core.recycle(rd)
	fatal := s.cfg.journal == nil
	msg := fmt.Sprintf("aper/sync: room %q stopped: internal error", r.name)
	for _, sess := range r.core.sessions {
		sc := sess.peer.(*serverConn)
		sc.end(&ServerError{Code: codeRoom, Message: msg, Fatal: fatal || sess == r.core.brokenBy})
	}
	if by := r.core.brokenBy; by != nil && by.gone() {
		by.peer.(*serverConn).end(&ServerError{Code: codeRoom, Message: msg, Fatal: true})
	}
}

// crash stops a room whose journal failed: every connection is closed with a non-fatal error, so
// that its client reconnects to the room rebuilt from the journal.
func (r *room[S, T]) crash(err error) {
	s := r.srv
	if s.ctx.Err() == nil {
		s.cfg.logger.Error("aper/sync: room stopped", "room", r.name, "err", err)
	}
	s.forget(r)
	for _, sess := range r.core.sessions {
		sess.peer.(*serverConn).end(&ServerError{Code: codeRoom, Message: err.Error()})
	}
	// Later messages find the room gone (send reports false once run returns): their
	// connections close, and their clients reconnect to a room rebuilt from the journal.
}

// fail answers every join with the factory's error until nobody holds the room any more.
func (r *room[S, T]) fail(err error) {
	s := r.srv
	s.cfg.logger.Warn("aper/sync: room failed to load", "room", r.name, "err", err)
	s.forget(r) // the next join tries the factory again
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		case m := <-r.inbox:
			switch m.kind {
			case msgJoin:
				m.sc.end(&ServerError{Code: codeRoom, Message: err.Error(), Fatal: true})
			case msgSnapshot:
				m.reply.(chan snapshotReply[S]) <- snapshotReply[S]{err: err}
			case msgShutdown:
				return
			}
		}
		if s.tryUnload(r) {
			return
		}
	}
}
