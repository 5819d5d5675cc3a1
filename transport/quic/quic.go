// Package quic carries aper's messages over QUIC (RFC 9000), with github.com/quic-go/quic-go.
//
// Each connection uses one bidirectional stream. The client opens it and writes a short hello
// ("aper/1\n"), so that the server's AcceptStream sees the stream at once; then each message is
// a uvarint length followed by its bytes. The reader checks a length against the limit before
// allocating. TLS is mandatory; the ALPN protocol is [ALPN] ("aper/1"). [SelfSigned] makes a
// certificate for tests and local use.
//
// Keep-alives ([Options.KeepAlivePeriod]) and an idle timeout ([Options.MaxIdleTimeout]) detect
// a dead peer. Metadata (transport.Metadata) returns the connection's tls.ConnectionState.
package quic

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
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
)

// Application error codes sent in CONNECTION_CLOSE.
const (
	codeNormal   quicgo.ApplicationErrorCode = 0
	codeTooLarge quicgo.ApplicationErrorCode = 1
	codeProtocol quicgo.ApplicationErrorCode = 2
	codeAborted  quicgo.ApplicationErrorCode = 3
)

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
	// HandshakeTimeout bounds the TLS handshake and the hello; 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds how long Close waits for the peer to acknowledge the end of the
	// stream; 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// Backlog, for a Listener, is the most connections that wait for Accept, from their first
	// packet until Accept takes them; 0 means DefaultBacklog. Past it, new connections are
	// refused during the QUIC handshake (CONNECTION_REFUSED), so the client's Dial fails.
	Backlog int
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
	return r
}

func (o Options) quicConfig() *quicgo.Config {
	c := &quicgo.Config{
		MaxIdleTimeout:       o.MaxIdleTimeout,
		HandshakeIdleTimeout: o.HandshakeTimeout,
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
	slot    *slot  // the connection's place in a Listener's backlog; nil when dialed
}

var (
	_ transport.Conn     = (*Conn)(nil)
	_ transport.Metadata = (*Conn)(nil)
)

func newConn(qc *quicgo.Conn, st *quicgo.Stream, br *bufio.Reader, o Options, onClose func(), sl *slot) *Conn {
	c := &Conn{
		qc: qc, st: st, br: br, opts: o, slot: sl,
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

// Dial connects to the QUIC server at addr ("127.0.0.1:4433"). tlsConf must let the client
// verify the server (RootCAs, ServerName); its NextProtos is replaced by ALPN. opts may be nil.
func Dial(ctx context.Context, addr string, tlsConf *tls.Config, opts *Options) (*Conn, error) {
	o := opts.withDefaults()
	qc, err := quicgo.DialAddr(ctx, addr, withALPN(tlsConf), o.quicConfig())
	if err != nil {
		return nil, fmt.Errorf("aper/transport/quic: dial %s: %w", addr, err)
	}
	st, err := qc.OpenStreamSync(ctx)
	if err == nil {
		// The hello makes the stream visible to the server's AcceptStream.
		_, err = st.Write(frame.Hello)
	}
	if err != nil {
		_ = qc.CloseWithError(codeProtocol, "stream setup failed")
		return nil, fmt.Errorf("aper/transport/quic: dial %s: %w", addr, err)
	}
	return newConn(qc, st, bufio.NewReader(st), o, nil, nil), nil
}

// Dialer returns a transport.Dialer that dials addr with tlsConf and opts.
func Dialer(addr string, tlsConf *tls.Config, opts *Options) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		c, err := Dial(ctx, addr, tlsConf, opts)
		if err != nil {
			return nil, err
		}
		return c, nil
	})
}

// Listener accepts QUIC connections. It implements transport.Listener.
//
// Concurrency: all methods may be called concurrently. A goroutine accepts QUIC connections
// and one per new connection waits (up to HandshakeTimeout) for its stream and hello, so a
// slow client does not hold up others, and then for Accept. A connection that ends while it
// waits for Accept (its client closed it or went silent past MaxIdleTimeout) is dropped, and at
// most Options.Backlog connections wait: past that, new ones are refused. Close stops them,
// closes connections not yet accepted, and leaves accepted ones open; the UDP socket is
// released when the last of them closes.
type Listener struct {
	tr     *quicgo.Transport
	ql     *quicgo.Listener
	opts   Options
	ready  chan *Conn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu      sync.Mutex
	live    int          // accepted connections not yet closed
	waiting int          // connections holding a slot of the backlog
	closed  bool         // Close was called
	udpOff  bool         // the transport has been closed
	event   func(string) // a test's hook: "parked" (offered to Accept), "dropped"
}

// errBacklogFull refuses a connection past the backlog.
var errBacklogFull = errors.New("aper/transport/quic: backlog full")

// slot is a connection's place in the backlog, from its first packet until Accept takes it or
// it ends.
type slot struct {
	l    *Listener
	once sync.Once
}

type slotKey struct{}

func (s *slot) release() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.l.mu.Lock()
		s.l.waiting--
		s.l.mu.Unlock()
	})
}

// admit is the quic-go transport's ConnContext: it gives a new connection a slot of the
// backlog, released when Accept takes it or it ends, or refuses it when there is none.
func (l *Listener) admit(ctx context.Context, _ *quicgo.ClientInfo) (context.Context, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.waiting >= l.opts.Backlog {
		return nil, errBacklogFull
	}
	l.waiting++
	s := &slot{l: l}
	context.AfterFunc(ctx, s.release) // quic-go ends ctx when the connection ends
	return context.WithValue(ctx, slotKey{}, s), nil
}

