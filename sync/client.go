package sync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
)

// Client is one replica of a room's state, connected to a Server.
//
// Apply applies a transition at once to the optimistic view ([Client.State]) and queues it for
// the server, which orders it among everybody's transitions. Transitions of other clients are
// applied as the server confirms them, and the client's own pending ones are rebased on top. A
// transition the server refuses comes back on [Client.Rejections] and leaves the view.
//
// When the connection drops, the client reconnects with exponential backoff and jitter,
// resumes from the last Seq it had confirmed (or takes a snapshot if the server's log has moved
// on), and re-sends its pending transitions; the server applies each at most once.
//
// Concurrency: every method may be called from any goroutine. The client runs two goroutines of
// its own (the connection and the rejection queue) plus a writer per connection, and Close stops
// them all and waits. Notifications never block the client: [Client.Changes] and
// [Client.StatusChanges] are coalesced signals (a buffer of one) after which the caller reads
// State, Seq or Status; [Client.Rejections] delivers every rejection in order from an unbounded
// queue, so a caller that never reads it keeps them in memory.
type Client[S aper.StateMachine[S, T], T any] struct {
	dialer transport.Dialer
	room   string
	cfg    clientConfig

	ctx    context.Context // ends on Close
	cancel context.CancelCauseFunc
	wg     stdsync.WaitGroup

	recv snapRecv // a chunked snapshot being received; owned by the connection goroutine

	mu      stdsync.Mutex
	core    clientCore[S, T]
	cur     *clientConn // the live connection, or nil
	status  Status
	waiters []chan struct{} // Sync calls, woken when nothing is pending
	rejQ    []Rejection[T]

	// Presence: this client's value (sent at most once per presence interval, the last one
	// always), and the other clients' values as the server last told.
	pres      any
	presSet   bool // pres is a value to keep on the server (not a clear)
	presDirty bool // pres has not been sent on the current connection
	presLast  time.Time
	presTimer *time.Timer
	peers     map[aper.ClientID]raw
	peerCodec aper.Codec
	presCh    chan struct{}

	changes   chan struct{}
	statusCh  chan struct{}
	rejSignal chan struct{}
	rejOut    chan Rejection[T]
	done      chan struct{} // closed when the client stops connecting
	closeOnce stdsync.Once
}

// ConnState says whether a Client is connected.
type ConnState uint8

// The connection states.
const (
	// Connected: the client is live on a connection; Apply sends at once.
	Connected ConnState = iota + 1
	// Disconnected: the connection dropped and the client is reconnecting, or it has not
	// connected yet after an offline start (WithClientStore); Apply queues.
	Disconnected
	// Closed: the client stopped, by Close (Err is nil) or for a fatal error (Err says which).
	Closed
)

// String returns "connected", "disconnected" or "closed".
func (s ConnState) String() string {
	switch s {
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("ConnState(%d)", uint8(s))
}

// Status is a Client's connection state and, when it is not connected, why.
type Status struct {
	State ConnState
	Err   error
}

type clientConfig struct {
	backoffMin, backoffMax time.Duration
	ping                   time.Duration
	handshake              time.Duration
	maxMessage             int
	token                  string
	key                    string
	presenceInterval       time.Duration
	maxPending             int
	storeDir               string       // WithClientStore
	dialRetry              bool         // WithDialRetry
	dialReport             func(Status) // WithDialRetry
}

// ClientOption configures Dial. Options validate their arguments: Dial returns an error matching
// ErrInvalidOption for a bad one.
type ClientOption func(*clientConfig) error

// WithBackoff sets the delay before reconnecting: from lo, doubling after each failed attempt,
// up to hi, each drawn at random from its upper half (jitter). Defaults: 100ms and 10s.
func WithBackoff(lo, hi time.Duration) ClientOption {
	return func(c *clientConfig) error {
		if lo <= 0 || hi < lo {
			return fmt.Errorf("%w: backoff from %v to %v", ErrInvalidOption, lo, hi)
		}
		c.backoffMin, c.backoffMax = lo, hi
		return nil
	}
}

// WithPingInterval sets how often the client pings the server, which answers each ping at once
// (default 2s: 30 pings a minute per client, each a few bytes, and as many answers). A connection
// that brings nothing for three intervals (6s by default) is taken as dead, on any transport,
// even one that keeps silent rather than failing (a crashed server behind a NAT or a QUIC
// connection that nobody resets): the client reports Disconnected and reconnects. A shorter
// interval finds a dead server sooner at the cost of more pings; on a link so slow that one
// message takes longer than three intervals to arrive, make it longer. Keep it well under the
// server's WithConnTimeout.
func WithPingInterval(d time.Duration) ClientOption {
	return func(c *clientConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: ping interval %v", ErrInvalidOption, d)
		}
		c.ping = d
		return nil
	}
}

