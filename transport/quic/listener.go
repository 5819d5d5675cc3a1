package quic

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/internal/frame"
)

// retryAbove is how many connections may be pending (between their first packet and their
// hello) before new clients must prove their address with a Retry: past it, the per-address
// bound counts addresses that a client has shown it owns, not spoofed ones.
const retryAbove = 64

// Listener accepts QUIC connections. It implements transport.Listener.
//
// Admission works as WebSocket's does. quic-go completes the TLS handshake; a goroutine of the
// Listener then waits, for each connection on its own, for the client's stream and hello, at
// most HandshakeTimeout from the connection's first packet; a connection that has sent its
// hello is offered to Accept. A connection before its hello is pending: it holds no place in
// the backlog, so clients that never open their stream cannot lock others out. They are bounded
// per source address (an IPv4 address or an IPv6 /64) by Options.MaxPendingPerAddr, past which
// new connections from that address are refused (CONNECTION_REFUSED); and once more than 64
// connections are pending, new clients must first prove their address with a Retry (one more
// round trip), so that a spoofed source address cannot fill another's quota. At most
// Options.Backlog connections that have sent their hello wait for Accept: while that many wait,
// new connections are refused, and a connection whose hello finds the backlog full is closed.
// A connection that ends while it waits for Accept (its client closed it or went silent past
// MaxIdleTimeout) is dropped.
//
// Concurrency: all methods may be called concurrently. Close stops the Listener's goroutines,
// closes connections not yet accepted, and leaves accepted ones open; the UDP socket is released
// when the last of them closes.
type Listener struct {
	tr     *quicgo.Transport
	ql     *quicgo.Listener
	opts   Options
	ready  chan *Conn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu       sync.Mutex
	pending  map[netip.Prefix]int // connections before their hello, by source address
	npending int                  // the sum of pending
	waiting  int                  // connections past their hello, not yet accepted
	live     int                  // connections handed to a Conn, not yet closed
	closed   bool                 // Close was called
	udpOff   bool                 // the transport has been closed
	event    func(string)         // a test's hook: "parked" (offered to Accept), "dropped"
}

// Reasons for refusing a connection in its handshake (quic-go sends CONNECTION_REFUSED).
var (
	errBacklogFull = errors.New("aper/transport/quic: backlog full")
	errAddrBusy    = errors.New("aper/transport/quic: too many pending connections from the address")
)

// pending is a connection's place among the pending ones of its source address, from its first
// packet until its hello or its end.
type pending struct {
	l        *Listener
	src      netip.Prefix
	deadline time.Time   // for the stream and hello
	stop     func() bool // unregisters done from the connection's context
	once     sync.Once
}

type pendingKey struct{}

func (p *pending) done() {
	p.once.Do(func() {
		p.l.mu.Lock()
		defer p.l.mu.Unlock()
		if p.stop != nil { // set by admit under p.l.mu
			p.stop()
			p.stop = nil // the connection's context keeps p (admit's value) for its life
		}
		if p.l.pending[p.src]--; p.l.pending[p.src] == 0 {
			delete(p.l.pending, p.src)
		}
		p.l.npending--
	})
}

// source is the key of the per-address bound: the IPv4 address, or the /64 of an IPv6 one (a
// host is commonly given a whole /64).
func source(a net.Addr) netip.Prefix {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.AddrPort().Addr()
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Prefix{}
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// admit is the quic-go transport's ConnContext, called on a connection's first packet: it
// counts the connection as pending, until its hello or its end, or refuses it.
func (l *Listener) admit(ctx context.Context, ci *quicgo.ClientInfo) (context.Context, error) {
	src := source(ci.RemoteAddr)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.waiting >= l.opts.Backlog:
		return nil, errBacklogFull
	case l.pending[src] >= l.opts.MaxPendingPerAddr:
		return nil, errAddrBusy
	}
	l.pending[src]++
	l.npending++
	p := &pending{l: l, src: src, deadline: time.Now().Add(l.opts.HandshakeTimeout)}
	p.stop = context.AfterFunc(ctx, p.done) // quic-go ends ctx when the connection ends
	return context.WithValue(ctx, pendingKey{}, p), nil
}

// verifySource is the quic-go transport's VerifySourceAddress: a Retry is asked for while many
// connections are pending.
func (l *Listener) verifySource(net.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.npending >= retryAbove
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
//
// The stateless reset key is Options.StatelessResetKey, or else derived from the private key of
// tlsConf's first certificate (see Options.StatelessResetKey).
func Listen(addr string, tlsConf *tls.Config, opts *Options) (*Listener, error) {
	o := opts.withDefaults()
	key, err := resetKey(o.StatelessResetKey, tlsConf)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/quic: listen %s: %w", addr, err)
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/quic: listen %s: %w", addr, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/quic: listen %s: %w", addr, err)
	}
	l, err := listenOn(udp, tlsConf, o, key)
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("aper/transport/quic: listen %s: %w", addr, err)
	}
	return l, nil
}

// listenOn makes a Listener on udp, which it owns from then on (it closes it when it is done
// with it), unless it fails.
func listenOn(udp net.PacketConn, tlsConf *tls.Config, o Options, key *quicgo.StatelessResetKey) (*Listener, error) {
	l := &Listener{opts: o, ready: make(chan *Conn), pending: make(map[netip.Prefix]int)}
	tr := &quicgo.Transport{
		Conn:                udp,
		ConnContext:         l.admit,
		VerifySourceAddress: l.verifySource,
		StatelessResetKey:   key,
	}
	ql, err := tr.Listen(withALPN(tlsConf), o.quicConfig())
	if err != nil {
		_ = tr.Close()
		return nil, err
	}
	l.tr, l.ql = tr, ql
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// acceptLoop takes each connection from quic-go as soon as its TLS handshake completes.
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
	p, _ := qc.Context().Value(pendingKey{}).(*pending)
	if p == nil { // not admitted by admit: cannot happen, but a deadline is owed all the same
		p = &pending{deadline: time.Now().Add(l.opts.HandshakeTimeout)}
		p.once.Do(func() {})
	}
	defer p.done()
	ctx, cancel := context.WithDeadline(l.ctx, p.deadline)
	defer cancel()
	st, err := qc.AcceptStream(ctx)
	if err != nil {
		_ = qc.CloseWithError(codeProtocol, "no stream")
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = st.SetReadDeadline(time.Now()) })
	br := bufio.NewReaderSize(st, readBuffer)
	err = frame.ReadHello(br)
	if !stop() || err != nil {
		_ = qc.CloseWithError(codeProtocol, "bad hello")
		return
	}
	p.done()
	l.mu.Lock()
	if l.waiting >= l.opts.Backlog {
		l.mu.Unlock()
		_ = qc.CloseWithError(codeRefused, "backlog full")
		return
	}
	l.waiting++
	l.live++
	l.mu.Unlock()
	c := newConn(qc, st, br, l.opts, l.release)
	l.notify("parked")
	select {
	case l.ready <- c: // Accept has counted it out of the backlog
		return
	case <-l.ctx.Done():
	case <-c.rdone: // the connection ended while it waited: nobody will want it
	}
	_ = c.Close()
	l.leave()
	l.notify("dropped")
}

// leave counts a connection out of the backlog.
func (l *Listener) leave() {
	l.mu.Lock()
	l.waiting--
	l.mu.Unlock()
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
		l.leave()
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
		l.live++ // balance the release below, which closes the socket if nothing is live
		l.mu.Unlock()
		l.release()
	})
	return nil
}
