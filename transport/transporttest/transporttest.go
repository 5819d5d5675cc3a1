// Package transporttest is the conformance suite of the transport package: one set of tests that
// every implementation of transport.Conn, transport.Listener and transport.Dialer runs from its
// own tests with [Run].
//
// The suite checks what the transport package documents, and one thing more that the sync layer
// relies on: a Recv cancelled through its ctx leaves the connection usable. The cases that need a
// blocked Send (a cancelled one, one that Close unblocks) fill the buffers towards a peer that
// reads nothing until a Send stops returning (see [Stall]); an implementation whose Send never
// blocks says so with [Harness.SendNeverBlocks].
package transporttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport"
)

// Harness describes an implementation to the suite.
type Harness struct {
	// Listen starts a server and returns its listener and a dialer that connects to it. The
	// suite closes the listener and every connection; Listen registers the cleanup of anything
	// else it started (an HTTP server, say) with t.Cleanup. Required.
	Listen func(t *testing.T) (transport.Listener, transport.Dialer)

	// MaxMessageSize is the size limit of the connections Listen's listener and dialer make;
	// 0 means transport.DefaultMaxMessageSize.
	MaxMessageSize int

	// Oversize, if not nil, returns a connection whose peer is a raw peer that has sent, or is
	// sending, a message of size bytes without the limit check that Send makes. The suite
	// checks that Recv fails with transport.ErrTooLarge and that the connection is then
	// closed. Oversize registers its cleanup with t.Cleanup.
	Oversize func(t *testing.T, size int) transport.Conn

	// SendNeverBlocks says that Send never waits for the peer to read (its buffers are
	// unbounded, as in transport/memory), so there is no blocked Send to cancel or to unblock
	// with Close. The suite then checks that claim, sending SendVolume bytes to a peer that
	// reads nothing, instead of the cases that need a blocked Send. Without it, the suite
	// fails if SendVolume bytes go to a peer that reads nothing without a Send blocking.
	SendNeverBlocks bool
}

// SendVolume is how many bytes the suite sends to a peer that reads nothing: enough to fill
// the read-ahead, flow-control windows and socket buffers of a network transport on loopback.
const SendVolume = 256 << 20

// Stall is how long a Send to a peer that reads nothing must go without returning for the
// suite to take it as blocked. The suite cannot see inside Send, so this is an observation, not
// a synchronization: a Send that was merely slow must pass the same checks (and if it finished
// before the suite acted, the case runs again).
const Stall = 200 * time.Millisecond

// Timeout bounds every blocking step of the suite: it is a failure bound, never a measure.
const Timeout = 10 * time.Second

// Run runs the suite. It must not run in parallel with other tests of the same process, since
// it counts goroutines.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Listen == nil {
		t.Fatal("transporttest: Harness.Listen is required")
	}
	if h.MaxMessageSize <= 0 {
		h.MaxMessageSize = transport.DefaultMaxMessageSize
	}
	s := suite{h: h}
	t.Run("Ordering", s.ordering)
	t.Run("EmptyMessage", s.empty)
	t.Run("LargeMessage", s.large)
	t.Run("TooLargeSend", s.tooLargeSend)
	t.Run("TooLargeRecv", s.tooLargeRecv)
	t.Run("ConcurrentSend", s.concurrentSend)
	t.Run("CloseUnblocksRecv", s.closeUnblocksRecv)
	t.Run("CloseUnblocksSend", s.closeUnblocksSend)
	t.Run("ContextCancel", s.contextCancel)
	t.Run("CancelBlockedSend", s.cancelBlockedSend)
	t.Run("PeerClose", s.peerClose)
	t.Run("IdempotentClose", s.idempotentClose)
	t.Run("Listener", s.listener)
	t.Run("NoGoroutineLeak", s.noLeak)
}

type suite struct{ h Harness }