// WithHandshakeTimeout bounds each connection's dial and hello/welcome exchange (default 10s).
func WithHandshakeTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: handshake timeout %v", ErrInvalidOption, d)
		}
		c.handshake = d
		return nil
	}
}

// WithToken sets the token the client sends in each hello, for the server's authentication hook
// (AuthRequest.Token): a session cookie's value, a signed ticket.
func WithToken(token string) ClientOption {
	return func(c *clientConfig) error {
		c.token = token
		return nil
	}
}

// WithClientKey sets the client's secret key, which the client sends in every hello and the
// server derives the client's id from (unless the authentication hook gives one): a client that
// is given the key of an earlier one (kept in a file or in a browser's storage) is the same
// client, with the same id, in every room, and numbers its transitions on from where the earlier
// one stopped. The key must stay secret: whoever holds it can act as the client. It must be 16
// to 128 bytes; without this option each Dial makes a random one.
func WithClientKey(key string) ClientOption {
	return func(c *clientConfig) error {
		if len(key) < minClientKey || len(key) > maxClientKey {
			return fmt.Errorf("%w: client key of %d bytes, want %d to %d", ErrInvalidOption, len(key), minClientKey, maxClientKey)
		}
		c.key = key
		return nil
	}
}

// WithPresenceInterval sets the shortest time between two presence values the client sends
// (default 50ms, so at most 20 a second): SetPresence calls in between are coalesced, and the
// last value is always sent.
func WithPresenceInterval(d time.Duration) ClientOption {
	return func(c *clientConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: presence interval %v", ErrInvalidOption, d)
		}
		c.presenceInterval = d
		return nil
	}
}

// WithPendingLimit bounds how many of the client's transitions may wait for the server's
// verdict: over it, Apply returns an error matching ErrLimit and applies nothing (default: no
// bound).
func WithPendingLimit(n int) ClientOption {
	return func(c *clientConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: pending limit %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxPending = n
		return nil
	}
}

// defaultPingInterval is WithPingInterval's default.
const defaultPingInterval = 2 * time.Second

// deadAfter is how many ping intervals without a message make a connection dead.
const deadAfter = 3

// clientConn is one connection of a client.
type clientConn struct {
	conn transport.Conn
	wire *wire
	q    *outq
}

