package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
)

// serverConn is one client connection on the server.
type serverConn struct {
	conn     transport.Conn
	wire     *wire
	q        *outq
	room     any // the *room it joined (set before join, under Server.mu), for Shutdown
	ident    Identity
	agent    bool
	authed   bool         // ident is an agent's, or the auth hook's (here or on the server that relays)
	inflight atomic.Int64 // submissions passed to the room and not yet processed

	id sessionID // its session in the room: set and read by the room goroutine
}

// end sends the client an error frame that says why the server ends the connection, after what
// is queued, and makes the writer stop after it.
func (sc *serverConn) end(reason *ServerError) {
	sc.q.push(errorFrame(sc.wire, reason))
	sc.q.closeAfterFlush(reason)
}

// wireOf returns the codec of a connection: the one it names (transport.Codec), else CBOR.
func wireOf(c transport.Conn) (*wire, error) {
	if cc, ok := c.(transport.Codec); ok {
		w, ok := wireByName(cc.Codec())
		if !ok {
			return nil, fmt.Errorf("%w: unknown codec %q", ErrProtocol, cc.Codec())
		}
		return w, nil
	}
	return wireCBOR, nil
}

const (
	maxRoomName  = 256
	maxClientID  = 128
	minClientKey = 16
	maxClientKey = 128
)

// tooLarge tells the client that a frame for it was over the message limit.
func (s *Server[S, T]) tooLarge(sc *serverConn, err error) {
	reason := &ServerError{Code: codeTooLarge, Message: fmt.Sprintf("a frame for this client could not be sent: %v", err)}
	sc.q.closeAfterFlush(reason)
	b := errorFrame(sc.wire, reason)
	ctx, cancel := context.WithTimeout(s.ctx, abortGrace)
	defer cancel()
	sc.conn.Send(ctx, b)
}

// logEnd reports why a connection ended: the reason the server gave its client when the server
// ended it (at level Info), else what the reader and the writer saw (at level Debug).
func (s *Server[S, T]) logEnd(room string, sc *serverConn, rerr, werr error) {
	if reason := sc.q.why(); reason != nil {
		s.cfg.logger.Info("aper/sync: connection ended by the server", "room", room, "reason", reason)
		return
	}
	if werr != nil && s.ctx.Err() == nil {
		s.cfg.logger.Info("aper/sync: connection ended: send failed", "room", room, "err", werr)
		return
	}
	if rerr != nil {
		s.cfg.logger.Debug("aper/sync: connection closed", "room", room, "err", rerr)
	}
}

// authenticate runs the auth hook on a connection's hello, setting sc.ident.
func (s *Server[S, T]) authenticate(sc *serverConn, h *frame) error {
	if sc.agent {
		sc.ident, sc.authed = Identity{Agent: true}, true
		return nil
	}
	rel := h.Relay
	h.Relay = nil
	if _, ok := sc.conn.(MemberConn); !ok {
		rel = nil // a client's own word
	}
	if rel != nil && (s.cfg.auth == nil || rel.Authed && !rel.Info) {
		sc.ident, sc.authed, sc.agent = rel.identity(), rel.Authed, rel.Agent
		return nil
	}
	if s.cfg.auth == nil {
		return nil
	}
	req := AuthRequest{Room: h.Room, Client: h.Client, Instance: h.Inst, Token: h.Token}
	if m, ok := sc.conn.(transport.Metadata); ok {
		req.Metadata = m.Metadata()
	}
	if rel != nil && rel.Authed {
		id := rel.identity()
		req.Relayed = &id
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.helloTimeout)
	defer cancel()
	var id Identity
	err := catch("the auth hook", func() (err error) {
		id, err = s.cfg.auth(ctx, req)
		return err
	})
	// The errors are the reason the client reads in its ServerError (code "unauthorized").
	var p *panicError
	if errors.As(err, &p) {
		s.logPanic(h.Room, p)
		return errors.New("internal error")
	}
	if err != nil {
		return err
	}
	if id.Rooms != nil && !slices.Contains(id.Rooms, h.Room) {
		return fmt.Errorf("not allowed in room %q", h.Room)
	}
	if len(id.Client) > maxClientID {
		return fmt.Errorf("the auth hook gave a client id of %d bytes, want at most %d", len(id.Client), maxClientID)
	}
	if !utf8.ValidString(string(id.Client)) {
		return errors.New("the auth hook gave a client id that is not valid UTF-8")
	}
	id.Agent = false
	sc.ident, sc.authed = id, true
	return nil
}

