package sync

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
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

	ctx    context.Context // ends on Close
	cancel context.CancelCauseFunc

	mu        stdsync.Mutex
	rooms     map[string]*room[S, T]
	conns     map[*serverConn]struct{}
	listeners map[transport.Listener]struct{}
	closing   bool // Shutdown or Close began: accept nothing new
	wg        stdsync.WaitGroup

	admit admission // under mu

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

	auth          AuthFunc
	permit        any // func(Identity, S, T) error, checked by NewServer
	rate          float64
	burst         int
	maxPending    int
	maxTransition int
	maxPresence   int
	presenceEvery time.Duration
	maxClients    int
	maxRooms      int
	connTimeout   time.Duration
	leaveGrace    time.Duration
	journal       journal.Journal
	snapEvery     int

	newRoomsPerClient int // see WithNewRoomsPerMinute
	newRoomsPerAddr   int
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
// never stalls its room; it resumes when it reconnects. Its queue is dropped and an error frame
// of code "overflow" sent in its place (a *ServerError at the client); a client that reads
// nothing for 5s more is cut without it.
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
// transport's own limit. A snapshot larger than half of it (or than 256 KiB) is sent in chunks,
// so a room of any size can be joined (see the package doc's Protocol section); a single frame
// over it (a huge transition) is reported to its client with code "too-large".
func WithMaxMessageSize(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1024 {
			return fmt.Errorf("%w: max message size %d, want at least 1024", ErrInvalidOption, n)
		}
		c.maxMessage = n
		return nil
	}
}

// WithLogger sets where the server reports connections closed for an error (default: nowhere):
// a connection the server ends is logged at level Info with the reason it gave the client.
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

// WithAuth sets the authentication hook, asked once per connection after its hello, before it
// joins its room: it sees the transport's metadata and the hello's token and returns the
// client's identity (its ClientID, which replaces the one the client presented, and the rooms
// it may join), or an error that refuses the connection with the error's message. Agents
// (Server.Agent) are not asked.
func WithAuth(f AuthFunc) ServerOption {
	return func(c *serverConfig) error {
		if f == nil {
			return fmt.Errorf("%w: nil auth hook", ErrInvalidOption)
		}
		c.auth = f
		return nil
	}
}

// WithPermission sets the per-transition permission hook, asked in the room's goroutine before
// each client transition is applied, with the sender's identity (see WithAuth; without it, an
// Identity holding only the Client), the room's state (read it, do not change it or keep it) and
// the transition. A non-nil error refuses the transition: its sender alone gets a rejection
// whose Err is a *RefusedError matching ErrForbidden; nobody else hears of it. Server events
// (timers, joins and leaves) are not asked. S and T must be the server's: NewServer returns an
// error matching ErrInvalidOption otherwise.
func WithPermission[S, T any](check func(id Identity, room string, state S, t T) error) ServerOption {
	return func(c *serverConfig) error {
		if check == nil {
			return fmt.Errorf("%w: nil permission hook", ErrInvalidOption)
		}
		c.permit = check
		return nil
	}
}

// WithRateLimit limits each client to perSecond transitions per second on average, in bursts of
// up to burst (a token bucket; burst < 1 means max(1, perSecond)). A transition over the limit
// is refused: its sender gets a rejection whose Err matches ErrLimit (code "rate"); the room
// carries on. Default: no limit.
func WithRateLimit(perSecond float64, burst int) ServerOption {
	return func(c *serverConfig) error {
		if perSecond <= 0 || burst < 0 {
			return fmt.Errorf("%w: rate limit of %g per second, burst %d", ErrInvalidOption, perSecond, burst)
		}
		c.rate, c.burst = perSecond, burst
		return nil
	}
}

// WithMaxPending bounds how many of one connection's transitions may wait, received but not yet
// processed by the room (default: no bound; the room's inbox pushes back on its readers). Those
// over it are refused (code "pending", matching ErrLimit).
func WithMaxPending(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max pending %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxPending = n
		return nil
	}
}