func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// pair dials and accepts one connection; the connections and the listener are closed at the
// end of the test.
func (s suite) pair(t *testing.T) (client, server transport.Conn) {
	t.Helper()
	ctx := bounded(t)
	l, d := s.h.Listen(t)
	t.Cleanup(func() { _ = l.Close() })
	type accepted struct {
		c   transport.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := l.Accept(ctx)
		ch <- accepted{c, err}
	}()
	client, err := d.Dial(ctx)
	require.NoError(t, err, "dial")
	t.Cleanup(func() { _ = client.Close() })
	a := <-ch
	require.NoError(t, a.err, "accept")
	t.Cleanup(func() { _ = a.c.Close() })
	return client, a.c
}

// pattern makes a message of size bytes that says which message it is.
func pattern(id, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(id*7 + i*13)
	}
	if size >= 8 {
		binary.BigEndian.PutUint64(b, uint64(id))
	}
	return b
}

func (s suite) ordering(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)
	const count = 200
	sizes := []int{0, 1, 7, 8, 100, 1000, 70000}
	for _, dir := range []struct {
		name     string
		from, to transport.Conn
	}{{"ClientToServer", client, server}, {"ServerToClient", server, client}} {
		t.Run(dir.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() {
				for i := range count {
					if err := dir.from.Send(ctx, pattern(i, min(sizes[i%len(sizes)], s.h.MaxMessageSize))); err != nil {
						errc <- fmt.Errorf("send %d: %w", i, err)
						return
					}
				}
				errc <- nil
			}()
			for i := range count {
				got, err := dir.to.Recv(ctx)
				require.NoError(t, err, "recv %d", i)
				require.True(t, bytes.Equal(pattern(i, min(sizes[i%len(sizes)], s.h.MaxMessageSize)), got), "message %d differs", i)
			}
			require.NoError(t, <-errc)
		})
	}
}

func (s suite) empty(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)
	require.NoError(t, client.Send(ctx, nil))
	require.NoError(t, client.Send(ctx, []byte{}))
	require.NoError(t, client.Send(ctx, []byte("after")))
	for _, want := range []string{"", "", "after"} {
		got, err := server.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
}

func (s suite) large(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)
	msg := pattern(1, s.h.MaxMessageSize)
	errc := make(chan error, 1)
	go func() { errc <- client.Send(ctx, msg) }()
	got, err := server.Recv(ctx)
	require.NoError(t, err)
	require.NoError(t, <-errc)
	require.True(t, bytes.Equal(msg, got), "a message of exactly the limit arrives whole")

	// The sender may reuse its slice once Send returns; the receiver owns what Recv returned.
	buf := []byte("first")
	require.NoError(t, server.Send(ctx, buf))
	copy(buf, "XXXXX")
	got, err = client.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "first", string(got))
}

func (s suite) tooLargeSend(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)
	err := client.Send(ctx, make([]byte, s.h.MaxMessageSize+1))
	require.ErrorIs(t, err, transport.ErrTooLarge)
	var tl *transport.TooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, int64(s.h.MaxMessageSize+1), tl.Size)
	assert.Equal(t, int64(s.h.MaxMessageSize), tl.Limit)

	require.NoError(t, client.Send(ctx, []byte("still open")), "a refused Send leaves the connection open")
	got, err := server.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "still open", string(got))
}

func (s suite) tooLargeRecv(t *testing.T) {
	if s.h.Oversize == nil {
		t.Skip("the harness has no raw peer")
	}
	ctx := bounded(t)
	c := s.h.Oversize(t, s.h.MaxMessageSize+1)
	t.Cleanup(func() { _ = c.Close() })
	_, err := c.Recv(ctx)
	require.ErrorIs(t, err, transport.ErrTooLarge)
	_, err = c.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed, "the connection is closed after a message over the limit")
	require.ErrorIs(t, c.Send(ctx, []byte("x")), net.ErrClosed)
	require.NoError(t, c.Close())
}