// Dial connects to room through dialer and returns once the client holds the room's state. If
// the first connection fails, Dial returns its error, unless WithDialRetry makes it try again.
// With a client store (WithClientStore) that holds the room's state, Dial does not wait for the
// server: it returns at once a client that shows the stored view, accepts Apply, is Disconnected
// (with a nil Err until an attempt fails) and connects in the background. Once Dial has
// returned, failures are retried in the background (see [Client.Status]).
func Dial[S aper.StateMachine[S, T], T any](ctx context.Context, dialer transport.Dialer, room string, opts ...ClientOption) (*Client[S, T], error) {
	if dialer == nil {
		return nil, wrap(fmt.Errorf("%w: nil dialer", ErrInvalidOption), "dial room %q", room)
	}
	if room == "" || len(room) > maxRoomName {
		return nil, wrap(fmt.Errorf("%w: room name of %d bytes, want 1 to %d", ErrInvalidOption, len(room), maxRoomName), "dial room %q", room)
	}
	cfg := clientConfig{
		backoffMin: 100 * time.Millisecond,
		backoffMax: 10 * time.Second,
		ping:       defaultPingInterval,
		handshake:  10 * time.Second,
		maxMessage: transport.DefaultMaxMessageSize,

		presenceInterval: 50 * time.Millisecond,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, wrap(err, "dial room %q", room)
		}
	}
	cctx, cancel := context.WithCancelCause(context.Background())
	c := &Client[S, T]{
		dialer:    dialer,
		room:      room,
		cfg:       cfg,
		ctx:       cctx,
		cancel:    cancel,
		changes:   make(chan struct{}, 1),
		statusCh:  make(chan struct{}, 1),
		rejSignal: make(chan struct{}, 1),
		rejOut:    make(chan Rejection[T]),
		done:      make(chan struct{}),
		presCh:    make(chan struct{}, 1),
		peers:     make(map[aper.ClientID]raw),
	}
	c.core.nonce = rand.Uint64()
	if cfg.storeDir != "" {
		st, key, err := openClientStore(cfg.storeDir, room, cfg.key, &c.core)
		if err != nil {
			cancel(err)
			return nil, wrap(err, "dial room %q", room)
		}
		c.core.store, c.cfg.key = st, key
	}
	if c.cfg.key == "" {
		c.cfg.key = newClientKey()
	}
	cc, err := c.dial(ctx)
	if err != nil {
		c.core.store.close()
		cancel(err)
		return nil, wrap(err, "dial room %q", room)
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		defer close(c.done)
		c.run(cc)
	}()
	go func() {
		defer c.wg.Done()
		c.forward()
	}()
	return c, nil
}

// Apply applies t to the optimistic view at once and queues it for the server. If t conflicts
// with the view, Apply returns the conflict (errors.As finds the *conflict.Conflict), changes
// nothing and sends nothing. After Close it returns an error matching ErrClosed.
//
// t is taken as made on the view as State last returned it, changed by the Apply calls since:
// the server's frames that came in between are folded into the view when it is next read. For
// a state that rebases its own transitions (aper.Rebaser, as text.Text does), t is applied to
// that view and rewritten for the server as the pending transitions were meanwhile, so an edit
// made just before others' edits arrived lands where it was made.
func (c *Client[S, T]) Apply(t T) error {
	c.mu.Lock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		c.mu.Unlock()
		return fmt.Errorf("aper/sync: apply: %w", ErrClosed)
	}
	if c.cfg.maxPending > 0 && len(c.core.pending) >= c.cfg.maxPending {
		c.mu.Unlock()
		return wrap(fmt.Errorf("%w: %d transitions wait for the server", ErrLimit, c.cfg.maxPending), "apply")
	}
	local, form, err := c.core.apply(t, time.Now())
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("aper/sync: apply: %w", err)
	}
	if c.cur != nil {
		c.sendLocked(c.cur, local, form)
	}
	c.core.takeNotes() // the caller knows its own change
	c.mu.Unlock()
	return nil
}

// sendLocked queues a submit on cc. A transition that does not encode cannot reach the
// server: it is dropped from the pending queue and reported as rejected.
func (c *Client[S, T]) sendLocked(cc *clientConn, local uint64, t T) {
	data, err := cc.wire.payload.Marshal(t)
	var b []byte
	if err == nil {
		b, err = cc.wire.encode(&frame{Type: frameSubmit, Local: local, Data: data})
	}
	if err != nil {
		// Encoding is deterministic: it will not work on a retry either. Leave it pending so
		// that exactly-once bookkeeping stays simple; the connection is replaced, and the next
		// hello's resolution reports it. Close the connection to force that.
		cc.conn.Close()
		return
	}
	if !cc.q.push(b) {
		cc.conn.Close()
	}
	c.core.held = max(c.core.held, local) // the server may have it as it is
}