// identify sets the hello's Client to who the connection is: the auth hook's Identity.Client,
// else its instance (h.Inst, set by readHello from the key), never the id the hello claims.
func identify(sc *serverConn, h *frame) {
	if sc.ident.Client != "" {
		h.Client = sc.ident.Client
		return
	}
	h.Client = h.Inst
}

// keyClientID is a client's instance: a hash of its secret key, so that nobody who does not hold
// the key can claim it, while the client that does keeps it across connections and server
// restarts.
func keyClientID(key string) aper.ClientID {
	sum := sha256.Sum256([]byte("aper/sync client key\x00" + key))
	return aper.ClientID(hex.EncodeToString(sum[:12]))
}

func (s *Server[S, T]) readHello(sc *serverConn) (*frame, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.helloTimeout)
	defer cancel()
	msg, err := sc.conn.Recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("aper/sync: read hello: %w", err)
	}
	var h *frame
	err = sc.wire.decode(msg, func(f *frame) error {
		if h != nil {
			return fmt.Errorf("%w: frames after the hello before the welcome", ErrProtocol)
		}
		cp := *f
		h = &cp
		return nil
	})
	switch {
	case err != nil:
	case h.Type != frameHello:
		err = fmt.Errorf("%w: the first frame is %v, want hello", ErrProtocol, h.Type)
	case h.V != ProtocolVersion:
		ve := &VersionError{Peer: h.V, Ours: ProtocolVersion}
		s.refuse(sc, &ServerError{Code: codeVersion, Message: ve.Error(), Fatal: true})
		return nil, ve
	case badRoomName(h.Room) != "":
		err = fmt.Errorf("%w: %s", ErrProtocol, badRoomName(h.Room))
	case len(h.Client) > maxClientID:
		err = fmt.Errorf("%w: client id of %d bytes, want at most %d", ErrProtocol, len(h.Client), maxClientID)
	case len(h.Key) < minClientKey || len(h.Key) > maxClientKey:
		err = fmt.Errorf("%w: client key of %d bytes, want %d to %d", ErrProtocol, len(h.Key), minClientKey, maxClientKey)
	}
	if err != nil {
		s.refuse(sc, &ServerError{Code: codeProtocol, Message: err.Error(), Fatal: true})
		return nil, err
	}
	h.Inst = keyClientID(h.Key) // never the hello's own word
	return h, nil
}

// refuse sends one error frame on a connection that has no writer yet.
func (s *Server[S, T]) refuse(sc *serverConn, reason *ServerError) {
	b := errorFrame(sc.wire, reason)
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.helloTimeout)
	defer cancel()
	sc.conn.Send(ctx, b)
}

// errSilent ends a connection that brought nothing for the connection timeout.
var errSilent = &ServerError{Code: codeTimeout, Message: "the connection was silent for too long"}

// handle serves one connection: handshake, then the reader loop on this goroutine and a writer
// on another while there are frames to send. agent marks an in-process connection made by
// Agent.
//
// The handshake and the end of a connection run in functions of their own, which return before
// the reader waits: an idle connection's goroutine keeps a shallow stack, which the runtime
// shrinks to its smallest size but one.
func (s *Server[S, T]) handle(c transport.Conn, agent bool) {
	defer c.Close()
	sc, r, h := s.greet(c, agent)
	if sc == nil {
		return
	}
	defer s.dropConn(sc, r)
	if s.met != nil {
		defer s.met.connOpened(sc)()
	}
	writerDone := s.startWriter(sc)
	room := h.Room // the hello itself is not kept while the connection lasts
	err := ErrServerClosed
	if s.join(sc, r, h) {
		err = s.readLoop(sc, r)
		s.leave(sc, r)
	}
	s.endConn(sc, room, err)
	werr := <-writerDone
	s.logEnd(room, sc, err, werr)
}