func (l *Listener) notify(event string) {
	l.mu.Lock()
	f := l.event
	l.mu.Unlock()
	if f != nil {
		f(event)
	}
}

var _ transport.Listener = (*Listener)(nil)

// Listen listens on the UDP address addr ("127.0.0.1:0"). tlsConf must hold the server's
// certificate; its NextProtos is replaced by ALPN. opts may be nil.
func Listen(addr string, tlsConf *tls.Config, opts *Options) (*Listener, error) {
	o := opts.withDefaults()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/quic: listen %s: %w", addr, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/quic: listen %s: %w", addr, err)
	}
	l := &Listener{opts: o, ready: make(chan *Conn)}
	tr := &quicgo.Transport{Conn: udp, ConnContext: l.admit}
	ql, err := tr.Listen(withALPN(tlsConf), o.quicConfig())
	if err != nil {
		_ = tr.Close()
		_ = udp.Close()
		return nil, fmt.Errorf("aper/transport/quic: listen %s: %w", addr, err)
	}
	l.tr, l.ql = tr, ql
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		qc, err := l.ql.Accept(l.ctx)
		if err != nil {
			return
		}
		l.wg.Add(1)
		go l.handshake(qc)
	}
}

// handshake waits for the client's stream and hello, then offers the connection to Accept
// until Accept takes it, the connection ends, or the listener closes.
func (l *Listener) handshake(qc *quicgo.Conn) {
	defer l.wg.Done()
	sl, _ := qc.Context().Value(slotKey{}).(*slot)
	ctx, cancel := context.WithTimeout(l.ctx, l.opts.HandshakeTimeout)
	defer cancel()
	st, err := qc.AcceptStream(ctx)
	if err != nil {
		_ = qc.CloseWithError(codeProtocol, "no stream")
		sl.release()
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = st.SetReadDeadline(time.Now()) })
	br := bufio.NewReader(st)
	err = frame.ReadHello(br)
	if !stop() || err != nil {
		_ = qc.CloseWithError(codeProtocol, "bad hello")
		sl.release()
		return
	}
	l.mu.Lock()
	l.live++
	l.mu.Unlock()
	c := newConn(qc, st, br, l.opts, l.release, sl)
	l.notify("parked")
	select {
	case l.ready <- c: // Accept has released the slot
		return
	case <-l.ctx.Done():
	case <-c.rdone: // the connection ended while it waited: nobody will want it
	}
	_ = c.Close()
	sl.release()
	l.notify("dropped")
}

// release is called when an accepted (or offered) connection closes.
func (l *Listener) release() {
	l.mu.Lock()
	l.live--
	off := l.closed && l.live == 0 && !l.udpOff
	if off {
		l.udpOff = true
	}
	l.mu.Unlock()
	if off {
		_ = l.tr.Close()
		_ = l.tr.Conn.Close()
	}
}

// Accept returns the next connection whose client has opened its stream, as a *Conn.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case <-l.ctx.Done():
		return nil, fmt.Errorf("aper/transport/quic: accept: %w", net.ErrClosed)
	default:
	}
	select {
	case c := <-l.ready:
		c.slot.release()
		return c, nil
	case <-l.ctx.Done():
		return nil, fmt.Errorf("aper/transport/quic: accept: %w", net.ErrClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("aper/transport/quic: accept: %w", ctx.Err())
	}
}

// Addr returns the UDP address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ql.Addr() }

// Close stops accepting (see the type's doc). It is idempotent.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.cancel()
		_ = l.ql.Close()
		l.wg.Wait()
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.live++ // balance the release below, which closes the socket if nothing is live
		l.release()
	})
	return nil
}

// SelfSigned makes a self-signed ECDSA certificate for the given host names and IP addresses
// (default "localhost", 127.0.0.1 and ::1), valid for a day, for tests and local use. It returns
// a server configuration holding the certificate and a client configuration that trusts it.
func SelfSigned(hosts ...string) (server, client *tls.Config, err error) {
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	certPEM, keyPEM, err := SelfSignedPEM(24*time.Hour, hosts...)
	if err != nil {
		return nil, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("aper/transport/quic: self-signed: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{ALPN},
		MinVersion:   tls.VersionTLS13,
	}
	client = &tls.Config{RootCAs: pool, ServerName: hosts[0], NextProtos: []string{ALPN}, MinVersion: tls.VersionTLS13}
	return server, client, nil
}

// SelfSignedPEM makes a self-signed ECDSA certificate for the given host names and IP addresses
// (default "localhost", 127.0.0.1 and ::1), valid from an hour ago for the given time, and
// returns it and its private key in PEM form, to be stored in files (tls.LoadX509KeyPair reads
// them back). A client trusts the certificate by adding it to its RootCAs.
func SelfSignedPEM(valid time.Duration, hosts ...string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if valid <= 0 {
		return nil, nil, fmt.Errorf("aper/transport/quic: self-signed: validity %v, want more than 0", valid)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("aper/transport/quic: self-signed: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("aper/transport/quic: self-signed: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"aper self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(valid),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("aper/transport/quic: self-signed: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("aper/transport/quic: self-signed: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	return certPEM, keyPEM, nil
}
