package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/websocket"
)

// Server holds rooms, each with its own state machine made by the factory given to NewServer,
// and serves clients over any transport.Listener.
//
// A room is loaded on its first join and unloaded once it has been empty for the idle time (see
// WithRoomIdle). Each room runs one goroutine that owns its state: it orders the transitions its
// clients submit, applies them, and queues the results on the clients' connections; a writer
// goroutine per connection sends them. A client whose outgoing queue passes its bound (see
// WithQueueLimit) is disconnected; it never stalls the room.
//
// Concurrency: every method may be called from any goroutine. Shutdown and Close are idempotent
// and wait for every goroutine the server started.
type Server[S aper.StateMachine[S, T], T any] struct {
	factory func(ctx context.Context, room string) (S, error)
	cfg     serverConfig

	ctx    context.Context // ends on Close
	cancel context.CancelCauseFunc

	mu        stdsync.Mutex
	rooms     map[string]*room[S, T]
	conns     map[*serverConn]struct{}
	listeners map[transport.Listener]struct{}
	closing   bool // Shutdown or Close began: accept nothing new
	wg        stdsync.WaitGroup

	wsOnce stdsync.Once
	ws     *websocket.Server

	shutdownOnce stdsync.Once
	closeOnce    stdsync.Once
	closed       chan struct{} // closed when every goroutine has ended after Shutdown or Close
}

type serverConfig struct {
	roomIdle     time.Duration
	logSize      int
	queueLimit   int
	helloTimeout time.Duration
	maxMessage   int
	maxRejects   int
	logger       *slog.Logger
	now          func() time.Time
	ws           *websocket.ServerOptions
}

// ServerOption configures a Server. Options validate their arguments: NewServer returns an
// error matching ErrInvalidOption for a bad one.
type ServerOption func(*serverConfig) error

// WithRoomIdle sets how long an empty room stays loaded before it is unloaded (default 30s). A
// negative duration keeps rooms loaded until the server closes. An unloaded room is made afresh
// by the factory on its next join.
func WithRoomIdle(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		c.roomIdle = d
		return nil
	}
}

// WithResumeLog sets how many of a room's latest transitions stay in memory so that a client
// that reconnects can resume from its last Seq (default 4096). A client that missed more gets a
// snapshot of the state instead.
func WithResumeLog(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: resume log of %d transitions, want at least 1", ErrInvalidOption, n)
		}
		c.logSize = n
		return nil
	}
}

// WithQueueLimit sets how many frames may wait on one connection's outgoing queue (default
// 65536): when more arrive while that many wait, unsent, the client is disconnected, so that it
// never stalls its room; it resumes when it reconnects.
func WithQueueLimit(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: queue limit of %d frames, want at least 1", ErrInvalidOption, n)
		}
		c.queueLimit = n
		return nil
	}
}

// WithHelloTimeout sets how long a new connection may take to send its hello (default 10s).
func WithHelloTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: hello timeout %v, want > 0", ErrInvalidOption, d)
		}
		c.helloTimeout = d
		return nil
	}
}

// WithMaxMessageSize sets the largest transport message the server sends (default
// transport.DefaultMaxMessageSize); frames are coalesced up to it. Set it no larger than the
// transport's own limit.
func WithMaxMessageSize(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1024 {
			return fmt.Errorf("%w: max message size %d, want at least 1024", ErrInvalidOption, n)
		}
		c.maxMessage = n
		return nil
	}
}

