package sync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// ErrNoJournal marks a call that reads a room's log from the journal (Server.Follow) on a server
// that has none (see WithJournal).
var ErrNoJournal = errors.New("aper/sync: the server has no journal")

// Follow yields room's ordered transitions from Seq from on (0 reads like 1), in order, each
// once, as they become durable, and waits for more, until ctx ends (it then yields
// context.Cause(ctx)) or the server closes (ErrServerClosed). It reads the journal (see
// WithJournal; without one it yields ErrNoJournal), so it resumes from any Seq the journal still
// holds, across restarts of the server: a follower that saw Seq n calls Follow again from n+1.
// A Seq the journal compacted after a snapshot yields an error matching journal.ErrCompacted:
// read the room's state (Snapshot) and follow from its Seq+1. Server events (timers,
// Membership) have no Client. Following a room that has no transition yet waits for its first.
// After an error, the iteration stops.
func (s *Server[S, T]) Follow(ctx context.Context, room string, from uint64) iter.Seq2[aper.Event[T], error] {
	return func(yield func(aper.Event[T], error) bool) {
		j := s.cfg.journal
		if j == nil {
			yield(aper.Event[T]{}, wrap(ErrNoJournal, "follow %q", room))
			return
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(s.ctx, func() { cancel(ErrServerClosed) })
		defer stop()
		next := max(from, 1)
		for e, err := range j.Follow(ctx, room, next) {
			if err != nil {
				if ctx.Err() != nil {
					err = context.Cause(ctx)
				}
				yield(aper.Event[T]{}, wrap(err, "follow %q from %d", room, next))
				return
			}
			if e.Seq != next {
				yield(aper.Event[T]{}, wrap(fmt.Errorf("the journal gave Seq %d, want %d", e.Seq, next), "follow %q", room))
				return
			}
			rc, err := decodeRecord[T](e)
			if err != nil {
				yield(aper.Event[T]{}, wrap(err, "follow %q: decode %d", room, e.Seq))
				return
			}
			next++
			if !yield(aper.Event[T]{Seq: rc.Seq, Client: rc.Client, Time: rc.Time, Transition: rc.Transition}, nil) {
				return
			}
		}
	}
}

// Submit orders t in room as a transition of the server's (the room is loaded if it is not):
// its Event.Client is id.Client, empty for a server event, and the permission hook (see
// WithPermission) is asked with id first. It returns once the outcome is known and, with a
// journal, the transition is durable: the Seq the room gave it, or the error that rejected it:
// a *conflict.Conflict (errors.As) if the state refused it, a *RefusedError matching
// ErrForbidden if the permission hook did, ErrServerClosed if the room or the server stopped
// first (the transition may then have been applied or not), ctx's cause if ctx ended first (the
// same). Nothing makes a retried Submit exactly-once: a caller that retries after an unknown
// outcome must make its transition idempotent, or read the room's log first (Follow).
//
// In a cluster, a Submit on a server that does not own the room is carried to its owner (see
// Snapshot), with id's Client, Rooms and Agent for the owner's permission hook; an id with
// Info cannot be carried, and fails with an error that matches the *OwnerError. A carried
// Submit whose answer is lost fails with such an error too, and the transition may then have
// been applied or not.
func (s *Server[S, T]) Submit(ctx context.Context, room string, id Identity, t T) (uint64, error) {
	if err := encodable(t); err != nil {
		return 0, wrap(err, "submit to %q", room)
	}
	res, err := s.carry(ctx, &call[T]{op: opSubmit, room: room, ident: id, t: t})
	return res.seq, wrap(err, "submit to %q", room)
}

// submitHere is Submit on this server.
func (s *Server[S, T]) submitHere(ctx context.Context, room string, id Identity, t T) (uint64, error) {
	r, err := s.acquire(room)
	if err != nil {
		return 0, err
	}
	defer s.release(r)
	req := &submitRequest[T]{ident: id, t: t, reply: make(chan submitReply, 1)}
	if err := r.sendCtx(ctx, roomMsg[T]{kind: msgServerSubmit, reply: req}); err != nil {
		return 0, err
	}
	select {
	case rep := <-req.reply:
		return rep.seq, rep.err
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// encodable refuses, as Invalid, a transition that cannot be encoded so that it decodes again
// (one holding a string that is not valid UTF-8, say): sent, it would end its connection;
// journaled, it would make the room's log unreadable.
func encodable[T any](t T) error {
	if _, err := aper.CBOR.Marshal(t); err != nil {
		return conflict.New(conflict.Invalid, "the transition cannot be sent: "+err.Error())
	}
	return nil
}

// msgServerSubmit is the room message of Submit; its reply is a *submitRequest. (Numbered
// apart from roomloop.go's kinds.)
const msgServerSubmit msgKind = 64

type submitRequest[T any] struct {
	ident Identity
	t     T
	reply chan submitReply // buffered: answered once, never blocks the room
}

type submitReply struct {
	seq uint64
	err error
}

// submitWait is a Submit answered once the batch that holds its transition is durable.
type submitWait struct {
	reply chan submitReply
	rep   submitReply
}

// serverSubmit feeds a Submit to the core; its answer waits for carryOut.
func (r *room[S, T]) serverSubmit(req *submitRequest[T]) {
	seq, err := r.core.submitAs(req.ident, req.t, r.srv.cfg.now())
	if err != nil && !isRejection(err) {
		req.reply <- submitReply{err: err} // the room is broken or stopped: nothing to wait for
		return
	}
	r.submitWait = append(r.submitWait, submitWait{reply: req.reply, rep: submitReply{seq: seq, err: err}})
}

// isRejection reports whether err is a rejection of the transition itself.
func isRejection(err error) bool {
	var c *conflict.Conflict
	var re *RefusedError
	return errors.As(err, &c) || errors.As(err, &re)
}

// answerSubmits answers the Submits of a batch that is durable.
func (r *room[S, T]) answerSubmits() {
	for _, w := range r.submitWait {
		w.reply <- w.rep
	}
	clear(r.submitWait)
	r.submitWait = r.submitWait[:0]
}

// failSubmits answers the Submits of a batch that did not become durable, or of a room that
// stopped.
func (r *room[S, T]) failSubmits(err error) {
	for _, w := range r.submitWait {
		w.reply <- submitReply{err: err}
	}
	clear(r.submitWait)
	r.submitWait = r.submitWait[:0]
}

// submitAs orders t from the server on behalf of id (Submit): the permission hook first, then
// the state. It returns the Seq, or the rejection (a *conflict.Conflict or *RefusedError), or
// ErrServerClosed if the room is halted or the transition broke it.
func (r *roomCore[S, T]) submitAs(id Identity, t T, now time.Time) (uint64, error) {
	if r.halted() {
		return 0, ErrServerClosed
	}
	t = r.asSent(t)
	if r.permit != nil {
		if err := r.checkPermit(id, t); err != nil {
			msg := err.Error()
			if p := (*panicError)(nil); errors.As(err, &p) {
				r.panics = append(r.panics, p)
				msg = "internal error"
			}
			if r.stats != nil {
				r.stats.reject(codeForbidden)
			}
			return 0, &RefusedError{Code: codeForbidden, Message: msg}
		}
	}
	ev := aper.Event[T]{Seq: r.seq + 1, Client: id.Client, Time: now, Transition: t}
	if err := r.apply(&ev, nil); err != nil {
		if r.broken != nil {
			return 0, ErrServerClosed
		}
		c := conflict.As(err)
		if c == nil {
			c = conflict.New(conflict.Invalid, err.Error())
		}
		if r.stats != nil {
			r.stats.reject(string(c.Kind))
		}
		return 0, c
	}
	r.ordered(ev, "", 0, kindSubmit, "")
	return ev.Seq, nil
}
