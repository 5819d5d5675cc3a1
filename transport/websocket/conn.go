// Package websocket carries aper's messages over WebSocket (RFC 6455), with
// github.com/coder/websocket.
//
// The server side is a [*Server]: an http.Handler that mounts in any router and also a
// transport.Listener whose Accept returns the upgraded connections. [Listen] starts one on its own
// HTTP server. The client side is [Dial], or a [Dialer] for code that reconnects.
//
// The codec is chosen per connection by subprotocol: "aper.json" uses text frames (one JSON
// document a message), "aper.cbor" binary frames. A connection's Codec method (transport.Codec)
// says which; a client that asks for no subprotocol (a browser, say) gets JSON. Metadata
// (transport.Metadata) returns the upgrade's *http.Request on the server side, for an
// authentication hook.
//
// Each side pings its peer every PingInterval and closes the connection when no pong (nor any
// other message) comes back within PingTimeout, so a half-open connection is noticed within
// about PingInterval + PingTimeout.
//
// The client side builds for browsers (GOOS=js GOARCH=wasm): there Dial opens the browser's own
// WebSocket, which cannot carry HTTP headers (see [DialOptions]) and answers pings itself. The
// Server builds there too, but a browser cannot accept connections.
package websocket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/internal/inbox"
)

// Subprotocols of the codecs.
const (
	SubprotocolJSON = "aper.json"
	SubprotocolCBOR = "aper.cbor"
)

// Defaults of the options.
const (
	DefaultPingInterval = 15 * time.Second
	DefaultPingTimeout  = 10 * time.Second
	DefaultCloseTimeout = 2 * time.Second
	// DefaultHandshakeTimeout bounds the reading of an upgrade request's headers by a Server
	// started with Listen (ServerOptions.HandshakeTimeout).
	DefaultHandshakeTimeout = 10 * time.Second
)

var (
	errClosed     = fmt.Errorf("aper/transport/websocket: %w", net.ErrClosed)
	errPeerClosed = fmt.Errorf("aper/transport/websocket: peer closed the connection: %w", net.ErrClosed)
)

// ConnOptions are the options of a connection, on either side. The zero value means the
// defaults.
type ConnOptions struct {
	// MaxMessageSize is the largest message sent or received, in bytes; 0 means
	// transport.DefaultMaxMessageSize.
	MaxMessageSize int
	// PingInterval is the time from a connection's start, or from a ping's answer, to the next
	// ping; 0 means DefaultPingInterval, a negative value turns pings off.
	PingInterval time.Duration
	// PingTimeout is how long a ping waits for its pong (or any message) before the
	// connection is deemed dead and closed; 0 means DefaultPingTimeout.
	PingTimeout time.Duration
	// CloseTimeout bounds Close's closing handshake; 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
}

func (o ConnOptions) withDefaults() ConnOptions {
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = transport.DefaultMaxMessageSize
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	return o
}

// Conn is a WebSocket connection carrying whole messages. It implements transport.Conn,
// transport.Codec and transport.Metadata.
//
// Concurrency: Send may be called from many goroutines; Recv from one at a time; Close from
// any goroutine, any number of times. A Recv cancelled by its ctx leaves the connection usable
// (a goroutine of the Conn reads ahead of it); a Send whose ctx ends while it writes closes the
// connection, as github.com/coder/websocket does. Send does not keep its slice; the slice Recv
// returns belongs to the caller.
//
// Close performs the closing handshake (bounded by CloseTimeout) unless a Send is in progress,
// which it then interrupts by closing at once; it waits for the Conn's goroutines.
type Conn struct {
	ws    *websocket.Conn
	typ   websocket.MessageType
	codec string
	req   *http.Request
	opts  ConnOptions

	ctx    context.Context // ends when the connection is closed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	in       *inbox.Inbox  // the reader reads ahead of Recv, up to MaxMessageSize bytes
	readDone chan struct{} // closed when the reader stops

	closed    chan struct{} // closed by Close
	closeOnce sync.Once
	closing   atomic.Bool
	sending   atomic.Int64
	lastRead  atomic.Int64 // unix nanoseconds of the last message read
	failErr   atomic.Pointer[error]

	// The pinger is a timer, not a goroutine: an idle connection costs no stack for it. Its
	// callback runs only while stopped is false (both under pingMu), and is counted in wg.
	pingMu  sync.Mutex
	pinger  *time.Timer
	stopped bool
}