// WithLogger sets where the server reports connections closed for an error (default: nowhere).
func WithLogger(l *slog.Logger) ServerOption {
	return func(c *serverConfig) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithWebSocket sets the options of the WebSocket endpoint that ServeHTTP serves (allowed
// origins, ping interval, message size); nil means the transport's defaults.
func WithWebSocket(opts *websocket.ServerOptions) ServerOption {
	return func(c *serverConfig) error {
		c.ws = opts
		return nil
	}
}

// NewServer returns a server whose rooms get their state from factory, called once each time a
// room is loaded, with a context that ends when the server closes.
func NewServer[S aper.StateMachine[S, T], T any](factory func(ctx context.Context, room string) (S, error), opts ...ServerOption) (*Server[S, T], error) {
	if factory == nil {
		return nil, fmt.Errorf("%w: nil room factory", ErrInvalidOption)
	}
	cfg := serverConfig{
		roomIdle:     30 * time.Second,
		logSize:      4096,
		queueLimit:   1 << 16,
		helloTimeout: 10 * time.Second,
		maxMessage:   transport.DefaultMaxMessageSize,
		maxRejects:   64,
		logger:       slog.New(slog.DiscardHandler),
		now:          time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Server[S, T]{
		factory:   factory,
		cfg:       cfg,
		ctx:       ctx,
		cancel:    cancel,
		rooms:     make(map[string]*room[S, T]),
		conns:     make(map[*serverConn]struct{}),
		listeners: make(map[transport.Listener]struct{}),
		closed:    make(chan struct{}),
	}, nil
}

// goroutine starts f on a goroutine the server owns, unless the server is closing.
func (s *Server[S, T]) goroutine(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// Serve accepts connections from l and serves each on its own goroutines until ctx ends (it then
// returns ctx's error), Shutdown or Close is called (ErrServerClosed), or Accept fails. It closes
// l before it returns. Connections it accepted stay served after it returns, until Shutdown or
// Close. Serve may run on several listeners at once.
func (s *Server[S, T]) Serve(ctx context.Context, l transport.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	for {
		c, err := l.Accept(ctx)
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			switch {
			case closing:
				return ErrServerClosed
			case ctx.Err() != nil:
				return context.Cause(ctx)
			}
			return fmt.Errorf("aper/sync: accept: %w", err)
		}
		if !s.goroutine(func() { s.handle(c) }) {
			c.Close()
			return ErrServerClosed
		}
	}
}

// ServeHTTP makes the server an http.Handler: it upgrades the request to a WebSocket connection
// (transport/websocket; subprotocol "aper.cbor" or "aper.json") and serves it. Mount it at any
// path of any router. After Shutdown or Close it answers 503.
func (s *Server[S, T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.wsOnce.Do(func() {
		s.ws = websocket.NewServer(s.cfg.ws)
		ws := s.ws
		if !s.goroutine(func() { s.Serve(s.ctx, ws) }) {
			ws.Close()
		}
	})
	s.ws.ServeHTTP(w, r)
}

// ServeConn serves one connection that the caller accepted itself (from a transport that is not
// a Listener, or an in-process pipe). It returns at once; the server owns c from then on.
func (s *Server[S, T]) ServeConn(c transport.Conn) {
	if !s.goroutine(func() { s.handle(c) }) {
		c.Close()
	}
}

// Snapshot returns a copy of a room's state and the Seq it is at, loading the room if it is not
// loaded. The copy is the caller's (a Clone: O(1) for the library's structures).
func (s *Server[S, T]) Snapshot(ctx context.Context, name string) (S, uint64, error) {
	var zero S
	r := s.acquire(name)
	if r == nil {
		return zero, 0, ErrServerClosed
	}
	defer s.release(r)
	reply := make(chan snapshotReply[S], 1)
	select {
	case r.inbox <- roomMsg[T]{kind: msgSnapshot, reply: reply}:
	case <-r.done:
		return zero, 0, ErrServerClosed
	case <-ctx.Done():
		return zero, 0, context.Cause(ctx)
	}
	select {
	case rep := <-reply:
		if rep.err != nil {
			return zero, 0, rep.err
		}
		return rep.state, rep.seq, nil
	case <-r.done:
		return zero, 0, ErrServerClosed
	case <-ctx.Done():
		return zero, 0, context.Cause(ctx)
	}
}

type snapshotReply[S any] struct {
	state S
	seq   uint64
	err   error
}

// Shutdown stops the server gracefully: it stops accepting, lets every room process what its
// clients already sent and deliver the results, then closes every connection with a "shutdown"
// error frame (clients reconnect with backoff, to this server's successor). If ctx ends first,
// Shutdown closes what remains abruptly, as Close does, and returns ctx's error. It is
// idempotent; later calls wait as the first does.
func (s *Server[S, T]) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		rooms := make([]*room[S, T], 0, len(s.rooms))
		for _, r := range s.rooms {
			rooms = append(rooms, r)
		}
		var pending []*serverConn
		for c := range s.conns {
			if c.room == nil {
				pending = append(pending, c)
			}
		}
		s.closeListenersLocked()
		s.mu.Unlock()
		for _, c := range pending {
			c.conn.Close() // still in its handshake
		}
		for _, r := range rooms {
			select {
			case r.inbox <- roomMsg[T]{kind: msgShutdown}:
			case <-r.done:
			}
		}
		go func() {
			s.wg.Wait()
			close(s.closed)
		}()
	})
	select {
	case <-s.closed:
		return nil
	case <-ctx.Done():
		s.Close()
		return context.Cause(ctx)
	}
}

// Close stops the server at once: it closes every listener and connection and ends every room
// without waiting for queued frames. It is idempotent and waits for every goroutine the server
// started.
func (s *Server[S, T]) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.closeListenersLocked()
		conns := make([]*serverConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		s.cancel(ErrServerClosed)
		for _, c := range conns {
			c.conn.Close()
		}
		s.shutdownOnce.Do(func() {
			go func() {
				s.wg.Wait()
				close(s.closed)
			}()
		})
	})
	<-s.closed
	return nil
}