// dropConn forgets a connection that ends, and releases its room r if it holds one.
func (s *Server[S, T]) dropConn(sc *serverConn, r *room[S, T]) {
	if r != nil {
		s.release(r)
	}
	s.mu.Lock()
	delete(s.conns, sc)
	s.mu.Unlock()
}

// greet runs a connection's handshake: it reads the hello, authenticates the client and
// acquires its room. On success the caller must drop the connection with its room; on failure
// (a nil serverConn) the connection was refused and dropped.
func (s *Server[S, T]) greet(c transport.Conn, agent bool) (*serverConn, *room[S, T], *frame) {
	w, err := wireOf(c)
	if err != nil {
		s.cfg.logger.Debug("aper/sync: connection refused", "err", err)
		return nil, nil, nil
	}
	sc := &serverConn{conn: c, wire: w, q: newOutqOnDemand(s.cfg.queueLimit, w), agent: agent}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil, nil, nil
	}
	s.conns[sc] = struct{}{}
	s.mu.Unlock()

	h, err := s.readHello(sc)
	if err != nil {
		s.cfg.logger.Debug("aper/sync: handshake failed", "err", err)
		s.dropConn(sc, nil)
		return nil, nil, nil
	}
	if err := s.authenticate(sc, h); err != nil {
		s.cfg.logger.Debug("aper/sync: connection refused", "room", h.Room, "err", err)
		s.refuse(sc, &ServerError{Code: codeAuth, Message: err.Error(), Fatal: true})
		s.dropConn(sc, nil)
		return nil, nil, nil
	}
	var r *room[S, T]
	if s.cfg.owners != nil {
		hello := *h
		identify(sc, h)
		r, err = s.acquireOwned(s.ctx, h.Room, sc, string(h.Client))
		if oe := (*OwnerError)(nil); errors.As(err, &oe) {
			s.relay(sc, &hello, oe.Owner)
			s.dropConn(sc, nil)
			return nil, nil, nil
		}
	} else {
		identify(sc, h)
		r, err = s.acquireFor(h.Room, sc, string(h.Client))
	}
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) {
			s.refuse(sc, se)
		} else {
			s.refuse(sc, errShuttingDown)
		}
		s.dropConn(sc, nil)
		return nil, nil, nil
	}
	s.mu.Lock()
	sc.room = r
	s.mu.Unlock()
	return sc, r, h
}

// startWriter makes sc's queue start a writer whenever it holds frames (an idle connection
// holds none). The last writer, once the queue closed and was sent or a send failed, closes the
// connection and sends its error on the channel returned, which the caller waits for.
func (s *Server[S, T]) startWriter(sc *serverConn) <-chan error {
	writerDone := make(chan error, 1)
	sc.q.writeOnDemand(s.ctx, sc.conn, sc.wire, s.cfg.maxMessage, func(err error) {
		if errors.Is(err, transport.ErrTooLarge) {
			// A frame over the message limit (the transport refused it and stays open): say
			// so in a small one. The client's next connection asks for a snapshot.
			s.tooLarge(sc, err)
		}
		sc.conn.Close() // a failed or finished writer ends the reader too
		writerDone <- err
	})
	return writerDone
}

// join passes a connection's join to its room, and reports whether the room took it.
//
//go:noinline
func (s *Server[S, T]) join(sc *serverConn, r *room[S, T], h *frame) bool {
	return r.send(roomMsg[T]{kind: msgJoin, sc: sc, hello: h})
}

// leave tells a connection's room that it left.
//
//go:noinline
func (s *Server[S, T]) leave(sc *serverConn, r *room[S, T]) {
	r.send(roomMsg[T]{kind: msgLeave, sc: sc})
}

// endConn tells the peer why its connection ends (err, what ended the reader), after what is
// queued; the writer then stops and closes the connection.
func (s *Server[S, T]) endConn(sc *serverConn, room string, err error) {
	var fe *ServerError
	switch {
	case errors.As(err, &fe):
		sc.end(fe)
	case errors.Is(err, ErrProtocol):
		sc.end(&ServerError{Code: codeProtocol, Message: err.Error(), Fatal: true})
	case errors.Is(err, ErrServerClosed) && s.ctx.Err() == nil:
		// The room stopped under the connection (it crashed, or the server is shutting
		// down): the client reconnects.
		sc.end(roomStopped(room))
	default:
		// The transport ended: the peer went away, or the writer closed it.
		sc.conn.Close()
		sc.q.closeAfterFlush(nil) // wakes the writer, which finds the connection closed
	}
}

