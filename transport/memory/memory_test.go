package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pair(t *testing.T, n *memory.Network, from string) (client, server *memory.Conn) {
	t.Helper()
	ctx := ctxT(t)
	l, err := n.Listen("server")
	if err != nil {
		// The listener may exist already.
		require.ErrorIs(t, err, memory.ErrAddrInUse)
	}
	client, err = n.DialWith(ctx, "server", &memory.DialOptions{From: from, Metadata: "token-" + from})
	require.NoError(t, err)
	for _, c := range n.Conns() {
		if c.ID() == client.ID() && c != client {
			server = c
		}
	}
	require.NotNil(t, server)
	if l != nil {
		got, err := l.AcceptConn(ctx)
		require.NoError(t, err)
		require.Same(t, server, got)
	}
	return client, server
}

func TestListenDial(t *testing.T) {
	ctx := ctxT(t)
	n := memory.NewNetwork(nil)
	defer n.Close()

	l, err := n.Listen("s")
	require.NoError(t, err)
	_, err = n.Listen("s")
	require.ErrorIs(t, err, memory.ErrAddrInUse)
	assert.Equal(t, "s", l.Addr().String())
	assert.Equal(t, "memory", l.Addr().Network())

	_, err = n.Dial(ctx, "nobody")
	require.ErrorIs(t, err, memory.ErrRefused)

	c, err := n.Dialer("s").Dial(ctx)
	require.NoError(t, err)
	s, err := l.Accept(ctx)
	require.NoError(t, err)
	assert.Equal(t, "dial-2", c.(*memory.Conn).LocalName(), "the refused dial counted as dial-1")
	assert.Equal(t, "s", s.(*memory.Conn).LocalName())
	assert.Equal(t, "dial-2", s.(*memory.Conn).RemoteName())

	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	_, err = l.Accept(ctx)
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = n.Listen("s")
	require.NoError(t, err, "a closed listener frees its name")

	// A dial that was never accepted is cut when the listener closes.
	l2, err := n.Listen("t")
	require.NoError(t, err)
	c2, err := n.Dial(ctx, "t")
	require.NoError(t, err)
	require.NoError(t, l2.Close())
	_, err = c2.Recv(ctx)
	require.ErrorIs(t, err, memory.ErrDisconnected)
}

func TestMetadata(t *testing.T) {
	n := memory.NewNetwork(nil)
	defer n.Close()
	client, server := pair(t, n, "alice")
	assert.Nil(t, client.Metadata())
	assert.Equal(t, "token-alice", server.Metadata())
	var _ transport.Metadata = server
}

func TestGracefulClose(t *testing.T) {
	ctx := ctxT(t)
	a, b := memory.Pipe(nil)
	require.NoError(t, a.Send(ctx, []byte("1")))
	require.NoError(t, a.Send(ctx, []byte("2")))
	require.NoError(t, a.Close())
	for _, want := range []string{"1", "2"} {
		got, err := b.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	_, err := b.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, b.Send(ctx, []byte("x")), net.ErrClosed)
	require.NoError(t, b.Close())
}

func TestDisconnect(t *testing.T) {
	ctx := ctxT(t)
	a, b := memory.Pipe(nil)
	require.NoError(t, a.Send(ctx, []byte("unread")))
	errc := make(chan error, 1)
	go func() {
		_, err := a.Recv(ctx)
		errc <- err
	}()
	b.Disconnect()
	require.ErrorIs(t, <-errc, memory.ErrDisconnected)
	_, err := b.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed, "the unread message is lost")
	require.ErrorIs(t, a.Send(ctx, nil), net.ErrClosed)
	require.ErrorIs(t, b.Send(ctx, nil), net.ErrClosed)
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	assert.Empty(t, a.Network().Conns())
}

func TestNetworkDisconnect(t *testing.T) {
	ctx := ctxT(t)
	n := memory.NewNetwork(nil)
	defer n.Close()
	c1, _ := pair(t, n, "c1")
	c2, _ := pair(t, n, "c2")
	assert.Equal(t, 1, n.Disconnect("c1"))
	_, err := c1.Recv(ctx)
	require.ErrorIs(t, err, memory.ErrDisconnected)
	require.NoError(t, c2.Send(ctx, []byte("still up")))
	assert.Equal(t, 1, n.Disconnect("server"))
	require.ErrorIs(t, c2.Send(ctx, nil), memory.ErrDisconnected)
}

func TestDisconnectAfter(t *testing.T) {
	ctx := ctxT(t)
	a, b := memory.Pipe(nil)
	b.DisconnectAfter(2)
	for i := range 4 {
		require.NoError(t, a.Send(ctx, []byte{byte(i)}))
	}
	for i := range 2 {
		got, err := b.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, []byte{byte(i)}, got)
	}
	_, err := b.Recv(ctx)
	require.ErrorIs(t, err, memory.ErrDisconnected)
	require.ErrorIs(t, a.Send(ctx, nil), memory.ErrDisconnected)

	c, d := memory.Pipe(nil)
	c.DisconnectAfter(0)
	_, err = d.Recv(ctx)
	require.ErrorIs(t, err, memory.ErrDisconnected)
}