func (s *Server[S, T]) closeListenersLocked() {
	for l := range s.listeners {
		l.Close()
	}
}

// acquire returns the room called name, loading it if needed, with one more reference held; nil
// if the server is closing.
func (s *Server[S, T]) acquire(name string) *room[S, T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil
	}
	r := s.rooms[name]
	if r == nil {
		r = &room[S, T]{
			name:  name,
			srv:   s,
			inbox: make(chan roomMsg[T], 1024),
			done:  make(chan struct{}),
		}
		s.rooms[name] = r
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer close(r.done)
			r.run()
		}()
	}
	r.refs++
	return r
}

func (s *Server[S, T]) release(r *room[S, T]) {
	s.mu.Lock()
	r.refs--
	s.mu.Unlock()
}

// tryUnload removes r from the server if nobody holds it, and reports whether it did.
func (s *Server[S, T]) tryUnload(r *room[S, T]) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.refs > 0 {
		return false
	}
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
	}
	return true
}

func (s *Server[S, T]) forget(r *room[S, T]) {
	s.mu.Lock()
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
	}
	s.mu.Unlock()
}

func newClientID() aper.ClientID {
	var b [12]byte
	rand.Read(b[:])
	return aper.ClientID(hex.EncodeToString(b[:]))
}

// serverConn is one client connection on the server.
type serverConn struct {
	conn transport.Conn
	wire *wire
	q    *outq
	room any // the *room it joined (set before join, under Server.mu), for Shutdown

	// Owned by the room goroutine.
	sess       *session
	stage      [][]byte
	staged     bool
	closeAfter bool
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
	maxRoomName = 256
	maxClientID = 128
)