func (s suite) concurrentSend(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)
	const senders, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Appendf(nil, "%d:%d:%s", g, i, strings.Repeat("x", (g*each+i)%300))
				if err := client.Send(ctx, msg); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	next := make([]int, senders)
	for range senders * each {
		got, err := server.Recv(ctx)
		require.NoError(t, err)
		parts := strings.SplitN(string(got), ":", 3)
		require.Len(t, parts, 3, "message %q is whole", got)
		g, err1 := strconv.Atoi(parts[0])
		i, err2 := strconv.Atoi(parts[1])
		require.NoError(t, errors.Join(err1, err2), "message %q is whole", got)
		require.True(t, g >= 0 && g < senders, "message %q is whole", got)
		rest := parts[2]
		require.Equal(t, next[g], i, "sender %d's messages stay in order", g)
		require.Equal(t, strings.Repeat("x", (g*each+i)%300), rest, "message %q is whole", got)
		next[g]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func (s suite) closeUnblocksRecv(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)
	for _, c := range []transport.Conn{client, server} {
		errc := make(chan error, 1)
		go func() {
			_, err := c.Recv(ctx)
			errc <- err
		}()
		require.NoError(t, c.Close())
		select {
		case err := <-errc:
			require.ErrorIs(t, err, net.ErrClosed)
		case <-ctx.Done():
			t.Fatal("Close did not unblock Recv")
		}
	}
}

// errStopped is what a blocked sender reports when the suite acted (cancelled or closed)
// between two of its Sends rather than during one.
var errStopped = errors.New("transporttest: stopped between two Sends")

// blockedSender sends numbered messages of the largest size from its own goroutine to a peer
// that reads nothing, until a Send fails.
type blockedSender struct {
	size     int
	base     []byte        // message i is base with i in its first 8 bytes
	sent     int           // Sends that returned nil before the sender was found blocked
	stopc    chan struct{} // closed by stop
	done     chan error    // the error that ended the Sends (errStopped, see above)
	progress chan struct{} // one value per Send that returned nil
}

// blockSend starts a blockedSender on c with ctx and returns when one of its Sends has gone
// Stall without returning. It fails the test if SendVolume bytes go through first, or a Send
// fails. The goroutine ends when a Send fails: the test's cleanup closes c.
func (s suite) blockSend(t *testing.T, ctx context.Context, c transport.Conn) *blockedSender {
	t.Helper()
	b := &blockedSender{
		size: min(s.h.MaxMessageSize, 1<<20), stopc: make(chan struct{}),
		done: make(chan error, 1), progress: make(chan struct{}),
	}
	require.GreaterOrEqual(t, b.size, 8, "the cases with a blocked Send need messages of 8 bytes")
	b.base = pattern(0, b.size)
	go func() {
		msg := slices.Clone(b.base)
		for i := 0; ; i++ {
			binary.BigEndian.PutUint64(msg, uint64(i))
			select { // just before Send, so that a Send called after stop is told apart
			case <-b.stopc:
				b.done <- errStopped
				return
			default:
			}
			if err := c.Send(ctx, msg); err != nil {
				b.done <- err
				return
			}
			select {
			case b.progress <- struct{}{}:
			case <-b.stopc:
			}
		}
	}()
	timer := time.NewTimer(Stall)
	defer timer.Stop()
	for {
		select {
		case <-b.progress:
			b.sent++
			require.Less(t, b.sent*b.size, SendVolume,
				"Send did not block to a peer that reads nothing (set Harness.SendNeverBlocks if it never does)")
			timer.Reset(Stall)
		case err := <-b.done:
			t.Fatalf("send %d to a peer that reads nothing: %v", b.sent, err)
		case <-timer.C:
			select {
			case <-b.progress: // a Send returned just now: not blocked yet
				b.sent++
				timer.Reset(Stall)
				continue
			default:
			}
			t.Logf("a Send blocked after %d messages of %d bytes", b.sent, b.size)
			return b
		}
	}
}

// stop marks that the suite acts now; whether a Send was in progress then shows in the error.
func (b *blockedSender) stop() { close(b.stopc) }

// check says whether msg is the sender's message i, whole.
func (b *blockedSender) check(i int, msg []byte) bool {
	return len(msg) == b.size && binary.BigEndian.Uint64(msg) == uint64(i) && bytes.Equal(msg[8:], b.base[8:])
}

// neverBlocks checks the Harness's claim that Send never blocks: SendVolume bytes go to a peer
// that reads nothing.
func (s suite) neverBlocks(t *testing.T) {
	ctx := bounded(t)
	client, _ := s.pair(t) // nobody reads on the server side
	size := min(s.h.MaxMessageSize, 1<<20)
	msg := make([]byte, size)
	for sent := 0; sent < SendVolume/16; sent += size { // a sixteenth: the buffers are in memory
		require.NoError(t, client.Send(ctx, msg))
	}
}

