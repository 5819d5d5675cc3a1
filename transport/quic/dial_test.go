package quic_test

import (
	"context"
	"net"
	"syscall"
	"testing"

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
