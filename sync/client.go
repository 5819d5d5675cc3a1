package sync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	stdsync "sync"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/undo"
)

// Client is one replica of a room's state, connected to a Server.
//
// Apply applies a transition at once to the optimistic view ([Client.State]) and queues it for
// the server, which orders it among everybody's transitions. Transitions of other clients are
// applied as the server confirms them, and the client's own pending ones are rebased on top. A
// transition the server refuses comes back on [Client.Rejections] and leaves the view.
//
// [Client.Subscribe] streams what happened (others' transitions, own ones confirmed, rebases,
// rejections) to any number of readers; [Client.Submit] is Apply with a [Handle] to wait on;
// [Client.Disconnect] and [Client.Reconnect] take the client offline and back on purpose; with
// [WithUndo], [Client.Undo] and [Client.Redo] take back the client's own transitions only.
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

	recv  snapRecv        // a chunked snapshot being received; owned by the connection goroutine
	items []inbound[S, T] // the frames of the message being handled, a buffer reused; owned likewise

	mu     stdsync.Mutex
	core   clientCore[S, T]
	cur    *clientConn // the live connection, or nil
	status Status
	rejQ   []Rejection[T]
	subs   []*Subscription[T] // Subscribe
	conds  []clientWait       // Sync, Settled and WaitSeq calls

	offline       bool               // Disconnect: make no connection until Reconnect
	online        chan struct{}      // closed by Reconnect
	attemptCancel context.CancelFunc // cancels the connection attempt under way

	// Presence: this client's value (sent at most once per presence interval, the last one
	// always), and the other clients' values as the server last told.
	pres      any
	presSet   bool // pres is a value to keep on the server (not a clear)
	presDirty bool // pres has not been sent on the current connection
	presLast  time.Time
	presTimer *time.Timer
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

	undo     bool          // WithUndo
	undoOpts *undo.Options // WithUndo
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
	if why := badRoomName(room); why != "" {
		return nil, wrap(fmt.Errorf("%w: %s", ErrInvalidOption, why), "dial room %q", room)
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
	}
	c.core.nonce = rand.Uint64()
	if cfg.undo {
		if err := canUndo[S, T](); err != nil {
			cancel(err)
			return nil, wrap(err, "dial room %q", room)
		}
		c.core.undo = undo.New[T](cfg.undoOpts)
	}
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
	_, err := c.apply(t)
	return err
}

func (c *Client[S, T]) apply(t T) (*Handle, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		return nil, fmt.Errorf("aper/sync: apply: %w", ErrClosed)
	}
	if c.cfg.maxPending > 0 && len(c.core.pending) >= c.cfg.maxPending {
		return nil, wrap(fmt.Errorf("%w: %d transitions wait for the server", ErrLimit, c.cfg.maxPending), "apply")
	}
	if err := encodable(t); err != nil {
		return nil, fmt.Errorf("aper/sync: apply: %w", err)
	}
	h, _, _, err := c.applyLocked(t, true)
	if err != nil {
		return nil, fmt.Errorf("aper/sync: apply: %w", err)
	}
	return h, nil
}

// applyLocked applies t as the user's own, sends it if connected, and returns its handle and,
// with an undo stack, its inverse (ok says it has one). record says the inverse goes on the
// undo stack.
func (c *Client[S, T]) applyLocked(t T, record bool) (h *Handle, inv T, ok bool, err error) {
	local, form, inv, ok, err := c.core.applyAs(t, time.Now(), record)
	if err != nil {
		return nil, inv, false, err
	}
	h = newHandle(c.done)
	h.local = local
	c.core.pending[len(c.core.pending)-1].h = h
	if c.cur != nil {
		c.sendLocked(c.cur, local, form)
	}
	c.core.changed = false // the caller knows its own change
	return h, inv, ok, nil
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
// wait may still miss the last rejections. A [Handle] (Submit) and a [Subscription]
// (EventRejected) have it deterministically: both hold it before Sync or Settled returns.
func (c *Client[S, T]) Rejections() <-chan Rejection[T] { return c.rejOut }

// Done is closed when the client stops connecting: after Close, or after a fatal error (see
// Status).
func (c *Client[S, T]) Done() <-chan struct{} { return c.done }

// Sync waits until every transition applied so far has been confirmed or rejected by the server.
// It returns ctx's error if ctx ends first, and the client's error if it stops first.
func (c *Client[S, T]) Sync(ctx context.Context) error {
	return c.waitFor(ctx, "sync", func() bool { return len(c.core.pending) == 0 })
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
		c.closeSubsLocked()
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
