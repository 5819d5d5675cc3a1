package sync_test

import (
	"context"
	"errors"
	"net"
	stdsync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/websocket"
	"github.com/fxamacker/cbor/v2"
)

// ServeHTTP serves WebSocket through the server itself.
func TestServeHTTP(t *testing.T) {
	srv := newMapServer(t)
	hs := newHTTPServer(t, srv)
	a := dial(t, websocket.Dialer("ws://"+hs, &websocket.DialOptions{Codec: "json"}), "h")
	b := dial(t, websocket.Dialer("ws://"+hs, nil), "h")
	mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	mustApply(t, b, m.Set("y", aper.NewCounter(2)))
	if seq := quiesce(t, srv, "h", a, b); seq != 2 {
		t.Fatalf("seq %d", seq)
	}
}

// Bad bytes close that connection only; the room and its other clients carry on.
func TestHostileFramesCloseOnlyThatConnection(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	quiesce(t, srv, "r", a)

	hello := func(v int) []byte {
		b, _ := cbor.Marshal(map[int]any{1: 1, 2: v, 3: "r"})
		return b
	}
	submit := func(local int, data []byte) []byte {
		b, _ := cbor.Marshal(map[int]any{1: 3, 7: local, 11: cbor.RawMessage(data)})
		return b
	}
	cases := map[string][][]byte{
		"garbage first":      {{0xff, 0x00, 0x13}},
		"garbage later":      {hello(1), {0x9f, 0x9f, 0x9f}},
		"not hello first":    {submit(1, []byte{0xa0})},
		"bad transition":     {hello(1), submit(1, []byte{0x63, 'a', 'b'})},
		"unknown frame type": {hello(1), func() []byte { b, _ := cbor.Marshal(map[int]any{1: 77}); return b }()},
		"welcome from peer":  {hello(1), func() []byte { b, _ := cbor.Marshal(map[int]any{1: 2, 2: 1}); return b }()},
		"empty message":      {hello(1), {}},
		"huge room name": {func() []byte {
			b, _ := cbor.Marshal(map[int]any{1: 1, 2: apersync.ProtocolVersion, 3: string(make([]byte, 1000))})
			return b
		}()},
	}
	for name, msgs := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := n.Dial(ctxT(t), "server")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, msg := range msgs {
				c.Send(ctxT(t), msg)
			}
			for {
				_, err := c.Recv(ctxT(t))
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						t.Fatalf("the server did not close the connection: %v", err)
					}
					break
				}
			}
		})
	}
	mustApply(t, a, m.Update("x", add(1)))
	if seq := quiesce(t, srv, "r", a); seq != 2 {
		t.Fatalf("seq %d", seq)
	}
}

func TestVersionMismatchIsClear(t *testing.T) {
	_, n := memoryServer(t, nil)
	c, err := n.Dial(ctxT(t), "server")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := cbor.Marshal(map[int]any{1: 1, 2: 99, 3: "r"})
	c.Send(ctxT(t), b)
	msg, err := c.Recv(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Type    int    `cbor:"1,keyasint"`
		Code    string `cbor:"14,keyasint"`
		Message string `cbor:"15,keyasint"`
		Fatal   bool   `cbor:"16,keyasint"`
	}
	if err := cbor.Unmarshal(msg, &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != 6 || f.Code != "version" || !f.Fatal || f.Message == "" {
		t.Fatalf("answer %+v", f)
	}
	t.Log(f.Message)

	// A client facing a server of another version fails with ErrVersion.
	l, _ := n.Listen("future")
	go func() {
		sc, err := l.Accept(context.Background())
		if err != nil {
			return
		}
		sc.Recv(context.Background())
		b, _ := cbor.Marshal(map[int]any{1: 2, 2: apersync.ProtocolVersion + 1, 4: "id", 10: true, 11: []byte{0xa0}})
		sc.Send(context.Background(), b)
	}()
	_, err = apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("future"), "r")
	if !errors.Is(err, apersync.ErrVersion) {
		t.Fatalf("Dial = %v, want ErrVersion", err)
	}
	l.Close()
}

// blockingListener hands out connections whose Send blocks (a reader that stopped reading) for
// the first one accepted.
type blockingListener struct {
	transport.Listener
	once    stdsync.Once
	blocked chan *blockingConn
}

type blockingConn struct {
	transport.Conn
	closed    chan struct{}
	closeOnce stdsync.Once
}

func (c *blockingConn) Send(ctx context.Context, b []byte) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *blockingConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (l *blockingListener) Accept(ctx context.Context) (transport.Conn, error) {
	c, err := l.Listener.Accept(ctx)
	if err != nil {
		return nil, err
	}
	var out transport.Conn = c
	l.once.Do(func() {
		bc := &blockingConn{Conn: c, closed: make(chan struct{})}
		l.blocked <- bc
		out = bc
	})
	return out, nil
}