// State returns the optimistic view: the confirmed state with this client's pending
// transitions applied. It is a Clone (O(1) for the library's structures), the caller's to read
// or change; changing it changes nothing else.
func (c *Client[S, T]) State() S {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.core.rebase()
	return c.core.view.Clone()
}

// Seq returns the Seq of the last transition the server confirmed to this client.
func (c *Client[S, T]) Seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.seq
}

// Pending returns how many of this client's transitions wait for the server's verdict.
func (c *Client[S, T]) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.core.pending)
}

// ID returns the client's id in the room, which it keeps across reconnections.
func (c *Client[S, T]) ID() aper.ClientID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.id
}

// Status returns the connection state.
func (c *Client[S, T]) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Changes signals (coalesced) that State or Seq changed because of the server: a transition of
// another client, a rebase, a rollback, a confirmation. Apply's own change is not signalled.
func (c *Client[S, T]) Changes() <-chan struct{} { return c.changes }

// StatusChanges signals (coalesced) that Status changed.
func (c *Client[S, T]) StatusChanges() <-chan struct{} { return c.statusCh }

// Rejections delivers each transition of this client that the server refused, in order. It is
// closed after Close; rejections not yet read then are dropped.
//
// A rejection is handed to the channel by the client's own goroutine, possibly just after
// Pending and Sync count its transition resolved: once Pending is 0, a receive that does not
// wait may still miss the last rejections.
func (c *Client[S, T]) Rejections() <-chan Rejection[T] { return c.rejOut }

// Done is closed when the client stops connecting: after Close, or after a fatal error (see
// Status).
func (c *Client[S, T]) Done() <-chan struct{} { return c.done }

// Sync waits until every transition applied so far has been confirmed or rejected by the server.
// It returns ctx's error if ctx ends first, and the client's error if it stops first.
func (c *Client[S, T]) Sync(ctx context.Context) error {
	c.mu.Lock()
	if len(c.core.pending) == 0 {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, ch)
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.done:
		st := c.Status()
		if st.Err != nil {
			return wrap(st.Err, "sync")
		}
		return fmt.Errorf("aper/sync: sync: %w", ErrClosed)
	}
}

// Close disconnects and stops the client. Pending transitions are abandoned: the server may or
// may not have applied them. Close is idempotent and waits for the client's goroutines.
func (c *Client[S, T]) Close() error {
	c.closeOnce.Do(func() {
		c.cancel(ErrClosed)
		c.mu.Lock()
		if c.cur != nil {
			c.cur.conn.Close()
		}
		if c.presTimer != nil {
			c.presTimer.Stop()
			c.presTimer = nil
		}
		c.mu.Unlock()
		c.wg.Wait()
		c.mu.Lock()
		c.core.store.close()
		if c.status.State != Closed {
			c.status = Status{State: Closed}
		}
		c.mu.Unlock()
		c.signal(c.statusCh)
	})
	c.wg.Wait()
	return nil
}

func (c *Client[S, T]) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (c *Client[S, T]) setStatus(st Status) {
	c.mu.Lock()
	c.status = st
	c.mu.Unlock()
	c.signal(c.statusCh)
}

// forward moves rejections from the unbounded queue to the Rejections channel.
func (c *Client[S, T]) forward() {
	defer close(c.rejOut)
	for {
		c.mu.Lock()
		if len(c.rejQ) == 0 {
			c.mu.Unlock()
			select {
			case <-c.rejSignal:
				continue
			case <-c.ctx.Done():
				return
			}
		}
		r := c.rejQ[0]
		c.rejQ[0] = Rejection[T]{}
		c.rejQ = c.rejQ[1:]
		c.mu.Unlock()
		select {
		case c.rejOut <- r:
		case <-c.ctx.Done():
			return
		}
	}
}

