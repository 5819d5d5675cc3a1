// Package quic carries aper's messages over QUIC (RFC 9000), with github.com/quic-go/quic-go.
//
// Each connection uses one bidirectional stream. The client opens it and writes a short hello
// ("aper/1\n"), so that the server's AcceptStream sees the stream at once; then each message is
// a uvarint length followed by its bytes. The reader checks a length against the limit before
// allocating. TLS is mandatory; the ALPN protocol is [ALPN] ("aper/1"). [SelfSigned] makes a
// certificate for tests and local use.
//
// Keep-alives ([Options.KeepAlivePeriod]) and an idle timeout ([Options.MaxIdleTimeout]) detect
// a dead peer. Two things make a server's death seen sooner. A [Listener] sends stateless
// resets with a key that survives restarts ([Options.StatelessResetKey], derived from the
// certificate by default), so a server restarted on its address resets its earlier run's
// connections at their next packet (one longer than 42 bytes: see [Options.StatelessResetKey]).
// And [Dial] uses a UDP socket connected to the server, so an ICMP "port unreachable" ends a
// dial to an address where nothing listens at once, with an error that matches
// syscall.ECONNREFUSED, and so ends a connection whose server's port has closed at its next
// packet. Metadata (transport.Metadata) returns the connection's tls.ConnectionState.
//
// A [Listener] admits a connection into its Accept backlog only once the client has opened its
// stream and sent its hello; connections before that are bounded per source address, so clients
// that complete the handshake and then say nothing cannot lock others out (see [Listener]).
package quic

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/internal/frame"
	"github.com/aper-go/aper/transport/internal/inbox"
)

// ALPN is the TLS application protocol of the aper QUIC transport.
const ALPN = "aper/1"

// Defaults of the options.
const (
	DefaultKeepAlivePeriod  = 10 * time.Second
	DefaultMaxIdleTimeout   = 30 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultCloseTimeout     = 2 * time.Second
	DefaultBacklog          = 128
	// DefaultMaxPendingPerAddr is the default of Options.MaxPendingPerAddr.
	DefaultMaxPendingPerAddr = 32
)

// Application error codes sent in CONNECTION_CLOSE.
const (
	codeNormal   quicgo.ApplicationErrorCode = 0
	codeTooLarge quicgo.ApplicationErrorCode = 1
	codeProtocol quicgo.ApplicationErrorCode = 2
	codeAborted  quicgo.ApplicationErrorCode = 3
	codeRefused  quicgo.ApplicationErrorCode = 4
)

// readBuffer is the size of a connection's read buffer: small, since a connection is idle most
// of its life, and a message's body larger than it is read into the message directly.
const readBuffer = 256

var (
	errClosed     = fmt.Errorf("aper/transport/quic: %w", net.ErrClosed)
	errPeerClosed = fmt.Errorf("aper/transport/quic: peer closed the connection: %w", net.ErrClosed)
	errAborted    = fmt.Errorf("aper/transport/quic: connection closed by a Send cancelled mid-frame: %w", net.ErrClosed)
)

