package quic_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/internal/frame"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/transporttest"
)

func certs(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	server, client, err := quic.SelfSigned()
	require.NoError(t, err)
	return server, client
}

func listen(t *testing.T, o *quic.Options) (*quic.Listener, *tls.Config) {
	t.Helper()
	st, ct := certs(t)
	l, err := quic.Listen("127.0.0.1:0", st, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l, ct
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, transporttest.Harness{
		Listen: func(t *testing.T) (transport.Listener, transport.Dialer) {
			l, ct := listen(t, nil)
			return l, quic.Dialer(l.Addr().String(), ct, nil)
		},
		Oversize: func(t *testing.T, size int) transport.Conn {
			ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
			t.Cleanup(cancel)
			l, ct := listen(t, nil)
			// A raw peer: it frames a message over the limit by hand.
			ct = ct.Clone()
			ct.NextProtos = []string{quic.ALPN}
			qc, err := quicgo.DialAddr(ctx, l.Addr().String(), ct, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = qc.CloseWithError(0, "") })
			st, err := qc.OpenStreamSync(ctx)
			require.NoError(t, err)
			_, err = st.Write(frame.Hello)
			require.NoError(t, err)
			c, err := l.Accept(ctx) // before the oversized frame: a connection that fails first is dropped
			require.NoError(t, err)
			_, err = st.Write(frame.AppendHeader(nil, size)) // the body never follows: no need
			require.NoError(t, err)
			return c
		},
	})
}

func TestMetadataAndALPN(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, nil)
	c, err := quic.Dial(ctx, l.Addr().String(), ct, nil)
	require.NoError(t, err)
	defer c.Close()
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	cs, ok := sc.(transport.Metadata).Metadata().(tls.ConnectionState)
	require.True(t, ok)
	assert.Equal(t, quic.ALPN, cs.NegotiatedProtocol)
	ccs := c.Metadata().(tls.ConnectionState)
	assert.NotEmpty(t, ccs.PeerCertificates)
	assert.Equal(t, "127.0.0.1", c.RemoteAddr().(interface{ String() string }).String()[:9])
}

func TestWrongALPNRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, nil)
	ct = ct.Clone()
	ct.NextProtos = []string{"h3"}
	_, err := quicgo.DialAddr(ctx, l.Addr().String(), ct, nil)
	require.Error(t, err)
}

func TestBadHelloRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, nil)
	qc, err := quicgo.DialAddr(ctx, l.Addr().String(), ct, nil)
	require.NoError(t, err)
	st, err := qc.OpenStreamSync(ctx)
	require.NoError(t, err)
	_, err = st.Write([]byte("GET / HTTP/1.1\r\n"))
	require.NoError(t, err)
	<-qc.Context().Done() // the server closes the connection
	var ae *quicgo.ApplicationError
	require.ErrorAs(t, context.Cause(qc.Context()), &ae)

	// The listener still accepts well-behaved clients.
	c, err := quic.Dial(ctx, l.Addr().String(), ct, nil)
	require.NoError(t, err)
	defer c.Close()
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	require.NoError(t, sc.Close())
}

func TestSelfSignedUntrusted(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, _ := listen(t, nil)
	_, other := certs(t) // trusts another certificate
	_, err := quic.Dial(ctx, l.Addr().String(), other, nil)
	require.Error(t, err)
}

// rawDial connects a raw QUIC peer, on a UDP socket of its own, that has sent the hello; it
// returns the peer's transport, whose Close makes the peer vanish without a word.
func rawDial(t *testing.T, ctx context.Context, addr string, ct *tls.Config) *quicgo.Transport {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	tr := &quicgo.Transport{Conn: udp}
	t.Cleanup(func() { _ = tr.Close(); _ = udp.Close() })
	ra, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	qc, err := tr.Dial(ctx, ra, ct, nil)
	require.NoError(t, err)
	st, err := qc.OpenStreamSync(ctx)
	require.NoError(t, err)
	_, err = st.Write(frame.Hello)
	require.NoError(t, err)
	return tr
}

// A client that vanishes (no CONNECTION_CLOSE, no more packets) is detected by the idle timeout:
// the server's Recv fails within about MaxIdleTimeout.
func TestHalfOpenDetected(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	const idle = 300 * time.Millisecond
	l, ct := listen(t, &quic.Options{MaxIdleTimeout: idle, KeepAlivePeriod: idle / 3})
	tr := rawDial(t, ctx, l.Addr().String(), ct)
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	start := time.Now()
	require.NoError(t, tr.Close()) // the peer vanishes
	_, err = sc.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed)
	assert.Less(t, time.Since(start), transporttest.Timeout/2, "detected by the idle timeout")
	require.ErrorIs(t, sc.Send(ctx, []byte("x")), net.ErrClosed)
}