// fatal reports whether err must stop the client from reconnecting.
func fatal(err error) bool {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Fatal
	}
	var ve *VersionError
	return errors.As(err, &ve)
}

// dial makes Dial's first connection, trying again with backoff if WithDialRetry asks, and sets
// the client's status. It returns a nil connection and no error for an offline start: the client
// store holds the room's state, so the client is usable at once and connects in the background.
func (c *Client[S, T]) dial(ctx context.Context) (*clientConn, error) {
	c.mu.Lock()
	restored := c.core.hasState
	c.mu.Unlock()
	if restored {
		c.status = Status{State: Disconnected}
		return nil, nil
	}
	for attempt := 0; ; attempt++ {
		cc, err := c.connect(ctx)
		if err == nil {
			c.status = Status{State: Connected}
			return cc, nil
		}
		if fatal(err) || ctx.Err() != nil {
			return nil, err
		}
		if !c.cfg.dialRetry {
			return nil, err
		}
		if c.cfg.dialReport != nil {
			c.cfg.dialReport(Status{State: Disconnected, Err: err})
		}
		if !c.sleep(ctx, attempt) {
			return nil, fmt.Errorf("%w; the last attempt: %w", context.Cause(ctx), err)
		}
	}
}

// sleep waits for the backoff before reconnection attempt+1 (0, 1, 2, ...): from the minimum
// delay, doubling after each failed attempt, up to the maximum, each drawn at random from its
// upper half. It returns false if ctx or the client ended first.
func (c *Client[S, T]) sleep(ctx context.Context, attempt int) bool {
	d := c.cfg.backoffMin << min(attempt, 30)
	if d > c.cfg.backoffMax || d <= 0 {
		d = c.cfg.backoffMax
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run serves cc (nil after an offline start), then reconnects with backoff until Close or a
// fatal error.
func (c *Client[S, T]) run(cc *clientConn) {
	for {
		now := cc == nil // an offline start: the first attempt is at once
		if cc != nil {
			err := c.serve(cc)
			c.mu.Lock()
			c.cur = nil
			c.mu.Unlock()
			if c.ctx.Err() != nil {
				return
			}
			if fatal(err) {
				c.setStatus(Status{State: Closed, Err: err})
				return
			}
			c.setStatus(Status{State: Disconnected, Err: err})
		}
		for attempt := 0; ; attempt++ {
			if !now && !c.sleep(c.ctx, attempt) {
				return
			}
			now = false
			var err error
			cc, err = c.connect(c.ctx)
			if err == nil {
				break
			}
			if c.ctx.Err() != nil {
				return
			}
			if fatal(err) {
				c.setStatus(Status{State: Closed, Err: err})
				return
			}
			c.setStatus(Status{State: Disconnected, Err: err})
		}
		c.setStatus(Status{State: Connected})
	}
}

// connect dials, says hello and handles the server's first message (the welcome).
func (c *Client[S, T]) connect(ctx context.Context) (*clientConn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.handshake)
	defer cancel()
	conn, err := c.dialer.Dial(ctx)
	if err != nil {
		return nil, err
	}
	w, err := wireOf(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	cc := &clientConn{conn: conn, wire: w, q: newOutq(0, nil)}
	c.mu.Lock()
	h := c.core.hello(c.room)
	h.Token, h.Key = c.cfg.token, c.cfg.key
	c.mu.Unlock()
	c.recv.hello(&h, w)
	b, err := w.encode(&h)
	if err == nil {
		err = conn.Send(ctx, b)
	}
	var msg []byte
	if err == nil {
		msg, err = conn.Recv(ctx)
	}
	if err == nil {
		err = c.handle(cc, msg, true)
	}
	if err == nil && c.recv.active() {
		err = c.receiveSnapshot(cc)
	}
	if err != nil {
		c.mu.Lock()
		if c.cur == cc {
			c.cur = nil
		}
		c.mu.Unlock()
		conn.Close()
		return nil, err
	}
	return cc, nil
}

// receiveSnapshot receives the chunks of the snapshot that the welcome announced, however many
// there are: each must arrive within the handshake timeout (a stalled transfer fails, and the
// next connection resumes it). Meanwhile the client pings, so that the server does not take the
// connection as silent.
func (c *Client[S, T]) receiveSnapshot(cc *clientConn) error {
	ping, _ := cc.wire.encode(&frame{Type: framePing})
	stop := make(chan struct{})
	pinged := make(chan struct{})
	go func() { // owned by receiveSnapshot, which waits for it
		defer close(pinged)
		t := time.NewTicker(c.cfg.ping)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(c.ctx, c.cfg.handshake)
				cc.conn.Send(ctx, ping) // a failure shows in Recv
				cancel()
			}
		}
	}()
	defer func() {
		close(stop)
		<-pinged
	}()
	for c.recv.active() {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.handshake)
		msg, err := cc.conn.Recv(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("aper/sync: receive snapshot: %w", err)
		}
		if err := c.handle(cc, msg, false); err != nil {
			return err
		}
	}
	return nil
}