// Options configure both sides. A nil *Options means the defaults.
type Options struct {
	// MaxMessageSize is the largest message sent or received, in bytes; 0 means
	// transport.DefaultMaxMessageSize.
	MaxMessageSize int
	// KeepAlivePeriod is how often a keep-alive is sent when nothing else is; 0 means
	// DefaultKeepAlivePeriod, negative turns keep-alives off.
	KeepAlivePeriod time.Duration
	// MaxIdleTimeout closes a connection that has heard nothing from its peer for this long;
	// 0 means DefaultMaxIdleTimeout.
	MaxIdleTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake and, for a Listener, the time from a
	// connection's first packet to its stream and hello; 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds how long Close waits for the peer to acknowledge the end of the
	// stream; 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// Backlog, for a Listener, is the most connections that have sent their hello and wait for
	// Accept; 0 means DefaultBacklog. While that many wait, new connections are refused during
	// the QUIC handshake (CONNECTION_REFUSED), so the client's Dial fails.
	Backlog int
	// MaxPendingPerAddr, for a Listener, is the most connections from one source address (an
	// IPv4 address, or an IPv6 /64) that may be between their first packet and their hello
	// at once; 0 means DefaultMaxPendingPerAddr. Past it, new connections from that address are
	// refused during the QUIC handshake (CONNECTION_REFUSED); other addresses are not
	// affected. Clients behind one NAT share the bound, but each holds a place only for the
	// round trips of its handshake.
	MaxPendingPerAddr int
	// StatelessResetKey, for a Listener, is the key from which the stateless reset tokens of
	// its connections are derived (RFC 9000, section 10.3). With the same key, a server that
	// restarted on the same address resets the connections its earlier run left behind (their
	// clients get a reset at their next packet, instead of waiting for MaxIdleTimeout). Only a
	// packet longer than a reset (42 bytes with quic-go) is answered with one: a keep-alive is
	// not, a message of some 15 bytes or more is, and so is a path MTU probe. nil
	// derives the key from the private key of the TLS configuration's first certificate (an
	// HKDF-SHA256 of its PKCS #8 encoding, with a label of this package), so that a server
	// that keeps its certificate keeps its key; a configuration without a certificate (one
	// that sets GetCertificate) gets a random key, good for the Listener's life only. Servers
	// that share a certificate share the derived key, and so can reset each other's
	// connections: give each its own key if packets may reach the wrong one. Keep the key as
	// secret as the certificate's: it lets its holder end the server's connections.
	StatelessResetKey *[32]byte
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxMessageSize <= 0 {
		r.MaxMessageSize = transport.DefaultMaxMessageSize
	}
	if r.KeepAlivePeriod == 0 {
		r.KeepAlivePeriod = DefaultKeepAlivePeriod
	}
	if r.MaxIdleTimeout <= 0 {
		r.MaxIdleTimeout = DefaultMaxIdleTimeout
	}
	if r.HandshakeTimeout <= 0 {
		r.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if r.CloseTimeout <= 0 {
		r.CloseTimeout = DefaultCloseTimeout
	}
	if r.Backlog <= 0 {
		r.Backlog = DefaultBacklog
	}
	if r.MaxPendingPerAddr <= 0 {
		r.MaxPendingPerAddr = DefaultMaxPendingPerAddr
	}
	return r
}

func (o Options) quicConfig() *quicgo.Config {
	c := &quicgo.Config{
		MaxIdleTimeout:       o.MaxIdleTimeout,
		HandshakeIdleTimeout: o.HandshakeTimeout,
		// One stream a connection, opened by the client: a peer cannot make quic-go buffer
		// data for streams that nobody reads.
		MaxIncomingStreams:    1,
		MaxIncomingUniStreams: -1,
	}
	if o.KeepAlivePeriod > 0 {
		c.KeepAlivePeriod = o.KeepAlivePeriod
	}
	return c
}

// withALPN returns a copy of cfg that offers only ALPN.
func withALPN(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	c := cfg.Clone()
	c.NextProtos = []string{ALPN}
	if c.MinVersion < tls.VersionTLS13 {
		c.MinVersion = tls.VersionTLS13
	}
	return c
}

// Conn is a QUIC connection carrying whole messages on one stream. It implements
// transport.Conn and transport.Metadata.
//
// Concurrency: Send may be called from many goroutines (frames are not interleaved); Recv from
// one at a time; Close from any goroutine, any number of times. A goroutine of the Conn reads
// ahead of Recv (up to MaxMessageSize bytes), so a Recv cancelled by its ctx leaves the
// connection usable. A Send whose ctx ends while it waits for its turn returns and leaves the
// connection usable; one whose ctx ends while it writes closes the connection (its frame may
// be partly written), as does any other failed write, so later calls fail with an error
// matching net.ErrClosed. Send does not keep its slice; the slice Recv returns belongs to the
// caller.
//
// Close is graceful only when no Send is in progress: it then ends the stream after the last
// whole frame, waits (up to CloseTimeout) for the peer to read to that end, and closes the
// QUIC connection, so the messages sent before Close arrive if the peer takes them in within
// CloseTimeout (its read-ahead holds MaxMessageSize bytes without a Recv). When a Send is in
// progress (waiting for flow control, say), Close does not wait for it: it closes the QUIC
// connection at once, which interrupts that Send, and messages still on their way may be
// lost. Close waits for the Conn's goroutine.
type Conn struct {
	qc      *quicgo.Conn
	st      *quicgo.Stream
	br      *bufio.Reader
	opts    Options
	in      *inbox.Inbox
	wsem    chan struct{} // one writer at a time
	closed  chan struct{}
	rdone   chan struct{} // closed when the read loop stops
	once    sync.Once
	closing atomic.Bool
	dead    atomic.Pointer[error] // why the read loop stopped, for Send
	wg      sync.WaitGroup
	onClose func() // set by the Listener, called once after Close
}

var (
	_ transport.Conn     = (*Conn)(nil)
	_ transport.Metadata = (*Conn)(nil)
)

func newConn(qc *quicgo.Conn, st *quicgo.Stream, br *bufio.Reader, o Options, onClose func()) *Conn {
	c := &Conn{
		qc: qc, st: st, br: br, opts: o,
		in:      inbox.New(o.MaxMessageSize, errClosed),
		wsem:    make(chan struct{}, 1),
		closed:  make(chan struct{}),
		rdone:   make(chan struct{}),
		onClose: onClose,
	}
	c.wg.Add(1)
	go c.readLoop()
	return c
}

// Metadata returns the tls.ConnectionState of the connection (peer certificates, ALPN,
// server name).
func (c *Conn) Metadata() any { return c.qc.ConnectionState().TLS }

// LocalAddr returns the local UDP address.
func (c *Conn) LocalAddr() net.Addr { return c.qc.LocalAddr() }

// RemoteAddr returns the peer's UDP address.
func (c *Conn) RemoteAddr() net.Addr { return c.qc.RemoteAddr() }

// Send writes msg as one frame. A message over the limit is a *transport.TooLargeError and the
// connection stays open.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("aper/transport/quic: send: %w", err)
	}
	if len(msg) > c.opts.MaxMessageSize {
		return fmt.Errorf("aper/transport/quic: send: %w",
			&transport.TooLargeError{Size: int64(len(msg)), Limit: int64(c.opts.MaxMessageSize)})
	}
	select {
	case c.wsem <- struct{}{}:
	case <-c.closed:
		return errClosed
	case <-ctx.Done():
		return fmt.Errorf("aper/transport/quic: send: %w", ctx.Err())
	}
	defer func() { <-c.wsem }()
	if c.closing.Load() {
		return errClosed
	}
	if dead := c.dead.Load(); dead != nil {
		return *dead
	}
	g := guardWrite(ctx, c.st.SetWriteDeadline)
	var hdr [frame.MaxHeader]byte
	_, err := c.st.Write(frame.AppendHeader(hdr[:0], len(msg)))
	if err == nil && len(msg) > 0 {
		_, err = c.st.Write(msg)
	}
	g.done(err == nil)
	if err == nil {
		return nil
	}
	// The frame may be partly written: the stream is of no more use, so every failure closes
	// the connection, and later calls fail alike.
	switch {
	case c.closing.Load():
		return errClosed
	case ctx.Err() != nil:
		c.die(errAborted)
		_ = c.qc.CloseWithError(codeAborted, "send cancelled mid-frame")
		return fmt.Errorf("aper/transport/quic: send: %w", ctx.Err())
	}
	c.die(failure("send", err))
	_ = c.qc.CloseWithError(codeProtocol, "write failed")
	return *c.dead.Load()
}

