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

// room is the goroutine layer of one room: an inbox, and one loop (run) that feeds the room's
// core and carries out its output. Its goroutine owns the core; the core itself does no I/O.
type room[S aper.StateMachine[S, T], T any] struct {
	name  string
	srv   *Server[S, T]
	inbox chan roomMsg[T]
	done  chan struct{} // closed when run returns
	refs  int           // under srv.mu: connections and calls holding the room
	claim Claim         // its ownership in a cluster (see WithOwnership), else nil

	// sendMu orders senders against the room's end: a sender holds it (read) while it puts a
	// message in the inbox; stop sets stopped under it (write), then answers what is left in
	// the inbox, so that no message is left there unanswered.
	sendMu  stdsync.RWMutex
	stopped bool

	snapWait   []snapshotWait[S] // Snapshot calls answered once the batch is durable
	submitWait []submitWait      // Submit calls, the same (follow.go)

	core   *roomCore[S, T]
	conns  map[sessionID]*serverConn // the connections joined, from their join to their leave
	lastID sessionID

	met *roomMetrics // nil without WithMetrics

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
	msgRestore // Server.Restore
	msgControl // Server.Kick, Server.Reauthorize
	msgSeq     // Server.Seq: reply is a chan seqReply
)

type roomMsg[T any] struct {
	kind  msgKind
	sc    *serverConn
	hello *frame
	batch batch[T]
	reply any // chan snapshotReply[S]; *controlMsg for msgControl
	// restore is a *restoreMsg[S] for msgRestore.
	restore any
	at      time.Time // when a submit arrived, with metrics
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
	r.failSubmits(ErrServerClosed)
	for {
		select {
		case m := <-r.inbox:
			switch m.kind {
			case msgJoin, msgSubmit:
				m.sc.end(roomStopped(r.name))
			case msgSnapshot, msgRestore:
				m.reply.(chan snapshotReply[S]) <- snapshotReply[S]{err: ErrServerClosed}
			case msgServerSubmit:
				m.reply.(*submitRequest[T]).reply <- submitReply{err: ErrServerClosed}
			}
		default:
			return
		}
	}
}

// roomStopped is the reason a connection gets when its room stops under it, not for an error of
// its own: its client reconnects, to the room loaded anew.
func roomStopped(name string) *ServerError {
	return &ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q stopped", name)}
}

// snapshotWait is a Snapshot call waiting for the batch that answers it to be durable.
type snapshotWait[S any] struct {
	reply chan snapshotReply[S]
	rep   snapshotReply[S]
}

// maxBatch bounds how many inbox messages one loop iteration handles before delivering.
const maxBatch = 256

// run loads the room and runs its loop until the room ends: the server closes, the room unloads
// after its idle time, or the core stops (shutdown, a failed journal, a panic in user code).
func (r *room[S, T]) run() {
	s := r.srv
	r.snapDone = make(chan struct{})
	close(r.snapDone)
	defer func() { <-r.snapDone }()
	if err := r.open(); err != nil {
		r.fail(err)
		return
	}
	var (
		idle  *time.Timer
		idleC <-chan time.Time
		wake  *time.Timer
		wakeC <-chan time.Time
	)
	defer func() {
		if idle != nil {
			idle.Stop()
		}
		if wake != nil {
			wake.Stop()
		}
	}()
	for {
		// One step: the time, then the core's output carried out.
		now := s.cfg.now()
		if next, ok := r.core.tick(now); ok {
			d := max(next.Sub(now), 0)
			if wake == nil {
				wake = time.NewTimer(d)
			} else {
				wake.Reset(d)
			}
			wakeC = wake.C
		} else {
			wakeC = nil
		}
		if !r.carryOut() {
			return
		}
		switch {
		case s.cfg.roomIdle < 0 || !r.core.idle():
			idleC = nil
		case idleC != nil:
		case idle == nil:
			idle = time.NewTimer(s.cfg.roomIdle)
			idleC = idle.C
		default:
			idle.Reset(s.cfg.roomIdle)
			idleC = idle.C
		}

		select {
		case <-s.ctx.Done():
			s.forget(r)
			return
		case <-idleC:
			idleC = nil
			if r.core.idle() && s.tryUnload(r) {
				r.releaseJournal()
				return
			}
		case <-wakeC:
			wakeC = nil
		case <-r.lostC():
			r.core.stop(errOwnershipLost, errMoved(r.name))
		case m := <-r.inbox:
			r.handle(m)
		drain:
			for i := 0; i < maxBatch && !r.core.halted(); i++ {
				select {
				case m := <-r.inbox:
					r.handle(m)
				default:
					break drain
				}
			}
		}
	}
}

// open makes the room's core: the state from the factory, then, with a journal, what the journal
// holds. Its error is the reason joins are refused with (see fail).
func (r *room[S, T]) open() error {
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
		return fmt.Errorf("aper/sync: room %q: %w", r.name, err)
	}
	var permit func(Identity, S, T) error
	if s.permit != nil {
		permit = func(id Identity, st S, t T) error { return s.permit(id, r.name, st, t) }
	}
	var reader logReader[T]
	if j := s.cfg.journal; j != nil {
		reader = journalLog[T]{ctx: s.ctx, j: j, room: r.name}
	}
	r.conns = make(map[sessionID]*serverConn)
	var stats *roomStats
	if s.met != nil {
		r.met = s.met.forRoom(r.name)
		stats = &r.met.stats
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
		reader:        reader,
		stats:         stats,
	})
	if j := s.cfg.journal; j != nil {
		if err := catch("rebuilding the room", func() error { return r.load(s.ctx, j) }); err != nil {
			if p := (*panicError)(nil); errors.As(err, &p) {
				s.logPanic(r.name, p)
				err = fmt.Errorf("aper/sync: room %q: internal error", r.name)
			} else if p := r.core.broken; p != nil {
				s.logPanic(r.name, p)
				err = fmt.Errorf("aper/sync: room %q: internal error", r.name)
			} else if s.cfg.owners != nil {
				err = retryableLoad{err}
			}
			return err
		}
	}
	r.core.replayed(s.cfg.now())
	return nil
}