// serve runs cc until it fails: this goroutine reads, a writer goroutine sends and pings.
func (c *Client[S, T]) serve(cc *clientConn) error {
	ticker := time.NewTicker(c.cfg.ping)
	defer ticker.Stop()
	ping, _ := cc.wire.encode(&frame{Type: framePing})
	writerDone := make(chan struct{})
	go func() { // owned by serve, which waits for it
		defer close(writerDone)
		writeLoop(c.ctx, cc.conn, cc.wire, cc.q, c.cfg.maxMessage, ticker.C, func() []byte { return ping })
		cc.conn.Close()
	}()
	defer func() {
		cc.conn.Close()
		cc.q.closeAfterFlush(nil) // wakes the writer, which finds the connection closed
		<-writerDone
	}()
	for {
		ctx, cancel := context.WithTimeoutCause(c.ctx, deadAfter*c.cfg.ping, ErrServerSilent)
		msg, err := cc.conn.Recv(ctx)
		silent := context.Cause(ctx) == ErrServerSilent
		cancel()
		if err != nil {
			if c.ctx.Err() != nil {
				return context.Cause(c.ctx)
			}
			if silent {
				return fmt.Errorf("aper/sync: connection lost: %w", ErrServerSilent)
			}
			return fmt.Errorf("aper/sync: connection lost: %w", err)
		}
		if err := c.handle(cc, msg, false); err != nil {
			return err
		}
	}
}

// inbound is a decoded frame with its decoded payload.
type inbound[S, T any] struct {
	f    frame
	t    T
	snap S
	pres raw
}