func TestPartition(t *testing.T) {
	ctx := ctxT(t)
	n := memory.NewNetwork(nil)
	defer n.Close()
	alice, server := pair(t, n, "alice")
	bob, _ := pair(t, n, "bob")

	require.NoError(t, n.Partition("alice", "server", memory.Hold))
	require.NoError(t, alice.Send(ctx, []byte("a1")))
	require.NoError(t, alice.Send(ctx, []byte("a2")))
	require.NoError(t, bob.Send(ctx, []byte("b1")))
	_, err := n.Dial(ctx, "server") // dial-N from an unpartitioned name works
	require.NoError(t, err)
	_, err = n.DialWith(ctx, "server", &memory.DialOptions{From: "alice"})
	require.ErrorIs(t, err, memory.ErrUnreachable)

	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	_, err = server.Recv(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "held traffic does not arrive")

	n.Heal("server", "alice")
	for _, want := range []string{"a1", "a2"} {
		got, err := server.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}

	require.NoError(t, n.Partition("alice", "server", memory.Drop))
	require.NoError(t, alice.Send(ctx, []byte("lost")))
	n.HealAll()
	require.NoError(t, alice.Send(ctx, []byte("a3")))
	got, err := server.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "a3", string(got))
	for _, bad := range []memory.PartitionMode{0, memory.Drop + 1, -1} {
		require.Error(t, n.Partition("alice", "server", bad), "mode %v", bad)
	}
	require.NoError(t, alice.Send(ctx, []byte("a4")))
	got, err = server.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "a4", string(got), "an invalid mode partitions nothing")
	assert.Equal(t, "hold", memory.Hold.String())
	assert.Equal(t, "drop", memory.Drop.String())
}

func TestTooLargeOnReceiver(t *testing.T) {
	ctx := ctxT(t)
	a, b := memory.Pipe(&memory.Options{MaxMessageSize: 10})
	err := a.Send(ctx, make([]byte, 11))
	var tl *transport.TooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, int64(11), tl.Size)
	assert.Equal(t, int64(10), tl.Limit)
	require.NoError(t, a.Send(ctx, make([]byte, 10)), "a refused Send leaves the connection open")

	memory.SetLimit(b, 5)
	require.NoError(t, a.Send(ctx, make([]byte, 8)))
	got, err := b.Recv(ctx)
	require.NoError(t, err, "the message sent before the oversized one arrives")
	assert.Len(t, got, 10)
	_, err = b.Recv(ctx)
	require.ErrorIs(t, err, transport.ErrTooLarge)
	_, err = b.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, a.Send(ctx, nil), net.ErrClosed)
}

func TestManual(t *testing.T) {
	ctx := ctxT(t)
	n := memory.NewNetwork(&memory.Options{Manual: true, Latency: time.Hour})
	defer n.Close()
	a, b := pair(t, n, "a")
	for i := range 3 {
		require.NoError(t, a.Send(ctx, []byte{byte(i)}))
	}
	require.NoError(t, b.Send(ctx, []byte("from b")))
	p := n.Pending()
	require.Len(t, p, 4)
	assert.Equal(t, memory.Message{ID: 4, Conn: a.ID(), From: "server", To: "a", Data: []byte("from b")}, p[3])

	// Delivering the third message of a direction delivers the two before it first.
	require.NoError(t, n.Deliver(3))
	for i := range 3 {
		got, err := b.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, []byte{byte(i)}, got)
	}
	require.ErrorIs(t, n.Deliver(3), memory.ErrNoMessage)
	require.ErrorIs(t, n.Drop(1), memory.ErrNoMessage)
	require.Len(t, n.Pending(), 1)
	require.NoError(t, n.Drop(4))
	assert.Empty(t, n.Pending())

	// WaitPending waits for a sender on another goroutine.
	go func() { _ = a.Send(ctx, nil) }()
	require.NoError(t, n.WaitPending(ctx, 1))
	assert.Equal(t, []byte{}, n.Pending()[0].Data)
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	require.ErrorIs(t, n.WaitPending(short, 5), context.DeadlineExceeded)
	cancel()

	// A close is a pending message too.
	require.NoError(t, a.Close())
	p = n.Pending()
	require.Len(t, p, 2)
	assert.True(t, p[1].Close)
	assert.Equal(t, 2, n.DeliverAll())
	got, err := b.Recv(ctx)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = b.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed)

	// A disconnect removes the connection's pending messages.
	c, d := pair(t, n, "c")
	require.NoError(t, c.Send(ctx, []byte("x")))
	require.NoError(t, d.Send(ctx, []byte("y")))
	require.Len(t, n.Pending(), 2)
	c.Disconnect()
	assert.Empty(t, n.Pending())
}