// handle feeds one message to the core.
func (r *room[S, T]) handle(m roomMsg[T]) {
	now := r.srv.cfg.now()
	switch m.kind {
	case msgJoin:
		r.lastID++
		m.sc.id = r.lastID
		r.conns[m.sc.id] = m.sc
		r.core.join(m.sc.id, m.sc.wire, m.hello, m.sc.ident, now)
	case msgSubmit:
		m.sc.inflight.Add(-int64(len(m.batch.subs)))
		if r.met != nil && len(m.batch.subs) > 0 {
			r.met.stats.submitted = append(r.met.stats.submitted, submitTime{at: m.at, n: len(m.batch.subs)})
		}
		r.core.submit(m.sc.id, m.batch, now)
	case msgLeave:
		delete(r.conns, m.sc.id)
		r.core.leave(m.sc.id, now)
	case msgSnapshot:
		// Answered by carryOut, once what the state holds is durable.
		if st, seq, ok := r.core.cloneState(); ok {
			r.snapWait = append(r.snapWait, snapshotWait[S]{reply: m.reply.(chan snapshotReply[S]),
				rep: snapshotReply[S]{state: st, seq: seq}})
		}
	case msgShutdown:
		r.core.stop(ErrServerClosed, errShuttingDown)
	case msgRestore:
		// Answered by carryOut, once the restore is durable.
		rm := m.restore.(*restoreMsg[S])
		rep := snapshotReply[S]{seq: r.core.restoreTo(rm.state, rm.data, rm.from, now)}
		if rep.seq == 0 {
			rep.err = ErrServerClosed
		}
		r.snapWait = append(r.snapWait, snapshotWait[S]{reply: m.reply.(chan snapshotReply[S]), rep: rep})
	case msgControl:
		cm := m.reply.(*controlMsg)
		cm.reply <- controlReply{closed: r.core.control(cm, now)}
	case msgSeq:
		m.reply.(chan seqReply) <- seqReply{seq: r.core.seq}
	case msgServerSubmit:
		r.serverSubmit(m.reply.(*submitRequest[T]))
	}
}

// carryOut takes the core's output and carries it out: the records made durable first (with a
// journal), then the Snapshot calls answered and each session's frames queued on its
// connection, one push per connection, no network I/O. If the journal fails, nothing of the
// batch goes out: the core is stopped, which closes every connection (its client reconnects and
// re-sends what is pending, to the room rebuilt from the journal). carryOut reports false once
// the core has stopped: the room ends, and this is the one way a loaded room ends but for the
// server's close and an idle unload.
func (r *room[S, T]) carryOut() bool {
	s := r.srv
	rd := r.core.takeReady()
	for _, p := range rd.panics {
		s.logPanic(r.name, p)
	}
	if rd.stopped != nil {
		var p *panicError
		switch {
		case errors.As(rd.stopped, &p):
			s.logPanic(r.name, p)
		case !errors.Is(rd.stopped, ErrServerClosed) && s.ctx.Err() == nil:
			s.cfg.logger.Error("aper/sync: room stopped", "room", r.name, "err", rd.stopped)
		}
		s.forget(r) // the next join loads the room anew
		r.failSubmits(ErrServerClosed)
		r.route(rd.sends)
		r.core.recycle(rd)
		return false
	}
	if j := s.cfg.journal; j != nil && len(rd.records) > 0 {
		start := time.Now()
		err := r.persist(j, rd.records)
		if err == nil {
			r.met.appended(time.Since(start))
		}
		if err != nil {
			r.core.recycle(rd)
			r.core.stop(err, &ServerError{Code: codeRoom, Message: err.Error()})
			return r.carryOut()
		}
		r.maybeSnapshot(j)
	}
	for _, w := range r.snapWait {
		w.reply <- w.rep
	}
	clear(r.snapWait)
	r.snapWait = r.snapWait[:0]
	r.answerSubmits()
	r.route(rd.sends)
	r.core.recycle(rd)
	if r.met != nil {
		r.met.flush(time.Now())
	}
	return true
}

// route queues each send on its session's connection. A connection whose queue overflows is cut
// (its client gets the reason; its reader then tells the room that it left); a closing one drops
// what comes after the frame that says why. A session whose connection has left gets nothing.
func (r *room[S, T]) route(sends []send) {
	for i := range sends {
		sd := &sends[i]
		sc := r.conns[sd.to]
		if sc == nil {
			continue
		}
		sc.q.pushItems(sd.items)
		if sd.close != nil {
			sc.q.closeAfterFlush(sd.close)
		}
	}
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
				se := &ServerError{Code: codeRoom, Message: err.Error(), Fatal: !errors.As(err, new(retryableLoad))}
				if errors.Is(err, ErrNoRoom) {
					se.Code, se.Fatal = codeNoRoom, true
				}
				m.sc.end(se)
			case msgSnapshot, msgRestore:
				m.reply.(chan snapshotReply[S]) <- snapshotReply[S]{err: err}
			case msgControl:
				m.reply.(*controlMsg).reply <- controlReply{} // no connection joined
			case msgSeq:
				m.reply.(chan seqReply) <- seqReply{err: err}
			case msgServerSubmit:
				m.reply.(*submitRequest[T]).reply <- submitReply{err: err}
			case msgShutdown:
				return
			}
		}
		if s.tryUnload(r) {
			return
		}
	}
}