// writeGuard ties a stream's write deadline to a ctx for the length of one write: when ctx
// ends, the deadline is set to now, which interrupts the write.
type writeGuard struct {
	stop     func() bool
	fired    chan struct{} // closed when the callback that sets the deadline has returned
	deadline func(time.Time) error
}

func guardWrite(ctx context.Context, deadline func(time.Time) error) writeGuard {
	if ctx.Done() == nil {
		return writeGuard{}
	}
	g := writeGuard{fired: make(chan struct{}), deadline: deadline}
	g.stop = context.AfterFunc(ctx, func() {
		defer close(g.fired)
		_ = deadline(time.Now())
	})
	return g
}

// done ends the guard after the write. If ctx ended meanwhile, the callback has started: done
// waits for it, so that its deadline cannot land after the write, and clears the deadline when
// the stream is still to be used (reuse), so that later writes do not fail on it.
func (g writeGuard) done(reuse bool) {
	if g.stop == nil || g.stop() {
		return
	}
	<-g.fired
	if reuse {
		_ = g.deadline(time.Time{})
	}
}

// Recv returns the next message.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	msg, err := c.in.Get(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("aper/transport/quic: recv: %w", err)
	}
	return msg, err
}

// Close closes the connection, gracefully unless a Send is in progress (see the type's doc).
// It is idempotent.
func (c *Conn) Close() error {
	c.once.Do(func() {
		c.closing.Store(true)
		close(c.closed)
		c.in.Close()
		timer := time.NewTimer(c.opts.CloseTimeout)
		defer timer.Stop()
		select {
		case c.wsem <- struct{}{}: // no Send in progress: end the stream cleanly
			_ = c.st.Close()
			select {
			case <-c.qc.Context().Done():
			case <-c.rdone:
			case <-timer.C:
			}
		default: // a Send is blocked: interrupt it
		}
		_ = c.qc.CloseWithError(codeNormal, "")
		c.wg.Wait()
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

// readLoop reads frames into the inbox until the stream ends or fails.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	defer close(c.rdone)
	for {
		msg, err := frame.Read(c.br, c.opts.MaxMessageSize)
		if err == nil {
			// After Close, Put drops the message: reading goes on until the peer's end of
			// stream, which Close waits for.
			c.in.Put(msg)
			continue
		}
		var tl *transport.TooLargeError
		switch {
		case c.closing.Load():
			c.in.Fail(errClosed, nil)
			if errors.Is(err, io.EOF) {
				return
			}
		case errors.Is(err, io.EOF):
			// The peer ended its stream: it has closed. Close the connection; our unread
			// sends are of no use to it.
			c.die(errPeerClosed)
			c.in.Fail(errPeerClosed, nil)
			_ = c.qc.CloseWithError(codeNormal, "")
		case errors.As(err, &tl):
			c.die(errClosed)
			c.in.Fail(fmt.Errorf("aper/transport/quic: recv: %w", err), errClosed)
			_ = c.qc.CloseWithError(codeTooLarge, "message too large")
		default:
			rerr := c.readError(err)
			c.die(rerr)
			c.in.Fail(rerr, nil)
			_ = c.qc.CloseWithError(codeProtocol, "read failed")
		}
		return
	}
}

// die records why the connection is unusable; the first reason stays.
func (c *Conn) die(err error) { c.dead.CompareAndSwap(nil, &err) }

func (c *Conn) readError(err error) error {
	if dead := c.dead.Load(); dead != nil {
		return *dead // a failed Send closed the connection
	}
	return failure("recv", err)
}

// failure describes an error of the stream: the peer's close, or a lost connection.
func failure(op string, err error) error {
	var ae *quicgo.ApplicationError
	if errors.As(err, &ae) && ae.Remote {
		if ae.ErrorCode == codeNormal {
			return errPeerClosed
		}
		return fmt.Errorf("aper/transport/quic: peer closed the connection (%w): %w", err, net.ErrClosed)
	}
	return lost(op, err)
}

func lost(op string, err error) error {
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("aper/transport/quic: %s: connection lost: %w", op, err)
	}
	return fmt.Errorf("aper/transport/quic: %s: connection lost (%w): %w", op, err, net.ErrClosed)
}