var (
	_ transport.Conn     = (*Conn)(nil)
	_ transport.Codec    = (*Conn)(nil)
	_ transport.Metadata = (*Conn)(nil)
)

func newConn(ws *websocket.Conn, req *http.Request, o ConnOptions) *Conn {
	o = o.withDefaults()
	c := &Conn{
		ws:       ws,
		typ:      websocket.MessageText,
		codec:    "json",
		req:      req,
		opts:     o,
		in:       inbox.New(o.MaxMessageSize, errClosed),
		readDone: make(chan struct{}),
		closed:   make(chan struct{}),
	}
	if ws.Subprotocol() == SubprotocolCBOR {
		c.typ, c.codec = websocket.MessageBinary, "cbor"
	}
	ws.SetReadLimit(int64(o.MaxMessageSize))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.readLoop()
	if o.PingInterval > 0 {
		c.pingMu.Lock()
		c.pinger = time.AfterFunc(o.PingInterval, c.ping)
		c.pingMu.Unlock()
	}
	return c
}

// Codec returns the name of the connection's codec: "json" or "cbor", for aper.CodecByName.
func (c *Conn) Codec() string { return c.codec }

// Metadata returns the *http.Request of the upgrade on the server side, and nil on the client
// side. Its body has been consumed; read its headers, cookies, URL and RemoteAddr.
func (c *Conn) Metadata() any {
	if c.req == nil {
		return nil
	}
	return c.req
}

// Send sends msg as one WebSocket message: a text frame for JSON, binary for CBOR. A message
// over the limit is a *transport.TooLargeError and the connection stays open.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("aper/transport/websocket: send: %w", err)
	}
	if len(msg) > c.opts.MaxMessageSize {
		return fmt.Errorf("aper/transport/websocket: send: %w",
			&transport.TooLargeError{Size: int64(len(msg)), Limit: int64(c.opts.MaxMessageSize)})
	}
	// Count this Send before looking at closing; Close sets closing before it counts the
	// Sends. So either this Send sees the close, or Close sees this Send and interrupts it
	// (rather than waiting up to CloseTimeout behind it for a handshake).
	c.sending.Add(1)
	defer c.sending.Add(-1)
	if c.closing.Load() {
		return errClosed
	}
	if fe := c.failErr.Load(); fe != nil {
		return *fe
	}
	err := c.ws.Write(ctx, c.typ, msg)
	if err == nil {
		return nil
	}
	switch {
	case c.closing.Load():
		return errClosed
	case ctx.Err() != nil:
		return fmt.Errorf("aper/transport/websocket: send: %w", ctx.Err())
	}
	return c.lost("send", err)
}

// Recv returns the next message.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	msg, err := c.in.Get(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("aper/transport/websocket: recv: %w", err)
	}
	return msg, err
}

// Close closes the connection (see the type's doc). It is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		close(c.closed)
		c.in.Close()
		c.stopPinger()
		if c.sending.Load() > 0 {
			_ = c.ws.CloseNow()
		} else {
			// The reader reads with c.ctx: ending it makes coder/websocket drop the
			// connection, which bounds the handshake.
			t := time.AfterFunc(c.opts.CloseTimeout, c.cancel)
			_ = c.ws.Close(websocket.StatusNormalClosure, "")
			t.Stop()
		}
		c.cancel()
		c.wg.Wait()
	})
	return nil
}

