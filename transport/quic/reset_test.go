package quic_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/transporttest"
)

// A server that dies without a word and restarts on the same address resets the connections
// of its earlier run at their next packet, whether the key is derived from the certificate
// (the same one after the restart) or given (with another certificate after the restart):
// the client's Recv fails at once instead of after MaxIdleTimeout.
func TestRestartResetsStaleConnections(t *testing.T) {
	for _, tc := range []struct {
		name     string
		explicit bool
	}{{"derived from the certificate", false}, {"given", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
			defer cancel()
			st, ct := certs(t)
			var o *quic.Options
			if tc.explicit {
				o = &quic.Options{StatelessResetKey: &[32]byte{1, 2, 3}}
			}
			l, err := quic.Listen("127.0.0.1:0", st, o)
			require.NoError(t, err)
			defer l.Close()
			// The idle timeout is far longer than the test's bound: only a reset ends the
			// connection in time.
			c, err := quic.Dial(ctx, l.Addr().String(), ct, &quic.Options{MaxIdleTimeout: time.Minute})
			require.NoError(t, err)
			defer c.Close()
			sc, err := l.Accept(ctx)
			require.NoError(t, err)
			defer sc.Close()
			// A round trip each way: the client has the server's HANDSHAKE_DONE (or an ACK of
			// its 1-RTT packets), so it probes lost 1-RTT packets rather than handshake ones,
			// which no server resets.
			require.NoError(t, c.Send(ctx, []byte("before")))
			got, err := sc.Recv(ctx)
			require.NoError(t, err)
			require.Equal(t, "before", string(got))
			require.NoError(t, sc.Send(ctx, []byte("seen")))
			_, err = c.Recv(ctx)
			require.NoError(t, err)

			st2 := st
			if tc.explicit {
				st2, _ = certs(t) // another certificate: the given key alone must do
			}
			l2, err := quic.Restart(l, st2, o)
			require.NoError(t, err)
			defer l2.Close()

			// Its packet meets the new server, which resets it: quic-go resets only packets
			// longer than a reset (42 bytes), so the message is not a tiny one. Another packet
			// of the client (an ACK, a path MTU probe) may have been reset first, and then
			// Send fails already.
			err = c.Send(ctx, bytes.Repeat([]byte("after"), 20))
			if err == nil {
				_, err = c.Recv(ctx)
			}
			require.ErrorIs(t, err, net.ErrClosed)
			var reset *quicgo.StatelessResetError
			require.ErrorAs(t, err, &reset, "the new server reset the connection: %v", err)
			require.NoError(t, ctx.Err())
		})
	}
}

// The derived key depends on the certificate's private key only, and a given key wins.
func TestResetKeyDerivation(t *testing.T) {
	a, _ := certs(t)
	b, _ := certs(t)
	ka, err := quic.ResetKey(nil, a)
	require.NoError(t, err)
	ka2, err := quic.ResetKey(nil, a.Clone())
	require.NoError(t, err)
	kb, err := quic.ResetKey(nil, b)
	require.NoError(t, err)
	assert.Equal(t, *ka, *ka2, "the same certificate gives the same key")
	assert.NotEqual(t, *ka, *kb, "another certificate gives another key")
	given := [32]byte{9}
	kg, err := quic.ResetKey(&given, a)
	require.NoError(t, err)
	assert.Equal(t, given, [32]byte(*kg))
	// Without a certificate to derive from, each Listener gets a random key.
	r1, err := quic.ResetKey(nil, &tls.Config{})
	require.NoError(t, err)
	r2, err := quic.ResetKey(nil, &tls.Config{})
	require.NoError(t, err)
	assert.NotEqual(t, *r1, *r2)
}