// handle serves one connection: handshake, then the reader loop on this goroutine and a writer
// on another.
func (s *Server[S, T]) handle(c transport.Conn) {
	defer c.Close()
	w, err := wireOf(c)
	if err != nil {
		s.cfg.logger.Debug("aper/sync: connection refused", "err", err)
		return
	}
	sc := &serverConn{conn: c, wire: w, q: newOutq(s.cfg.queueLimit)}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()

	h, err := s.readHello(sc)
	if err != nil {
		s.cfg.logger.Debug("aper/sync: handshake failed", "err", err)
		return
	}
	r := s.acquire(h.Room)
	if r == nil {
		s.refuse(sc, codeShutdown, "aper/sync: the server is shutting down", false)
		return
	}
	defer s.release(r)
	s.mu.Lock()
	sc.room = r
	s.mu.Unlock()

	writerDone := make(chan error, 1)
	go func() { // owned by this goroutine, which waits for it below
		err := writeLoop(s.ctx, c, w, sc.q, s.cfg.maxMessage, nil, nil)
		c.Close() // a failed or finished writer ends the reader too
		writerDone <- err
	}()
	defer func() { <-writerDone }()

	if !r.send(roomMsg[T]{kind: msgJoin, sc: sc, hello: h}) {
		c.Close()
		return
	}
	err = s.readLoop(sc, r)
	r.send(roomMsg[T]{kind: msgLeave, sc: sc})
	if err != nil {
		s.cfg.logger.Debug("aper/sync: connection closed", "room", h.Room, "err", err)
	}
	if errors.Is(err, ErrProtocol) {
		// Tell the peer why, after what is queued; the writer then stops and closes.
		if b, e := w.encode(&frame{Type: frameError, Code: codeProtocol, Message: err.Error(), Fatal: true}); e == nil {
			sc.q.push(b)
		}
		sc.q.closeAfterFlush()
		return
	}
	c.Close()
	sc.q.closeAfterFlush() // wakes the writer, which finds the connection closed
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
		s.refuse(sc, codeVersion, ve.Error(), true)
		return nil, ve
	case h.Room == "" || len(h.Room) > maxRoomName:
		err = fmt.Errorf("%w: room name of %d bytes, want 1 to %d", ErrProtocol, len(h.Room), maxRoomName)
	case len(h.Client) > maxClientID:
		err = fmt.Errorf("%w: client id of %d bytes, want at most %d", ErrProtocol, len(h.Client), maxClientID)
	}
	if err != nil {
		s.refuse(sc, codeProtocol, err.Error(), true)
		return nil, err
	}
	return h, nil
}

// refuse sends one error frame on a connection that has no writer yet.
func (s *Server[S, T]) refuse(sc *serverConn, code, msg string, fatal bool) {
	b, err := sc.wire.encode(&frame{Type: frameError, Code: code, Message: msg, Fatal: fatal})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.helloTimeout)
	defer cancel()
	sc.conn.Send(ctx, b)
}

// readLoop receives frames until the connection ends or misbehaves, decoding transitions here
// (in parallel with other connections) and passing them to the room in one message per
// transport message.
func (s *Server[S, T]) readLoop(sc *serverConn, r *room[S, T]) error {
	for {
		msg, err := sc.conn.Recv(s.ctx)
		if err != nil {
			return err
		}
		var subs []submission[T]
		err = sc.wire.decode(msg, func(f *frame) error {
			switch f.Type {
			case frameSubmit:
				if f.Local == 0 {
					return fmt.Errorf("%w: submit with local seq 0", ErrProtocol)
				}
				var t T
				if err := sc.wire.payload.Unmarshal(f.Data, &t); err != nil {
					return fmt.Errorf("%w: submit %d: %v", ErrProtocol, f.Local, err)
				}
				subs = append(subs, submission[T]{local: f.Local, t: t})
			case framePing:
				b, err := sc.wire.encode(&frame{Type: framePong, Time: s.cfg.now().UnixNano()})
				if err == nil && !sc.q.push(b) {
					sc.conn.Close()
				}
			case framePong:
			default:
				return fmt.Errorf("%w: unexpected %v frame from a client", ErrProtocol, f.Type)
			}
			return nil
		})
		if len(subs) > 0 && !r.send(roomMsg[T]{kind: msgSubmit, sc: sc, subs: subs}) {
			return ErrServerClosed
		}
		if err != nil {
			return err
		}
	}
}

// room is the goroutine layer of one room: an inbox, and the loop that feeds the core.
type room[S aper.StateMachine[S, T], T any] struct {
	name  string
	srv   *Server[S, T]
	inbox chan roomMsg[T]
	done  chan struct{} // closed when run returns
	refs  int           // under srv.mu: connections and calls holding the room

	core    *roomCore[S, T]
	touched []*serverConn
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
	kind  msgKind
	sc    *serverConn
	hello *frame
	subs  []submission[T]
	reply any // chan snapshotReply[S]
}

