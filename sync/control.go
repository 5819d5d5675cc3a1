package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aper-go/aper"
)

// ErrKicked marks a connection the server closed with Server.Kick: see [ServerError] (code
// "kicked", fatal: the client does not reconnect).
var ErrKicked = errors.New("aper/sync: kicked from the room")

// Kick closes every live connection of client in room, telling it why: its Client stops with
// a *ServerError (code "kicked", fatal) that matches ErrKicked and carries reason, and does not
// reconnect. It returns how many connections it closed; a room that is not loaded has none.
// Kick does not stop the client from joining again: its next connection goes through the
// authentication hook (WithAuth) as any other, so revoke its access there first. In a
// cluster, it closes the connections on the room's owner, which holds every connection of
// the room, relayed or not (see Snapshot).
func (s *Server[S, T]) Kick(ctx context.Context, room string, client aper.ClientID, reason string) (int, error) {
	res, err := s.carry(ctx, &call[T]{op: opKick, room: room, client: client, reason: reason})
	return res.n, wrap(err, "kick %q from room %q", client, room)
}

// Reauthorize re-checks every live connection of room after permissions changed: check is
// called, in the room's goroutine, with each connection's Identity, and a connection for which
// it returns an error is closed with that error's message: its Client stops with a
// *ServerError (code "unauthorized", fatal) that matches ErrUnauthorized, and does not
// reconnect. It returns how many connections it closed; a room that is not loaded has none. A
// panic in check counts as a refusal. Like Kick, it does not stop a new connection: the
// authentication hook decides that. In a cluster, check cannot be carried to another server:
// on a server that does not own the room, Reauthorize fails with an *OwnerError naming the
// owner (if the Ownership is a Forwarder, which knows it; otherwise it closes nothing), on
// which to call it.
func (s *Server[S, T]) Reauthorize(ctx context.Context, room string, check func(Identity) error) (int, error) {
	if check == nil {
		return 0, wrap(fmt.Errorf("%w: nil check", ErrInvalidOption), "reauthorize room %q", room)
	}
	n, err := s.controlHere(ctx, room, &controlMsg{check: check})
	return n, wrap(err, "reauthorize room %q", room)
}

// controlMsg is a Kick (kick set) or a Reauthorize (check set) for the room's goroutine.
type controlMsg struct {
	kick   aper.ClientID
	reason string
	check  func(Identity) error
	reply  chan controlReply
}

type controlReply struct {
	closed int
	err    error
}

// control passes m to room if it is loaded, and waits for its answer; loaded reports whether
// it was.
func (s *Server[S, T]) control(ctx context.Context, room string, m *controlMsg) (n int, loaded bool, err error) {
	s.mu.Lock()
	r := s.rooms[room]
	if r != nil {
		r.refs++
	}
	s.mu.Unlock()
	if r == nil {
		return 0, false, nil
	}
	defer s.release(r)
	m.reply = make(chan controlReply, 1)
	if err := r.sendCtx(ctx, roomMsg[T]{kind: msgControl, reply: m}); err != nil {
		if errors.Is(err, ErrServerClosed) && s.ctx.Err() == nil {
			return 0, true, nil // the room stopped: its connections are closed already
		}
		return 0, true, err
	}
	select {
	case rep := <-m.reply:
		return rep.closed, true, rep.err
	case <-r.done:
		return 0, true, nil
	case <-ctx.Done():
		return 0, true, context.Cause(ctx)
	}
}

// control closes the sessions m names (see Kick and Reauthorize) and returns how many.
func (r *roomCore[S, T]) control(m *controlMsg, now time.Time) int {
	if r.halted() {
		return 0
	}
	var gone []*session
	for _, s := range r.sessions {
		var why *ServerError
		switch {
		case m.check != nil:
			err := catch("the reauthorization check", func() error { return m.check(s.ident) })
			if err != nil {
				msg := err.Error()
				if p := (*panicError)(nil); errors.As(err, &p) {
					r.panics = append(r.panics, p)
					msg = "internal error"
				}
				why = &ServerError{Code: codeAuth, Message: msg, Fatal: true}
			}
		case s.client == m.kick:
			why = &ServerError{Code: codeKicked, Message: m.reason, Fatal: true}
		}
		if why != nil {
			r.closeWith(s, why)
			gone = append(gone, s)
		}
	}
	for _, s := range gone {
		r.leaveSession(s, now)
	}
	return len(gone)
}