func (s suite) closeUnblocksSend(t *testing.T) {
	if s.h.SendNeverBlocks {
		// No Send to unblock: Close ends a stream of Sends instead.
		ctx := bounded(t)
		client, _ := s.pair(t)
		errc := make(chan error, 1)
		started := make(chan struct{})
		go func() {
			for i := 0; ; i++ {
				if err := client.Send(ctx, []byte("x")); err != nil {
					errc <- err
					return
				}
				if i == 0 {
					close(started)
				}
			}
		}()
		select {
		case <-started:
		case err := <-errc:
			t.Fatalf("first send: %v", err)
		}
		require.NoError(t, client.Close())
		require.ErrorIs(t, <-errc, net.ErrClosed)
		return
	}
	for attempt := 1; ; attempt++ {
		ctx := bounded(t)
		client, _ := s.pair(t) // nobody reads on the server side
		b := s.blockSend(t, ctx, client)
		b.stop()
		require.NoError(t, client.Close())
		select {
		case err := <-b.done:
			if errors.Is(err, errStopped) && attempt < 5 {
				t.Logf("the Send returned before the suite acted: blocking another")
				continue
			}
			require.ErrorIs(t, err, net.ErrClosed, "a Send blocked when Close is called fails")
		case <-ctx.Done():
			t.Fatal("Close did not unblock a blocked Send")
		}
		return
	}
}

func (s suite) contextCancel(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := server.Recv(cancelled)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, client.Send(cancelled, []byte("x")), context.Canceled)

	// A Recv blocked when its ctx ends returns, and the connection stays usable.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = server.Recv(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	blocked, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := server.Recv(blocked)
		errc <- err
	}()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	require.NoError(t, client.Send(ctx, []byte("after cancel")))
	got, err := server.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "after cancel", string(got))
}

// cancelBlockedSend cancels the ctx of a Send that is blocked because the peer reads nothing.
// The Send returns an error wrapping ctx.Err(), and the connection is closed (see transport.Conn):
// this end's Send and Recv fail with net.ErrClosed, and the peer receives whole messages, in
// order, then the close.
func (s suite) cancelBlockedSend(t *testing.T) {
	if s.h.SendNeverBlocks {
		s.neverBlocks(t)
		t.Skip("Send never blocks (Harness.SendNeverBlocks): checked that instead")
	}
	for attempt := 1; ; attempt++ {
		ctx := bounded(t)
		client, server := s.pair(t) // the server reads nothing until the Send is cancelled
		sendCtx, cancel := context.WithCancel(ctx)
		b := s.blockSend(t, sendCtx, client)
		b.stop()
		cancel()
		select {
		case err := <-b.done:
			if errors.Is(err, errStopped) && attempt < 5 {
				t.Logf("the Send returned before the suite acted: blocking another")
				continue
			}
			require.ErrorIs(t, err, context.Canceled, "a blocked Send whose ctx ends")
		case <-ctx.Done():
			t.Fatal("a blocked Send did not return when its ctx was cancelled")
		}

		require.ErrorIs(t, client.Send(ctx, []byte("after")), net.ErrClosed, "the connection is closed")
		_, err := client.Recv(ctx)
		require.ErrorIs(t, err, net.ErrClosed, "the connection is closed")
		for i := 0; ; i++ {
			got, err := server.Recv(ctx)
			if err != nil {
				require.ErrorIs(t, err, net.ErrClosed, "the peer sees the close after %d messages", i)
				break
			}
			require.LessOrEqual(t, i, b.sent, "the peer got more messages than were sent")
			require.True(t, b.check(i, got), "message %d arrives whole and in order", i)
		}
		require.NoError(t, client.Close())
		return
	}
}