// TestLatency runs in a synctest bubble: time is virtual, so the delays are exact and the test
// takes no wall-clock time.
func TestLatency(t *testing.T) {
	arrivals := func(seed int64) []time.Duration {
		var out []time.Duration
		synctest.Test(t, func(t *testing.T) {
			ctx := t.Context()
			a, b := memory.Pipe(&memory.Options{Seed: seed, Latency: 10 * time.Millisecond, Jitter: 50 * time.Millisecond})
			defer a.Close()
			defer b.Close()
			start := time.Now()
			for i := range 20 {
				require.NoError(t, a.Send(ctx, []byte{byte(i)}))
			}
			for i := range 20 {
				got, err := b.Recv(ctx)
				require.NoError(t, err)
				require.Equal(t, []byte{byte(i)}, got, "order is kept")
				out = append(out, time.Since(start))
			}
			// A close travels behind the messages.
			require.NoError(t, a.Send(ctx, []byte("last")))
			require.NoError(t, a.Close())
			got, err := b.Recv(ctx)
			require.NoError(t, err)
			require.Equal(t, "last", string(got))
			_, err = b.Recv(ctx)
			require.ErrorIs(t, err, net.ErrClosed)
		})
		return out
	}
	one, two, other := arrivals(1), arrivals(1), arrivals(2)
	assert.Equal(t, one, two, "the same seed gives the same delays")
	assert.NotEqual(t, one, other)
	for _, d := range one {
		assert.GreaterOrEqual(t, d, 10*time.Millisecond)
		assert.LessOrEqual(t, d, 60*time.Millisecond)
	}
}

func TestLatencyDisconnectStopsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memory.NewNetwork(&memory.Options{Latency: time.Second})
		a, b := pair(t, n, "a")
		require.NoError(t, a.Send(t.Context(), []byte("x")))
		require.NoError(t, b.Send(t.Context(), []byte("y")))
		a.Disconnect()
		_, err := b.Recv(t.Context())
		require.ErrorIs(t, err, memory.ErrDisconnected)
		n.SetLatency(0, 0)
		require.NoError(t, n.Close())
		_, err = n.Listen("again")
		require.ErrorIs(t, err, net.ErrClosed)
		_, err = n.Dial(t.Context(), "server")
		require.Error(t, err)
	})
}

func TestDialCancelled(t *testing.T) {
	n := memory.NewNetwork(nil)
	defer n.Close()
	_, err := n.Listen("s")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = n.Dial(ctx, "s")
	require.True(t, errors.Is(err, context.Canceled), fmt.Sprint(err))
}

// A message over the receiver's limit fails the connection after the messages sent before it,
// as on the network transports: those are still received, then the error, then a closed
// connection. Closing the receiving end makes its Recv report the close, not the old error.
func TestTooLargeAfterEarlierMessages(t *testing.T) {
	ctx := ctxT(t)
	a, b := memory.Pipe(nil)
	memory.SetLimit(b, 5)
	require.NoError(t, a.Send(ctx, []byte("one")))
	require.NoError(t, a.Send(ctx, []byte("two")))
	require.NoError(t, a.Send(ctx, make([]byte, 8)))
	for _, want := range []string{"one", "two"} {
		got, err := b.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	_, err := b.Recv(ctx)
	require.ErrorIs(t, err, transport.ErrTooLarge)
	_, err = b.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed)

	c, d := memory.Pipe(nil)
	memory.SetLimit(d, 5)
	require.NoError(t, c.Send(ctx, make([]byte, 8)))
	require.NoError(t, d.Close())
	_, err = d.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed, "Recv after Close reports the close")
	assert.NotErrorIs(t, err, transport.ErrTooLarge)
}

// The same calls on a manual network give the same deliveries: a test that picks which pending
// message to deliver with a seeded source replays exactly. Recv with an ended ctx polls.
func TestManualDeterministic(t *testing.T) {
	run := func(seed uint64) []string {
		ctx := ctxT(t)
		done, cancel := context.WithCancel(ctx)
		cancel()
		n := memory.NewNetwork(&memory.Options{Manual: true})
		defer n.Close()
		a, s1 := pair(t, n, "a")
		b, s2 := pair(t, n, "b")
		rng := rand.New(rand.NewPCG(seed, 1))
		var log []string
		for i := range 60 {
			switch rng.IntN(4) {
			case 0:
				require.NoError(t, a.Send(ctx, fmt.Appendf(nil, "a%d", i)))
			case 1:
				require.NoError(t, b.Send(ctx, fmt.Appendf(nil, "b%d", i)))
			case 2:
				if p := n.Pending(); len(p) > 0 {
					m := p[rng.IntN(len(p))]
					if rng.IntN(5) == 0 {
						require.NoError(t, n.Drop(m.ID))
					} else {
						require.NoError(t, n.Deliver(m.ID))
					}
				}
			case 3:
				for _, c := range []*memory.Conn{s1, s2} {
					msg, err := c.Recv(done)
					if err != nil {
						require.ErrorIs(t, err, context.Canceled, "nothing waiting: Recv polls")
						continue
					}
					log = append(log, c.RemoteName()+":"+string(msg))
				}
			}
		}
		return log
	}
	first := run(1)
	require.NotEmpty(t, first)
	assert.Equal(t, first, run(1))
	assert.NotEqual(t, first, run(2))
}