// readLoop receives frames until the connection ends, misbehaves or stays silent for the
// connection timeout, decoding transitions here (in parallel with other connections) and passing
// them to the room in one message per transport message.
func (s *Server[S, T]) readLoop(sc *serverConn, r *room[S, T]) error {
	for {
		ctx, cancel := context.WithTimeoutCause(s.ctx, s.cfg.connTimeout, errSilent)
		msg, err := sc.conn.Recv(ctx)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil && context.Cause(ctx) == errSilent {
				return errSilent
			}
			return err
		}
		if err := s.dispatch(sc, r, msg); err != nil {
			return err
		}
	}
}

// dispatch decodes one message from a client and passes what it carries to the room (a
// function of its own, so that its frame is not on the reader's stack while it waits).
func (s *Server[S, T]) dispatch(sc *serverConn, r *room[S, T], msg []byte) error {
	var (
		subs     []submission[T]
		presence raw
		hasPres  bool
	)
	err := sc.wire.decode(msg, func(f *frame) error {
		switch f.Type {
		case frameSubmit:
			if f.Local == 0 {
				return fmt.Errorf("%w: submit with local seq 0", ErrProtocol)
			}
			if s.cfg.maxTransition > 0 && len(f.Data) > s.cfg.maxTransition {
				subs = append(subs, submission[T]{local: f.Local, refuse: codeSize,
					why: fmt.Sprintf("%d bytes, over %d", len(f.Data), s.cfg.maxTransition)})
				return nil
			}
			if s.cfg.maxPending > 0 && sc.inflight.Load()+int64(len(subs)) >= int64(s.cfg.maxPending) {
				subs = append(subs, submission[T]{local: f.Local, refuse: codePending,
					why: fmt.Sprintf("over %d transitions waiting", s.cfg.maxPending)})
				return nil
			}
			var t T
			if err := unmarshalData(sc.wire, f, &t); err != nil {
				return fmt.Errorf("%w: submit %d: %v", ErrProtocol, f.Local, err)
			}
			subs = append(subs, submission[T]{local: f.Local, t: t})
		case framePresence:
			if len(f.Data) > s.cfg.maxPresence {
				s.cfg.logger.Debug("aper/sync: presence value dropped", "room", r.name, "size", len(f.Data))
				return nil
			}
			if err := checkPresence(f.Data, sc.wire); err != nil {
				s.cfg.logger.Debug("aper/sync: presence value dropped", "room", r.name, "err", err)
				return nil
			}
			presence, hasPres = append(raw(nil), f.Data...), true // the last one wins
		case framePing:
			if b, err := sc.wire.encode(&frame{Type: framePong, Time: s.cfg.now().UnixNano()}); err == nil {
				sc.q.push(b) // an overflow ends the connection with its reason
			}
		case framePong:
		default:
			return fmt.Errorf("%w: unexpected %v frame from a client", ErrProtocol, f.Type)
		}
		return nil
	})
	if len(subs) > 0 || hasPres {
		sc.inflight.Add(int64(len(subs)))
		m := roomMsg[T]{kind: msgSubmit, sc: sc, batch: batch[T]{subs: subs, presence: presence, hasPresence: hasPres}}
		if s.met != nil {
			m.at = time.Now()
		}
		if !r.send(m) {
			return ErrServerClosed
		}
	}
	return err
}

// badRoomName says what is wrong with a room's name, or "" if nothing: a name is 1 to
// maxRoomName bytes of valid UTF-8 (the codecs carry no other text).
func badRoomName(room string) string {
	switch {
	case room == "" || len(room) > maxRoomName:
		return fmt.Sprintf("room name of %d bytes, want 1 to %d", len(room), maxRoomName)
	case !utf8.ValidString(room):
		return "room name not valid UTF-8"
	}
	return ""
}