// WithMaxTransitionSize bounds the encoded size of one transition (default: no bound below the
// transport's message limit). A larger one is refused (code "size", matching ErrLimit).
func WithMaxTransitionSize(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max transition size %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxTransition = n
		return nil
	}
}

// WithMaxPresenceSize bounds the encoded size of one presence value (default 4 KiB). A larger
// one is dropped, as is one nested deeper than 16 levels of arrays and maps: the room's other
// clients keep the sender's previous value.
func WithMaxPresenceSize(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max presence size %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxPresence = n
		return nil
	}
}

// WithPresenceThrottle sets the shortest time between two presence values of one connection
// that the server passes on to the room (default 25ms, at most 40 a second): a value that comes
// sooner is held, and replaced by any later one, until the time has passed; the last one is
// always passed on. So a client that moves its cursor a thousand times a second, whatever its
// own WithPresenceInterval, costs the room at most 40 broadcasts a second. 0 passes every value
// on at once.
func WithPresenceThrottle(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d < 0 {
			return fmt.Errorf("%w: presence throttle %v", ErrInvalidOption, d)
		}
		c.presenceEvery = d
		return nil
	}
}

// WithMaxClientsPerRoom bounds how many connections a room serves at once (default: no bound).
// One more is refused with a *ServerError of code "limit" (matching ErrLimit); the client
// retries with backoff.
func WithMaxClientsPerRoom(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max clients per room %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxClients = n
		return nil
	}
}

// WithMaxRooms bounds how many rooms the server holds loaded at once (default
// DefaultMaxRooms; 0 means no bound). A connection to one more is refused with a *ServerError
// of code "limit" (matching ErrLimit; not fatal: the client retries with backoff). A loaded room
// that nobody is connected to costs a few KiB besides its state, and unloads after the idle time
// (see WithRoomIdle). See also WithNewRoomsPerMinute.
func WithMaxRooms(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 0 {
			return fmt.Errorf("%w: max rooms %d, want at least 0", ErrInvalidOption, n)
		}
		c.maxRooms = n
		return nil
	}
}

// WithConnTimeout sets how long a connection may stay silent before the server drops it as dead
// (default 45s; a client pings every 2s unless WithPingInterval says otherwise, and its
// interval must stay well under this timeout). Its client then leaves the room:
// its presence goes for everyone at once, and (for a Membership) its grace period starts.
func WithConnTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: connection timeout %v, want > 0", ErrInvalidOption, d)
		}
		c.connTimeout = d
		return nil
	}
}

