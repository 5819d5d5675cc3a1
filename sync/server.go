package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
// goroutine per connection sends them, started when frames are queued and ended when they are
// sent, so that an idle connection holds only its reader. A client whose outgoing queue passes its bound (see
// WithQueueLimit) is disconnected; it never stalls the room.
//
// Concurrency: every method may be called from any goroutine. Shutdown and Close are idempotent
// and wait for every goroutine the server started.
type Server[S aper.StateMachine[S, T], T any] struct {
	factory func(ctx context.Context, room string) (S, error)
	cfg     serverConfig
	permit  func(Identity, string, S, T) error
	met     *serverMetrics // nil without WithMetrics

	ctx    context.Context // ends on Close
	cancel context.CancelCauseFunc

	mu        stdsync.Mutex
	rooms     map[string]*room[S, T]
	conns     map[*serverConn]struct{}
	listeners map[transport.Listener]struct{}
	closing   bool // Shutdown or Close began: accept nothing new
	wg        stdsync.WaitGroup

	admit admission // under mu

	campaigns campaigns // see WithOwnership

	wsOnce stdsync.Once
	ws     *websocket.Server

	shutdownOnce stdsync.Once
	closeOnce    stdsync.Once
	closed       chan struct{} // closed when every goroutine has ended after Shutdown or Close
}

// NewServer returns a server whose rooms get their state from factory, called once each time a
// room is loaded, with a context that ends when the server closes. A factory's error refuses the
// room's joins; wrapping ErrNoRoom in it says that the name names no room (the HTTP API then
// answers 404, not 500).
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
		connTimeout:  45 * time.Second,
		leaveGrace:   30 * time.Second,
		snapEvery:    10000,
		maxPresence:  4 << 10,
		maxRooms:     DefaultMaxRooms,

		newRoomsPerClient: DefaultNewRoomsPerClient,
		newRoomsPerAddr:   DefaultNewRoomsPerAddress,

		presenceEvery: 25 * time.Millisecond,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	var permit func(Identity, string, S, T) error
	if cfg.permit != nil {
		f, ok := cfg.permit.(func(Identity, string, S, T) error)
		if !ok {
			return nil, fmt.Errorf("%w: permission hook %T does not match the server's state and transition types", ErrInvalidOption, cfg.permit)
		}
		permit = f
	}
	if cfg.owners != nil && cfg.journal == nil {
		return nil, fmt.Errorf("%w: WithOwnership needs WithJournal", ErrInvalidOption)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &Server[S, T]{
		permit:    permit,
		factory:   factory,
		cfg:       cfg,
		ctx:       ctx,
		cancel:    cancel,
		rooms:     make(map[string]*room[S, T]),
		conns:     make(map[*serverConn]struct{}),
		listeners: make(map[transport.Listener]struct{}),
		closed:    make(chan struct{}),
	}
	if cfg.metrics != nil {
		met, err := newServerMetrics[S, T](&s.cfg, s.roomsLoaded, s.queueDepth, s.queueDepthMax)
		if err != nil {
			return nil, err
		}
		s.met = met
	}
	if fw, ok := cfg.owners.(Forwarder); ok {
		fw.Handle(s.answer) // last: a server that NewServer does not return answers nothing
	}
	return s, nil
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
		if !s.goroutine(func() { s.handle(c, false) }) {
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
	if !s.goroutine(func() { s.handle(c, false) }) {
		c.Close()
	}
}

// Snapshot returns a copy of a room's state and the Seq it is at, loading the room if it is not
// loaded. The copy is the caller's (a Clone: O(1) for the library's structures).
//
// In a cluster (WithOwnership), a room that another server owns is not loaded here: its
// owner's state is carried here if the Ownership is a Forwarder, and otherwise, or if it
// cannot be carried, the error matches the *OwnerError that names the owner (ErrNotOwner).
// The same holds for Seq, Submit, Restore and Kick.
func (s *Server[S, T]) Snapshot(ctx context.Context, name string) (S, uint64, error) {
	res, err := s.carry(ctx, &call[T]{op: opSnapshot, room: name})
	return res.state, res.seq, err
}

// snapshotHere is Snapshot on this server.
func (s *Server[S, T]) snapshotHere(ctx context.Context, name string) (S, uint64, error) {
	var zero S
	r, err := s.acquire(name)
	if err != nil {
		return zero, 0, err
	}
	defer s.release(r)
	reply := make(chan snapshotReply[S], 1)
	if err := r.sendCtx(ctx, roomMsg[T]{kind: msgSnapshot, reply: reply}); err != nil {
		return zero, 0, err
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
// Shutdown closes what remains abruptly, as Close does, and returns ctx's error at once: it
// does not wait for a hook (room factory, auth hook, journal) that ignores its context and has
// not returned yet; Close does. It is idempotent; later calls wait as the first does.
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
	rooms:
		for _, r := range rooms {
			if err := r.sendCtx(ctx, roomMsg[T]{kind: msgShutdown}); err != nil && ctx.Err() != nil {
				break rooms // closed abruptly below
			}
		}
		go func() {
			s.wg.Wait()
			s.met.unregister()
			close(s.closed)
		}()
	})
	select {
	case <-s.closed:
		return nil
	case <-ctx.Done():
		s.startClose()
		return context.Cause(ctx)
	}
}