type submission[T any] struct {
	local uint64
	t     T
}

// send passes m to the room, or reports false if the room has stopped.
func (r *room[S, T]) send(m roomMsg[T]) bool {
	select {
	case r.inbox <- m:
		return true
	case <-r.done:
		return false
	}
}

// maxBatch bounds how many inbox messages one loop iteration handles before delivering.
const maxBatch = 256

func (r *room[S, T]) run() {
	s := r.srv
	state, err := s.factory(s.ctx, r.name)
	if err != nil {
		r.fail(fmt.Errorf("aper/sync: room %q: %w", r.name, err))
		return
	}
	r.core = newRoomCore(r.name, state, roomConfig{
		logSize:       s.cfg.logSize,
		maxRejections: s.cfg.maxRejects,
		newID:         newClientID,
	})
	var (
		idle  *time.Timer
		idleC <-chan time.Time
	)
	armIdle := func() {
		if s.cfg.roomIdle < 0 || !r.core.empty() {
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
	}()
	armIdle()
	for {
		select {
		case <-s.ctx.Done():
			r.srv.forget(r)
			return
		case <-idleC:
			idleC = nil
			if r.core.empty() && s.tryUnload(r) {
				return
			}
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
			r.deliver()
			if stop {
				r.srv.forget(r)
				return
			}
			if !r.core.empty() {
				idleC = nil
			} else if idleC == nil {
				armIdle()
			}
		}
	}
}

// handle feeds one message to the core. It reports whether the room must stop (shutdown).
func (r *room[S, T]) handle(m roomMsg[T]) bool {
	now := r.srv.cfg.now()
	switch m.kind {
	case msgJoin:
		m.sc.sess = r.core.join(m.sc, m.sc.wire, m.hello, now)
	case msgSubmit:
		if m.sc.sess == nil {
			return false
		}
		for _, sub := range m.subs {
			r.core.submit(m.sc.sess, sub.local, sub.t, now)
		}
	case msgLeave:
		if m.sc.sess != nil {
			r.core.leave(m.sc.sess)
		}
	case msgSnapshot:
		m.reply.(chan snapshotReply[S]) <- snapshotReply[S]{state: r.core.state.Clone(), seq: r.core.seq}
	case msgShutdown:
		for len(r.core.sessions) > 0 {
			sess := r.core.sessions[0]
			r.core.closeWith(sess, codeShutdown, "aper/sync: the server is shutting down", false)
			r.core.leave(sess)
		}
		return true
	}
	return false
}

// deliver hands the core's outputs to the connections' queues: one push per connection per
// batch, no network I/O. A connection whose queue overflows is cut.
func (r *room[S, T]) deliver() {
	rd := r.core.takeReady()
	// The journal of the next step goes here: append rd.records (conditional on the room's
	// last Seq) and wait until they are durable before anything below is delivered.
	stage := func(sc *serverConn, b []byte) {
		if !sc.staged {
			sc.staged = true
			r.touched = append(r.touched, sc)
		}
		sc.stage = append(sc.stage, b)
	}
	for i := range rd.outputs {
		o := &rd.outputs[i]
		if o.to != nil {
			sc := o.to.peer.(*serverConn)
			stage(sc, o.frame)
			if o.close {
				sc.closeAfter = true
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
		if !sc.q.push(sc.stage...) {
			sc.conn.Close() // overflowed: cut it; its reader tells the room it left
		} else if sc.closeAfter {
			sc.q.closeAfterFlush()
		}
		clear(sc.stage)
		sc.stage = sc.stage[:0]
		sc.staged = false
		sc.closeAfter = false
	}
	clear(r.touched)
	r.touched = r.touched[:0]
	r.core.recycle(rd)
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
				if b, e := m.sc.wire.encode(&frame{Type: frameError, Code: codeRoom, Message: err.Error(), Fatal: true}); e == nil {
					m.sc.q.push(b)
				}
				m.sc.q.closeAfterFlush()
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