func (s suite) peerClose(t *testing.T) {
	for _, dir := range []string{"ServerCloses", "ClientCloses"} {
		t.Run(dir, func(t *testing.T) {
			ctx := bounded(t)
			client, server := s.pair(t)
			closer, other := server, client
			if dir == "ClientCloses" {
				closer, other = client, server
			}
			require.NoError(t, closer.Send(ctx, []byte("bye")))
			require.NoError(t, closer.Close())
			got, err := other.Recv(ctx)
			require.NoError(t, err, "a message sent before Close arrives")
			assert.Equal(t, "bye", string(got))
			_, err = other.Recv(ctx)
			require.ErrorIs(t, err, net.ErrClosed, "the peer's close is seen as a closed connection")
			// Send may succeed until the transport learns of the close, never forever.
			for i := 0; ; i++ {
				if err := other.Send(ctx, []byte("late")); err != nil {
					break
				}
				require.Less(t, i, 1000, "Send keeps succeeding after the peer closed")
				require.NoError(t, ctx.Err())
			}
			require.NoError(t, other.Close())
		})
	}
}

func (s suite) idempotentClose(t *testing.T) {
	ctx := bounded(t)
	client, server := s.pair(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { _ = client.Close() })
	}
	wg.Wait()
	require.NoError(t, client.Close())
	require.NoError(t, client.Close())
	require.ErrorIs(t, client.Send(ctx, []byte("x")), net.ErrClosed)
	_, err := client.Recv(ctx)
	require.ErrorIs(t, err, net.ErrClosed)
	require.NoError(t, server.Close())
	require.NoError(t, server.Close())
}

func (s suite) listener(t *testing.T) {
	ctx := bounded(t)
	l, d := s.h.Listen(t)
	t.Cleanup(func() { _ = l.Close() })
	require.NotNil(t, l.Addr())
	assert.NotEmpty(t, l.Addr().String())

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err := l.Accept(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// Several clients; each accepted connection talks to its own client.
	const clients = 3
	var conns []transport.Conn
	for i := range clients {
		c, err := d.Dial(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		require.NoError(t, c.Send(ctx, fmt.Appendf(nil, "client %d", i)))
		conns = append(conns, c)
	}
	var names []string
	peerOf := map[string]transport.Conn{} // client name -> accepted connection
	for range clients {
		sc, err := l.Accept(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = sc.Close() })
		got, err := sc.Recv(ctx)
		require.NoError(t, err)
		names = append(names, string(got))
		require.NoError(t, sc.Send(ctx, append([]byte("echo "), got...)))
		peerOf[string(got)] = sc
	}
	slices.Sort(names)
	assert.Equal(t, []string{"client 0", "client 1", "client 2"}, names)
	for i, c := range conns {
		got, err := c.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("echo client %d", i), string(got))
	}

	// Close unblocks Accept, is idempotent, and leaves accepted connections open.
	errc := make(chan error, 1)
	go func() {
		_, err := l.Accept(ctx)
		errc <- err
	}()
	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	require.ErrorIs(t, <-errc, net.ErrClosed)
	_, err = l.Accept(ctx)
	require.ErrorIs(t, err, net.ErrClosed)
	require.NoError(t, peerOf["client 0"].Send(ctx, []byte("after listener close")))
	got, err := conns[0].Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "after listener close", string(got))
}

func (s suite) noLeak(t *testing.T) {
	round := func(t *testing.T) {
		ctx := bounded(t)
		client, server := s.pair(t)
		require.NoError(t, client.Send(ctx, []byte("ping")))
		_, err := server.Recv(ctx)
		require.NoError(t, err)
		// Leave a Recv blocked on each side, then close.
		var wg sync.WaitGroup
		for _, c := range []transport.Conn{client, server} {
			wg.Go(func() { _, _ = c.Recv(ctx) })
		}
		require.NoError(t, client.Close())
		require.NoError(t, server.Close())
		wg.Wait()
	}
	t.Run("WarmUp", round) // lets lazily started package-level goroutines appear first
	before := runtime.NumGoroutine()
	for i := range 3 {
		t.Run(fmt.Sprintf("Round%d", i), round)
	}
	deadline := time.Now().Add(Timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after closing, %d before:\n%s", n, before, buf)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // polling interval of a bounded wait, not synchronization
	}
}