// Close stops the server at once: it closes every listener and connection and ends every room
// without waiting for queued frames. It is idempotent and waits for every goroutine the server
// started, including those still in a hook (room factory, auth hook, journal) that ignores the
// cancellation of its context: use Shutdown with a deadline to bound the wait.
func (s *Server[S, T]) Close() error {
	s.startClose()
	<-s.closed
	return nil
}

// startClose does what Close does without waiting for the goroutines to end.
func (s *Server[S, T]) startClose() {
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
				s.met.unregister()
				close(s.closed)
			}()
		})
	})
}

func (s *Server[S, T]) closeListenersLocked() {
	for l := range s.listeners {
		l.Close()
	}
}

// errShuttingDown is the reason a connection gets when the server shuts down under it.
var errShuttingDown = &ServerError{Code: codeShutdown, Message: "aper/sync: the server is shutting down"}

// errTooManyRooms is acquire's error for a room over WithMaxRooms.
var errTooManyRooms = &ServerError{Code: codeLimit, Message: "the server holds as many rooms as it may"}

// roomInbox is how many messages a room's inbox holds before its senders wait. Every loaded room
// allocates it, so it is small: a room drains its inbox up to maxBatch messages per batch, and a
// reader that waits on a busy room is the back-pressure that bounds what the room buffers.
const roomInbox = 32

// acquire returns the room called name, loading it if needed, with one more reference held;
// ErrServerClosed if the server is closing, errTooManyRooms over the room limit.
func (s *Server[S, T]) acquire(name string) (*room[S, T], error) {
	if s.cfg.owners != nil {
		return s.acquireOwned(s.ctx, name, nil, "")
	}
	return s.acquireFor(name, nil, "")
}

// acquireFor is acquire for connection sc of client (nil for the server's own calls): loading
// the room counts against the client's and its address's budgets of new rooms (see
// WithNewRoomsPerMinute), and is refused over them.
func (s *Server[S, T]) acquireFor(name string, sc *serverConn, client string) (*room[S, T], error) {
	return s.acquireClaimed(name, sc, client, nil)
}

// acquireClaimed is acquireFor with the claim a room loaded now holds (see WithOwnership).
func (s *Server[S, T]) acquireClaimed(name string, sc *serverConn, client string, claim Claim) (*room[S, T], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, ErrServerClosed
	}
	r := s.rooms[name]
	if r == nil && s.cfg.owners != nil && claim == nil {
		return nil, errChangingHands(name) // it stopped since acquireOwned saw it: campaign anew
	}
	if r == nil && s.cfg.maxRooms > 0 && len(s.rooms) >= s.cfg.maxRooms {
		return nil, errTooManyRooms
	}
	if r == nil {
		if err := s.admitLocked(sc, client); err != nil {
			return nil, err
		}
		r = &room[S, T]{
			name:  name,
			srv:   s,
			inbox: make(chan roomMsg[T], roomInbox),
			done:  make(chan struct{}),
			claim: claim,
		}
		s.rooms[name] = r
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer r.stop()
			defer r.releaseClaim()
			r.run()
		}()
	}
	r.refs++
	return r, nil
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

// newClientKey returns a fresh secret key for a client (see WithClientKey).
func newClientKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