// handle decodes one transport message (payloads outside the lock) and feeds its frames to the
// core. first says it is the answer to the hello, which must begin with a welcome.
func (c *Client[S, T]) handle(cc *clientConn, msg []byte, first bool) error {
	var (
		items      []inbound[S, T]
		sawWelcome bool
	)
	// snapshot adds the welcome of a chunked snapshot that is now complete.
	snapshot := func() error {
		data, wf, err := c.recv.finish()
		if err != nil {
			return err
		}
		it := inbound[S, T]{f: *wf}
		if err := unmarshal(cc.wire.payload, data, &it.snap); err != nil {
			return fmt.Errorf("%w: snapshot: %v", ErrProtocol, err)
		}
		items = append(items, it)
		return nil
	}
	err := cc.wire.decode(msg, func(f *frame) error {
		if first && !sawWelcome && f.Type != frameWelcome && f.Type != frameError {
			return fmt.Errorf("%w: the server answered hello with %v", ErrProtocol, f.Type)
		}
		if c.recv.active() && f.Type != frameChunk && f.Type != frameError {
			return fmt.Errorf("%w: a %v frame in the middle of a snapshot's chunks", ErrProtocol, f.Type)
		}
		it := inbound[S, T]{f: *f}
		switch f.Type {
		case frameWelcome:
			if !first || sawWelcome {
				return fmt.Errorf("%w: a second welcome", ErrProtocol)
			}
			sawWelcome = true
			if f.V != ProtocolVersion {
				return &VersionError{Peer: f.V, Ours: ProtocolVersion}
			}
			if f.Snapshot && f.Size > 0 {
				// A chunked snapshot: the welcome takes effect with its last chunk.
				done, err := c.recv.start(f, cc.wire)
				if err != nil || !done {
					return err
				}
				return snapshot()
			}
			c.recv.reset() // what an earlier connection received of a snapshot is of no use now
			if f.Snapshot {
				if err := unmarshal(cc.wire.payload, f.Data, &it.snap); err != nil {
					return fmt.Errorf("%w: snapshot: %v", ErrProtocol, err)
				}
			}
		case frameConfirmed:
			if err := unmarshal(cc.wire.payload, f.Data, &it.t); err != nil {
				return fmt.Errorf("%w: confirmed %d: %v", ErrProtocol, f.Seq, err)
			}
		case frameChunk:
			done, err := c.recv.add(f)
			if err != nil || !done {
				return err
			}
			return snapshot()
		case frameError:
			if f.Code == codeTooLarge {
				// A frame for this client was too large to send: a snapshot goes round it.
				c.mu.Lock()
				c.core.resync = true
				c.mu.Unlock()
			}
			// The server's reason, without a prefix of ours that the ServerError prints.
			return &ServerError{Code: f.Code, Message: strings.TrimPrefix(f.Message, prefix), Fatal: f.Fatal}
		case framePresence:
			if !first || sawWelcome {
				it.pres = append(raw(nil), f.Data...)
				break
			}
			return fmt.Errorf("%w: the server answered hello with %v", ErrProtocol, f.Type)
		case frameRejected, framePong:
		default:
			return fmt.Errorf("%w: unexpected %v frame from the server", ErrProtocol, f.Type)
		}
		it.f.Data = nil
		items = append(items, it)
		return nil
	})
	// Frames before an error still count.
	c.mu.Lock()
	var (
		herr        error
		presChanged bool
	)
	for i := range items {
		it := &items[i]
		var sends []pendingEntry[T]
		switch it.f.Type {
		case frameWelcome:
			sends, herr = c.core.welcome(&it.f, it.snap, time.Now())
		case frameConfirmed:
			sends, herr = c.core.confirmedFrame(&it.f, it.t)
		case frameRejected:
			c.core.rejected(&it.f)
		case framePresence:
			if nullPayload(it.pres) {
				delete(c.peers, it.f.Client)
			} else {
				c.peers[it.f.Client] = it.pres
			}
			presChanged = true
		}
		if it.f.Type == frameWelcome && herr == nil {
			clear(c.peers)
			for _, p := range it.f.Presence {
				c.peers[p.Client] = p.Data
			}
			c.peerCodec = cc.wire.payload
			presChanged = true
		}
		if herr != nil {
			c.core.resync = true // keep the view; take a snapshot on the next connection
			break
		}
		for _, p := range sends {
			c.sendLocked(cc, p.local, p.t)
		}
	}
	if herr == nil && err == nil && c.core.live && c.cur != cc {
		c.cur = cc
		// A new connection: the server forgot this client's presence with the old one.
		c.presDirty, c.presLast = c.presSet, time.Time{}
		c.flushPresenceLocked(time.Now())
	}
	c.core.store.settle(&c.core)
	if c.core.dirty {
		// The view is rebuilt when it is read (State, Apply): a client catching up rebases its
		// pending transitions once per batch of the server's, not once per message.
		c.core.changed = true
	}
	changed, rejs := c.core.takeNotes()
	if len(c.core.pending) == 0 {
		for _, w := range c.waiters {
			close(w)
		}
		c.waiters = nil
	}
	if len(rejs) > 0 {
		c.rejQ = append(c.rejQ, rejs...)
	}
	c.mu.Unlock()
	if changed {
		c.signal(c.changes)
	}
	if presChanged {
		c.signal(c.presCh)
	}
	if len(rejs) > 0 {
		c.signal(c.rejSignal)
	}
	if herr != nil {
		return herr
	}
	return err
}

