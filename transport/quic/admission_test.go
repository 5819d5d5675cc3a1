package quic_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport/internal/frame"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/transporttest"
)

// attacker is a peer on a loopback address of its own ("127.0.1.x") that opens QUIC connections
// with valid TLS and ALPN and never opens a stream on them.
type attacker struct {
	tr *quicgo.Transport
	ra *net.UDPAddr
	ct *tls.Config
}

func newAttacker(t *testing.T, ip net.IP, server net.Addr, ct *tls.Config) *attacker {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	require.NoError(t, err)
	tr := &quicgo.Transport{Conn: udp}
	t.Cleanup(func() { _ = tr.Close(); _ = udp.Close() })
	ra, err := net.ResolveUDPAddr("udp", server.String())
	require.NoError(t, err)
	ct = ct.Clone()
	ct.NextProtos = []string{quic.ALPN}
	// An attacker does not check the server and picks the cheapest key exchange; this also
	// keeps the test's cost down.
	ct.InsecureSkipVerify = true
	ct.CurvePreferences = []tls.CurveID{tls.X25519}
	return &attacker{tr: tr, ra: ra, ct: ct}
}

// hold opens a connection and keeps it alive without a stream.
func (a *attacker) hold(ctx context.Context) (*quicgo.Conn, error) {
	return a.tr.Dial(ctx, a.ra, a.ct, &quicgo.Config{
		KeepAlivePeriod:      time.Second,
		MaxIdleTimeout:       time.Minute,
		HandshakeIdleTimeout: 30 * time.Second, // the machine may be busy
	})
}

// echo dials an honest client, has the server echo one message, and returns how long it took.
func echo(t *testing.T, ctx context.Context, l *quic.Listener, ct *tls.Config) time.Duration {
	t.Helper()
	start := time.Now()
	c, err := quic.Dial(ctx, l.Addr().String(), ct, nil)
	require.NoError(t, err, "an honest client is refused")
	defer c.Close()
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	require.NoError(t, c.Send(ctx, []byte("hello")))
	msg, err := sc.Recv(ctx)
	require.NoError(t, err)
	require.NoError(t, sc.Send(ctx, msg))
	msg, err = c.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, "hello", string(msg))
	return time.Since(start)
}

// Thousands of connections that complete the handshake and never open their stream, from many
// addresses, hold no place in the backlog: an honest client connects and exchanges a message
// while they are all held open.
func TestStreamlessConnectionsDoNotLockOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 6*transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, &quic.Options{HandshakeTimeout: 5 * time.Minute})
	const perAddr = 20 // under DefaultMaxPendingPerAddr
	addrs := streamless / perAddr
	var (
		mu    sync.Mutex
		held  []*quicgo.Conn
		fails []error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, 32) // dials in flight
	for i := range addrs {
		a := newAttacker(t, net.IPv4(127, 0, 1+byte(i/250), 1+byte(i%250)), l.Addr(), ct)
		for range perAddr {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				qc, err := a.hold(ctx)
				var te *quicgo.TransportError
				for err != nil && !errors.As(err, &te) && ctx.Err() == nil {
					// Lost to a busy machine, not refused: an attacker tries again.
					qc, err = a.hold(ctx)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fails = append(fails, err)
					return
				}
				held = append(held, qc)
			})
		}
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, qc := range held {
			_ = qc.CloseWithError(0, "")
		}
	})
	t.Logf("%d stream-less connections held, %d refused", len(held), len(fails))

	took := echo(t, ctx, l, ct)
	t.Logf("the honest client connected and exchanged a message in %v", took)

	if len(fails) > 0 {
		t.Fatalf("%d attackers' connections were refused, the first: %v", len(fails), fails[0])
	}
	open := 0
	for _, qc := range held {
		if qc.Context().Err() == nil {
			open++
		} else {
			t.Logf("closed: %v", context.Cause(qc.Context()))
		}
	}
	assert.Equal(t, streamless, open, "the stream-less connections were all held open meanwhile")
}

// Stream-less connections are bounded per source address: past MaxPendingPerAddr, new ones from
// that address are refused, other addresses are served, and a connection that sends its hello
// makes room.
func TestPendingBoundPerAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	const bound = 3
	l, ct := listen(t, &quic.Options{MaxPendingPerAddr: bound, HandshakeTimeout: time.Minute})
	a := newAttacker(t, net.IPv4(127, 0, 1, 1), l.Addr(), ct)
	var held []*quicgo.Conn
	for range bound {
		qc, err := a.hold(ctx)
		require.NoError(t, err)
		defer qc.CloseWithError(0, "")
		held = append(held, qc)
	}
	_, err := a.hold(ctx)
	var te *quicgo.TransportError
	require.ErrorAs(t, err, &te, "a connection past the bound is refused")
	assert.Equal(t, quicgo.ConnectionRefused, te.ErrorCode)

	echo(t, ctx, l, ct) // another address is served

	// One of the held connections sends its hello: it is no longer pending.
	parked := make(chan struct{}, 1)
	quic.OnEvent(l, func(e string) {
		if e == "parked" {
			parked <- struct{}{}
		}
	})
	st, err := held[0].OpenStreamSync(ctx)
	require.NoError(t, err)
	_, err = st.Write(frame.Hello)
	require.NoError(t, err)
	select {
	case <-parked:
	case <-ctx.Done():
		t.Fatal("the connection that sent its hello was not offered to Accept")
	}
	qc, err := a.hold(ctx)
	require.NoError(t, err, "the address has room again")
	defer qc.CloseWithError(0, "")
}