// readLoop reads messages ahead of Recv, so that a cancelled Recv does not lose one, and so
// that control frames (pongs, the closing handshake) are read while the application is busy.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	defer close(c.readDone)
	failed := false
	for {
		typ, msg, err := c.ws.Read(c.ctx)
		if err != nil {
			rerr := c.readError(err)
			after := error(errClosed)
			if errors.Is(rerr, net.ErrClosed) {
				after = nil
			}
			c.in.Fail(rerr, after)
			c.stopPinger()
			c.cancel() // ends a ping in progress
			if !c.closing.Load() {
				_ = c.ws.CloseNow() // the connection is unusable: release it now
			}
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		if failed {
			continue // the connection is failing: drop what comes until it ends
		}
		if typ != c.typ {
			failed = true
			c.wrongType(typ)
			continue
		}
		if msg == nil {
			msg = []byte{}
		}
		c.in.Put(msg) // after Close it drops msg; reading goes on until the connection ends
	}
}

// wrongType fails the connection after the peer sent a message of the other codec's frame type
// (binary on a JSON connection, text on a CBOR one): Recv returns the error, and the connection
// is closed with StatusUnsupportedData. The read loop goes on reading, so that the closing
// handshake completes; CloseTimeout bounds it.
func (c *Conn) wrongType(typ websocket.MessageType) {
	fail := fmt.Errorf("aper/transport/websocket: recv: peer sent a %v message on a %s connection: %w",
		typ, c.codec, net.ErrClosed)
	c.failErr.Store(&fail)
	c.in.Fail(fail, errClosed)
	c.wg.Go(func() {
		t := time.AfterFunc(c.opts.CloseTimeout, c.cancel)
		defer t.Stop()
		_ = c.ws.Close(websocket.StatusUnsupportedData, "wrong frame type for the subprotocol")
		c.cancel()
	})
}

func (c *Conn) readError(err error) error {
	if fe := c.failErr.Load(); fe != nil {
		return *fe
	}
	if c.closing.Load() {
		return errClosed
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return fmt.Errorf("aper/transport/websocket: recv: %w",
			&transport.TooLargeError{Size: int64(c.opts.MaxMessageSize) + 1, Limit: int64(c.opts.MaxMessageSize)})
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return errPeerClosed
	case -1:
		return c.lost("recv", err)
	}
	return fmt.Errorf("aper/transport/websocket: peer closed the connection (%w): %w", err, net.ErrClosed)
}

func (c *Conn) lost(op string, err error) error {
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("aper/transport/websocket: %s: connection lost: %w", op, err)
	}
	return fmt.Errorf("aper/transport/websocket: %s: connection lost (%w): %w", op, err, net.ErrClosed)
}

// ping pings the peer, in the pinger's callback, and closes the connection when it stops
// answering; then it sets the pinger again.
func (c *Conn) ping() {
	c.pingMu.Lock()
	if c.stopped {
		c.pingMu.Unlock()
		return
	}
	c.wg.Add(1)
	c.pingMu.Unlock()
	defer c.wg.Done()
	if c.ctx.Err() != nil {
		return
	}
	if !c.pingOnce() {
		return
	}
	c.pingMu.Lock()
	if !c.stopped {
		c.pinger.Reset(c.opts.PingInterval)
	}
	c.pingMu.Unlock()
}

// pingOnce sends one ping and waits for its pong. It returns false when it has failed the
// connection.
func (c *Conn) pingOnce() bool {
	if c.in.Full() {
		return true // messages wait for Recv: the peer is alive, and pongs cannot be read now
	}
	start := time.Now().UnixNano()
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.PingTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if err == nil || c.ctx.Err() != nil {
		return true
	}
	if c.in.Full() || c.lastRead.Load() >= start {
		return true // data arrived while the pong could not be read
	}
	fail := fmt.Errorf("aper/transport/websocket: peer did not answer a ping within %v: %w",
		c.opts.PingTimeout, net.ErrClosed)
	c.failErr.Store(&fail)
	_ = c.ws.CloseNow()
	return false
}

// stopPinger stops the pinger for good; a ping in progress ends when c.ctx does, and Close
// waits for it with wg.
func (c *Conn) stopPinger() {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	c.stopped = true
	if c.pinger != nil {
		c.pinger.Stop()
	}
}