// WithLeaveGrace sets how long a member of a room (see Membership) may be disconnected before
// it has left for good and its Left transition is applied (default 30s). Zero applies it as soon
// as its connection ends.
func WithLeaveGrace(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d < 0 {
			return fmt.Errorf("%w: leave grace %v, want ≥ 0", ErrInvalidOption, d)
		}
		c.leaveGrace = d
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
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Server[S, T]{
		permit:    permit,
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
func (s *Server[S, T]) Snapshot(ctx context.Context, name string) (S, uint64, error) {
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

// errTooManyRooms is acquire's error for a room over WithMaxRooms.
var errTooManyRooms = &ServerError{Code: codeLimit, Message: "the server holds as many rooms as it may"}

// roomInbox is how many messages a room's inbox holds before its senders wait. Every loaded room
// allocates it, so it is small: a room drains its inbox up to maxBatch messages per batch, and a
// reader that waits on a busy room is the back-pressure that bounds what the room buffers.
const roomInbox = 32

// acquire returns the room called name, loading it if needed, with one more reference held;
// ErrServerClosed if the server is closing, errTooManyRooms over the room limit.
func (s *Server[S, T]) acquire(name string) (*room[S, T], error) {
	return s.acquireFor(name, nil, "")
}

// acquireFor is acquire for connection sc of client (nil for the server's own calls): loading
// the room counts against the client's and its address's budgets of new rooms (see
// WithNewRoomsPerMinute), and is refused over them.
func (s *Server[S, T]) acquireFor(name string, sc *serverConn, client string) (*room[S, T], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, ErrServerClosed
	}
	r := s.rooms[name]
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
		}
		s.rooms[name] = r
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer r.stop()
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

// serverConn is one client connection on the server.
type serverConn struct {
	conn     transport.Conn
	wire     *wire
	q        *outq
	room     any // the *room it joined (set before join, under Server.mu), for Shutdown
	ident    Identity
	agent    bool
	inflight atomic.Int64 // submissions passed to the room and not yet processed

	// Owned by the room goroutine.
	sess       *session
	stage      []outItem
	staged     bool
	closeAfter bool
	closeWhy   error
}

// end sends the client an error frame that says why the server ends the connection, after what
// is queued, and makes the writer stop after it.
func (sc *serverConn) end(reason *ServerError) {
	if b, err := sc.wire.encode(&frame{Type: frameError, Code: reason.Code, Message: reason.Message, Fatal: reason.Fatal}); err == nil {
		sc.q.push(b)
	}
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
		s.refuse(sc, codeAuth, err.Error(), true)
		s.dropConn(sc, nil)
		return nil, nil, nil
	}
	identify(sc, h)
	r, err := s.acquireFor(h.Room, sc, string(h.Client))
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) {
			s.refuse(sc, se.Code, se.Message, se.Fatal)
		} else {
			s.refuse(sc, codeShutdown, "aper/sync: the server is shutting down", false)
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
		sc.end(&ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q stopped", room)})
	default:
		// The transport ended: the peer went away, or the writer closed it.
		sc.conn.Close()
		sc.q.closeAfterFlush(nil) // wakes the writer, which finds the connection closed
	}
}

// tooLarge tells the client that a frame for it was over the message limit.
func (s *Server[S, T]) tooLarge(sc *serverConn, err error) {
	reason := &ServerError{Code: codeTooLarge, Message: fmt.Sprintf("a frame for this client could not be sent: %v", err)}
	sc.q.closeAfterFlush(reason)
	b, e := sc.wire.encode(&frame{Type: frameError, Code: reason.Code, Message: reason.Message})
	if e != nil {
		return
	}
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
		sc.ident = Identity{Agent: true}
		return nil
	}
	if s.cfg.auth == nil {
		return nil
	}
	var meta any
	if m, ok := sc.conn.(transport.Metadata); ok {
		meta = m.Metadata()
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.helloTimeout)
	defer cancel()
	var id Identity
	err := catch("the auth hook", func() (err error) {
		id, err = s.cfg.auth(ctx, AuthRequest{Room: h.Room, Client: h.Client, Instance: h.Inst, Token: h.Token, Metadata: meta})
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
	id.Agent = false
	sc.ident = id
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
		s.refuse(sc, codeVersion, ve.Error(), true)
		return nil, ve
	case h.Room == "" || len(h.Room) > maxRoomName:
		err = fmt.Errorf("%w: room name of %d bytes, want 1 to %d", ErrProtocol, len(h.Room), maxRoomName)
	case len(h.Client) > maxClientID:
		err = fmt.Errorf("%w: client id of %d bytes, want at most %d", ErrProtocol, len(h.Client), maxClientID)
	case len(h.Key) < minClientKey || len(h.Key) > maxClientKey:
		err = fmt.Errorf("%w: client key of %d bytes, want %d to %d", ErrProtocol, len(h.Key), minClientKey, maxClientKey)
	}
	if err != nil {
		s.refuse(sc, codeProtocol, err.Error(), true)
		return nil, err
	}
	h.Inst = keyClientID(h.Key) // never the hello's own word
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

// errSilent ends a connection that brought nothing for the connection timeout.
var errSilent = &ServerError{Code: codeTimeout, Message: "the connection was silent for too long"}

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
			if err := unmarshal(sc.wire.payload, f.Data, &t); err != nil {
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
		if !r.send(roomMsg[T]{kind: msgSubmit, sc: sc, subs: subs, presence: presence, hasPresence: hasPres}) {
			return ErrServerClosed
		}
	}
	return err
}

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
			r.core.closeWith(sess, codeShutdown, "aper/sync: the server is shutting down", false)
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