// A client that completes the QUIC handshake but never opens its stream, or opens it and sends
// only part of the hello, is dropped after HandshakeTimeout and never reaches Accept.
func TestSilentClientDropped(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, &quic.Options{HandshakeTimeout: 500 * time.Millisecond})
	for _, sent := range [][]byte{nil, frame.Hello[:3]} {
		qc := dialHandshake(ctx, t, l.Addr().String(), ct)
		if sent != nil {
			st, err := qc.OpenStreamSync(ctx)
			require.NoError(t, err)
			_, err = st.Write(sent)
			require.NoError(t, err)
		}
		select {
		case <-qc.Context().Done(): // the server closed the connection
		case <-ctx.Done():
			t.Fatalf("a client that sent %q was not dropped", sent)
		}
		var ae *quicgo.ApplicationError
		require.ErrorAs(t, context.Cause(qc.Context()), &ae)
		assert.True(t, ae.Remote)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := l.Accept(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// dialHandshake dials addr with quic-go alone. The server's HandshakeTimeout is short in the
// test that uses it, and a loaded machine (the race detector, other work) can make a handshake
// outlast it: the server then drops the connection without a word, and the client's handshake
// times out. Such a dial is tried again, since what the test checks comes after the handshake.
func dialHandshake(ctx context.Context, t *testing.T, addr string, ct *tls.Config) *quicgo.Conn {
	t.Helper()
	for {
		qc, err := quicgo.DialAddr(ctx, addr, ct, &quicgo.Config{HandshakeIdleTimeout: time.Second})
		var idle *quicgo.IdleTimeoutError
		var hs *quicgo.HandshakeTimeoutError
		if err != nil && ctx.Err() == nil && (errors.As(err, &idle) || errors.As(err, &hs)) {
			t.Logf("the handshake timed out; again: %v", err)
			continue
		}
		require.NoError(t, err)
		return qc
	}
}

func TestSelfSignedPEM(t *testing.T) {
	certPEM, keyPEM, err := quic.SelfSignedPEM(48*time.Hour, "example.test", "127.0.0.1")
	require.NoError(t, err)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	assert.Equal(t, []string{"example.test"}, cert.Leaf.DNSNames)
	require.Len(t, cert.Leaf.IPAddresses, 1)
	assert.True(t, cert.Leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))
	left := time.Until(cert.Leaf.NotAfter)
	assert.True(t, left > 47*time.Hour && left <= 48*time.Hour, "valid for %v more", left)
	_, _, err = quic.SelfSignedPEM(0)
	assert.Error(t, err)
}

// A write that fails for another reason than ctx or Close (here the peer stops reading the
// stream) closes the connection, so that Send and Recv agree that it is over and the peer
// learns it, instead of Send failing while Recv goes on.
func TestWriteFailureClosesConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, nil)
	qc, err := quicgo.DialAddr(ctx, l.Addr().String(), ct, nil)
	require.NoError(t, err)
	defer qc.CloseWithError(0, "")
	st, err := qc.OpenStreamSync(ctx)
	require.NoError(t, err)
	_, err = st.Write(frame.Hello)
	require.NoError(t, err)
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()

	st.CancelRead(7) // STOP_SENDING: the server's writes fail from now on
	for {
		err = sc.Send(ctx, []byte("x"))
		if err != nil {
			break
		}
		require.NoError(t, ctx.Err(), "Send went on succeeding after STOP_SENDING")
	}
	require.ErrorIs(t, err, net.ErrClosed)
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	_, err = sc.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed, "Recv sees the connection closed too")
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, sc.Send(ctx, []byte("x")), net.ErrClosed)
	select {
	case <-qc.Context().Done(): // the peer learns it
	case <-ctx.Done():
		t.Fatal("the peer was not told the connection is closed")
	}
}

// A connection whose client leaves while it waits for Accept is dropped: Accept returns the
// next live one, not the dead one.
func TestDeadConnectionDropped(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, nil)
	events := make(chan string, 4)
	quic.OnEvent(l, func(e string) { events <- e })
	next := func() string {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatal("no listener event")
			return ""
		}
	}

	gone, err := quic.Dial(ctx, l.Addr().String(), ct, nil)
	require.NoError(t, err)
	require.Equal(t, "parked", next())
	require.NoError(t, gone.Close())
	require.Equal(t, "dropped", next(), "the dead connection leaves the backlog")

	live, err := quic.Dial(ctx, l.Addr().String(), ct, nil)
	require.NoError(t, err)
	defer live.Close()
	require.NoError(t, live.Send(ctx, []byte("live")))
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	got, err := sc.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "live", string(got))
}

// Past Backlog connections waiting for Accept, new ones are refused in the handshake; Accept
// makes room.
func TestBacklog(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, &quic.Options{Backlog: 2})
	parked := make(chan struct{}, 4)
	quic.OnEvent(l, func(e string) {
		if e == "parked" {
			parked <- struct{}{}
		}
	})
	dial := func() {
		t.Helper()
		c, err := quic.Dial(ctx, l.Addr().String(), ct, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		select {
		case <-parked: // its hello has arrived: it waits for Accept
		case <-ctx.Done():
			t.Fatal("a dialed connection was not offered to Accept")
		}
	}
	dial()
	dial()
	_, err := quic.Dial(ctx, l.Addr().String(), ct, nil)
	var te *quicgo.TransportError
	require.ErrorAs(t, err, &te, "a third connection is refused")
	assert.Equal(t, quicgo.ConnectionRefused, te.ErrorCode)
	assert.True(t, te.Remote)

	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	dial() // Accept made room
	for range 2 {
		sc, err := l.Accept(ctx)
		require.NoError(t, err)
		defer sc.Close()
	}
}