// A client that stops reading is cut when its queue overflows; the room never waits for it. Its
// writer, stuck in a send that never ends, is given abortGrace to send the reason; then its
// connection is closed (synctest's clock makes that wait instant).
func TestSlowClientIsDisconnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memory.NewNetwork(nil)
		t.Cleanup(func() { n.Close() })
		ml, _ := n.Listen("server")
		l := &blockingListener{Listener: ml, blocked: make(chan *blockingConn, 1)}
		srv := newMapServer(t, apersync.WithQueueLimit(64))
		serve(t, srv, l)

		// The slow one: a raw connection that says hello and never gets anything back.
		slow, err := n.Dial(ctxT(t), "server")
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		b, _ := cbor.Marshal(map[int]any{1: 1, 2: apersync.ProtocolVersion, 3: "r", 19: rawKey()})
		slow.Send(ctxT(t), b)
		bc := <-l.blocked

		a := dial(t, n.Dialer("server"), "r")
		mustApply(t, a, m.Set("x", aper.NewCounter(0)))
		// Transitions one by one (each a push of its own onto the slow queue) past the queue's
		// limit; a's own confirmations never wait for the slow client.
		const count = 200
		for range count {
			mustApply(t, a, m.Update("x", add(1)))
			if err := a.Sync(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		}
		<-bc.closed
		if seq := quiesce(t, srv, "r", a); seq != count+1 {
			t.Fatalf("seq %d", seq)
		}
	})
}

func TestShutdownIsGracefulAndIdempotent(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	for range 50 {
		mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	}
	if err := a.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close()
	waitStatus(t, a, apersync.Disconnected)
	if err := a.Apply(m.Set("y", aper.NewCounter(1))); err != nil {
		t.Fatal("Apply while disconnected must queue:", err)
	}
	if a.Pending() != 1 {
		t.Fatalf("pending %d", a.Pending())
	}
	a.Close()
	a.Close()
	if err := a.Apply(m.Set("z", aper.NewCounter(1))); !errors.Is(err, apersync.ErrClosed) {
		t.Fatalf("Apply after Close = %v", err)
	}
	if _, _, err := srv.Snapshot(ctxT(t), "r"); !errors.Is(err, apersync.ErrServerClosed) {
		t.Fatalf("Snapshot after Close = %v", err)
	}
}

// An empty room is unloaded after its idle time and made afresh by the factory on next join.
func TestIdleRoomUnloads(t *testing.T) {
	loads := make(chan string, 4)
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
		loads <- room
		return aper.NewMap[string, *aper.Counter, aper.CounterTransition](), nil
	}, apersync.WithRoomIdle(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, _ := n.Listen("server")
	serve(t, srv, l)
	a := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	a.Sync(ctxT(t))
	a.Close()
	<-loads
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for {
		// Once the room has unloaded, Snapshot loads a fresh one.
		st, _, err := srv.Snapshot(ctxT(t), "r")
		if err != nil {
			t.Fatal(err)
		}
		if st.Len() == 0 {
			break
		}
		select {
		case <-loads:
		case <-timer.C:
			t.Fatal("the room never unloaded")
		default:
		}
		waitTick := time.NewTimer(5 * time.Millisecond) // polling a server that has no event for this
		<-waitTick.C
	}
}

func TestFactoryErrorIsFatalForClient(t *testing.T) {
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
		return nil, errors.New("no such room")
	})
	if err != nil {
		t.Fatal(err)
	}
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, _ := n.Listen("server")
	serve(t, srv, l)
	_, err = apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("server"), "r")
	var se *apersync.ServerError
	if !errors.As(err, &se) || se.Code != "room" || !se.Fatal {
		t.Fatalf("Dial = %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	f := func(ctx context.Context, room string) (*cmap, error) { return nil, nil }
	for _, o := range []apersync.ServerOption{apersync.WithResumeLog(0), apersync.WithQueueLimit(-1), apersync.WithHelloTimeout(0), apersync.WithMaxMessageSize(1), apersync.WithLogger(nil)} {
		if _, err := apersync.NewServer(f, o); !errors.Is(err, apersync.ErrInvalidOption) {
			t.Fatalf("NewServer = %v", err)
		}
	}
	if _, err := apersync.NewServer[*cmap, cmt](nil); !errors.Is(err, apersync.ErrInvalidOption) {
		t.Fatal(err)
	}
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	for _, o := range []apersync.ClientOption{apersync.WithBackoff(0, 1), apersync.WithPingInterval(0), apersync.WithHandshakeTimeout(-1)} {
		if _, err := apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("x"), "r", o); !errors.Is(err, apersync.ErrInvalidOption) {
			t.Fatalf("Dial = %v", err)
		}
	}
}

// A client that neither reads nor speaks after its hello is ended by the server for its silence;
// the writer, stuck sending it the welcome, is given abortGrace to send the reason and then the
// connection is closed: the server holds nothing for it.
func TestSilentNonReaderIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memory.NewNetwork(nil)
		t.Cleanup(func() { n.Close() })
		ml, _ := n.Listen("server")
		l := &blockingListener{Listener: ml, blocked: make(chan *blockingConn, 1)}
		srv := newMapServer(t, apersync.WithConnTimeout(10*time.Second))
		serve(t, srv, l)

		silent, err := n.Dial(ctxT(t), "server")
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		b, _ := cbor.Marshal(map[int]any{1: 1, 2: apersync.ProtocolVersion, 3: "r", 19: rawKey()})
		silent.Send(ctxT(t), b)
		bc := <-l.blocked
		<-bc.closed
	})
}
