package quic_test

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/transporttest"
)

// A dial to a port where nothing listens fails with "connection refused", as a TCP dial does,
// not when its ctx ends.
func TestDialRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	_, ct := certs(t)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	addr := udp.LocalAddr().String()
	require.NoError(t, udp.Close()) // nothing listens on addr now
	_, err = quic.Dial(ctx, addr, ct, nil)
	t.Log(err)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.NoError(t, ctx.Err(), "the dial waited for its ctx")
}

// A connection whose server has gone, its port closed, fails at its next packet with "connection
// refused", not after MaxIdleTimeout.
func TestServerGoneRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	l, ct := listen(t, nil)
	c, err := quic.Dial(ctx, l.Addr().String(), ct, &quic.Options{MaxIdleTimeout: time.Minute})
	require.NoError(t, err)
	defer c.Close()
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()

	quic.Crash(l) // the server's port is closed, without a word to the client
	// Another packet of the client (an ACK) may have met the closed port first, and then Send
	// fails already.
	err = c.Send(ctx, []byte("anyone?"))
	if err == nil {
		_, err = c.Recv(ctx)
	}
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.NoError(t, ctx.Err())
}