// Presence is another client's presence value, as the server last told this client.
type Presence struct {
	Client aper.ClientID
	data   raw
	codec  aper.Codec
}

// Decode decodes the value into v, as the codec of the connection decodes it (a value set as a
// struct decodes into the same struct; into an any, JSON gives map[string]any and float64).
func (p Presence) Decode(v any) error {
	if err := p.codec.Unmarshal(p.data, v); err != nil {
		return fmt.Errorf("aper/sync: presence of %s: %w", p.Client, err)
	}
	return nil
}

// SetPresence sets this client's presence value (a name, a cursor, a selection: any value the
// connection's codec encodes), which the server passes to the room's other clients: unordered,
// last value wins, not part of the state, never journaled. nil clears it. The value is gone for
// everyone when the client closes, or its connection drops or times out; the client sends it
// again when it reconnects. Values set faster than the presence interval (WithPresenceInterval)
// are coalesced: the last one is always sent.
//
// In a room with both JSON and CBOR clients the server converts values through a generic value:
// use values that encode alike in both codecs (maps with string keys; structs whose JSON and
// CBOR field names agree, not CBOR "keyasint" ones); a value that does not convert does not reach
// the other codec's clients.
func (c *Client[S, T]) SetPresence(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		return fmt.Errorf("aper/sync: set presence: %w", ErrClosed)
	}
	if v != nil && c.peerCodec != nil {
		if _, err := c.peerCodec.Marshal(v); err != nil {
			return fmt.Errorf("aper/sync: set presence: %w", err)
		}
	}
	c.pres, c.presSet, c.presDirty = v, v != nil, true
	c.flushPresenceLocked(time.Now())
	return nil
}

// flushPresenceLocked sends the presence value if it is unsent and the interval allows, or arms
// the timer that sends it when it does.
func (c *Client[S, T]) flushPresenceLocked(now time.Time) {
	if !c.presDirty || c.cur == nil || c.presTimer != nil || c.ctx.Err() != nil {
		return
	}
	if !c.presLast.IsZero() {
		if wait := c.presLast.Add(c.cfg.presenceInterval).Sub(now); wait > 0 {
			c.presTimer = time.AfterFunc(wait, c.presenceDue)
			return
		}
	}
	cc := c.cur
	data, err := cc.wire.payload.Marshal(c.pres)
	if err != nil {
		c.presDirty = false // checked by SetPresence; a value that stopped encoding is dropped
		return
	}
	b, err := cc.wire.encode(&frame{Type: framePresence, Data: data})
	if err == nil && cc.q.push(b) {
		c.presDirty, c.presLast = false, now
	}
}

func (c *Client[S, T]) presenceDue() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.presTimer = nil
	c.flushPresenceLocked(time.Now())
}

// Presence returns the presence values of the room's other clients, sorted by client id.
func (c *Client[S, T]) Presence() []Presence {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := make([]Presence, 0, len(c.peers))
	for id, d := range c.peers {
		list = append(list, Presence{Client: id, data: d, codec: c.peerCodec})
	}
	slices.SortFunc(list, func(a, b Presence) int { return strings.Compare(string(a.Client), string(b.Client)) })
	return list
}

// PresenceChanges signals (coalesced) that Presence changed.
func (c *Client[S, T]) PresenceChanges() <-chan struct{} { return c.presCh }
