package websocket_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/transporttest"
	"github.com/aper-go/aper/transport/websocket"
)

func url(s *websocket.Server) string { return "ws://" + s.Addr().String() + "/" }

func listen(t *testing.T, o *websocket.ServerOptions) *websocket.Server {
	t.Helper()
	s, err := websocket.Listen("127.0.0.1:0", o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	for _, codec := range []string{"cbor", "json"} {
		t.Run(codec, func(t *testing.T) {
			transporttest.Run(t, transporttest.Harness{
				Listen: func(t *testing.T) (transport.Listener, transport.Dialer) {
					s := listen(t, nil)
					return s, websocket.Dialer(url(s), &websocket.DialOptions{Codec: codec})
				},
				Oversize: func(t *testing.T, size int) transport.Conn {
					ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
					t.Cleanup(cancel)
					s := listen(t, nil)
					raw, _, err := cws.Dial(ctx, url(s), &cws.DialOptions{Subprotocols: []string{"aper." + codec}})
					require.NoError(t, err)
					t.Cleanup(func() { _ = raw.CloseNow() })
					c, err := s.Accept(ctx)
					require.NoError(t, err)
					typ := cws.MessageBinary
					if codec == "json" {
						typ = cws.MessageText
					}
					done := make(chan struct{})
					go func() {
						defer close(done)
						_ = raw.Write(ctx, typ, make([]byte, size))
					}()
					t.Cleanup(func() { <-done })
					return c
				},
			})
		})
	}
}

func TestCodecAndMetadata(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	s := listen(t, nil)
	for _, tc := range []struct{ ask, got string }{{"", "cbor"}, {"cbor", "cbor"}, {"json", "json"}} {
		c, err := websocket.Dial(ctx, url(s)+"room?x=1", &websocket.DialOptions{
			Codec: tc.ask, HTTPHeader: http.Header{"Authorization": {"Bearer t"}},
		})
		require.NoError(t, err)
		sc, err := s.Accept(ctx)
		require.NoError(t, err)
		assert.Equal(t, tc.got, c.Codec())
		assert.Equal(t, tc.got, sc.(transport.Codec).Codec())
		_, ok := aper.CodecByName(c.Codec())
		assert.True(t, ok)
		req, ok := sc.(transport.Metadata).Metadata().(*http.Request)
		require.True(t, ok)
		assert.Equal(t, "Bearer t", req.Header.Get("Authorization"))
		assert.Equal(t, "/room", req.URL.Path)
		assert.Nil(t, c.Metadata())
		require.NoError(t, c.Close())
		require.NoError(t, sc.Close())
	}
	_, err := websocket.Dial(ctx, url(s), &websocket.DialOptions{Codec: "xml"})
	require.Error(t, err)

	// A client that asks for no subprotocol gets JSON in text frames.
	raw, _, err := cws.Dial(ctx, url(s), nil)
	require.NoError(t, err)
	sc, err := s.Accept(ctx)
	require.NoError(t, err)
	assert.Equal(t, "json", sc.(transport.Codec).Codec())
	require.NoError(t, sc.Send(ctx, []byte(`{"a":1}`)))
	typ, msg, err := raw.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, cws.MessageText, typ)
	assert.Equal(t, `{"a":1}`, string(msg))
	require.NoError(t, raw.CloseNow())
	_, err = sc.Recv(ctx)
	require.ErrorIs(t, err, transport.ErrClosed, "an abrupt close is a closed connection")
	require.NoError(t, sc.Close())
}

func TestOriginCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	s := websocket.NewServer(&websocket.ServerOptions{OriginPatterns: []string{"app.example"}})
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	_, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	require.Error(t, err)
	c, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://app.example"}}})
	require.NoError(t, err)
	defer c.Close()
	sc, err := s.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	assert.Equal(t, "websocket", s.Addr().Network())
}

// A peer that stops reading (so never answers pings) is detected by the ping timeout.
func TestHalfOpenDetected(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	s := listen(t, &websocket.ServerOptions{ConnOptions: websocket.ConnOptions{
		PingInterval: 10 * time.Millisecond, PingTimeout: 20 * time.Millisecond,
	}})
	raw, _, err := cws.Dial(ctx, url(s), nil) // never reads: pongs are never sent
	require.NoError(t, err)
	defer raw.CloseNow()
	sc, err := s.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	_, err = sc.Recv(ctx)
	require.ErrorIs(t, err, transport.ErrClosed)
	assert.Contains(t, err.Error(), "ping")
}

// A healthy peer that reads answers the pings: the connection survives many of them.
func TestPingsKeepHealthyConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	co := websocket.ConnOptions{PingInterval: time.Millisecond, PingTimeout: 5 * time.Second}
	s := listen(t, &websocket.ServerOptions{ConnOptions: co})
	c, err := websocket.Dial(ctx, url(s), &websocket.DialOptions{ConnOptions: co})
	require.NoError(t, err)
	defer c.Close()
	sc, err := s.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	for i := range 50 {
		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		_, err := c.Recv(short) // pings flow while both sides wait
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, sc.Send(ctx, []byte{byte(i)}))
		got, err := c.Recv(ctx)
		require.NoError(t, err)
		require.Equal(t, []byte{byte(i)}, got)
	}
}

func TestServerClosedRefuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	s := websocket.NewServer(nil)
	hs := httptest.NewServer(s)
	defer hs.Close()
	require.NoError(t, s.Close())
	_, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	require.Error(t, err)
}

// A peer that sends a frame of the other codec's type (binary on a JSON connection, text on a
// CBOR one) is not speaking the protocol it chose: Recv fails and the connection is closed with
// the "unsupported data" status.
func TestWrongFrameTypeClosed(t *testing.T) {
	for _, tc := range []struct {
		proto string
		typ   cws.MessageType
	}{{websocket.SubprotocolJSON, cws.MessageBinary}, {websocket.SubprotocolCBOR, cws.MessageText}} {
		t.Run(tc.proto, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
			defer cancel()
			s := listen(t, nil)
			raw, _, err := cws.Dial(ctx, url(s), &cws.DialOptions{Subprotocols: []string{tc.proto}})
			require.NoError(t, err)
			defer raw.CloseNow()
			sc, err := s.Accept(ctx)
			require.NoError(t, err)
			defer sc.Close()
			require.NoError(t, raw.Write(ctx, tc.typ, []byte(`{}`)))
			_, err = sc.Recv(ctx)
			require.ErrorIs(t, err, transport.ErrClosed)
			_, err = sc.Recv(ctx)
			require.ErrorIs(t, err, transport.ErrClosed, "the connection stays closed")
			require.ErrorIs(t, sc.Send(ctx, []byte(`{}`)), transport.ErrClosed)
			_, _, err = raw.Read(ctx)
			assert.Equal(t, cws.StatusUnsupportedData, cws.CloseStatus(err), "%v", err)
		})
	}
}

// A client that sends the upgrade request's headers slowly (slowloris) is disconnected after
// HandshakeTimeout by a Server started with Listen.
func TestSlowHandshakeDropped(t *testing.T) {
	s := listen(t, &websocket.ServerOptions{HandshakeTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")) // and never the rest
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(transporttest.Timeout)))
	_, err = io.Copy(io.Discard, conn)
	require.NoError(t, err, "the server closes the connection (EOF), long before the deadline")
}

// A connection whose client leaves while it waits for Accept is dropped: Accept returns the
// next live one, not the dead one.
func TestDeadConnectionDropped(t *testing.T) {
	for _, leave := range []struct {
		name string
		do   func(*cws.Conn) error
	}{
		{"Close", func(c *cws.Conn) error { return c.Close(cws.StatusNormalClosure, "") }},
		{"CloseNow", func(c *cws.Conn) error { return c.CloseNow() }},
	} {
		t.Run(leave.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
			defer cancel()
			s := listen(t, nil)
			events := make(chan string, 4)
			websocket.OnEvent(s, func(e string) { events <- e })
			next := func() string {
				t.Helper()
				select {
				case e := <-events:
					return e
				case <-ctx.Done():
					t.Fatal("no server event")
					return ""
				}
			}

			gone, _, err := cws.Dial(ctx, url(s), &cws.DialOptions{Subprotocols: []string{websocket.SubprotocolCBOR}})
			require.NoError(t, err)
			require.Equal(t, "parked", next())
			_ = leave.do(gone)
			require.Equal(t, "dropped", next(), "the dead connection leaves the backlog")

			live, err := websocket.Dial(ctx, url(s), nil)
			require.NoError(t, err)
			defer live.Close()
			require.NoError(t, live.Send(ctx, []byte("live")))
			sc, err := s.Accept(ctx)
			require.NoError(t, err)
			defer sc.Close()
			got, err := sc.Recv(ctx)
			require.NoError(t, err)
			assert.Equal(t, "live", string(got))
		})
	}
}

// Past Backlog connections waiting for Accept, upgrade requests are refused with 503; Accept
// makes room.
func TestBacklog(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), transporttest.Timeout)
	defer cancel()
	s := listen(t, &websocket.ServerOptions{Backlog: 2})
	for range 2 {
		c, err := websocket.Dial(ctx, url(s), nil)
		require.NoError(t, err)
		defer c.Close()
	}
	_, resp, err := cws.Dial(ctx, url(s), nil)
	require.Error(t, err, "a third connection is refused")
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	sc, err := s.Accept(ctx)
	require.NoError(t, err)
	defer sc.Close()
	c, err := websocket.Dial(ctx, url(s), nil)
	require.NoError(t, err, "Accept made room")
	defer c.Close()
	for range 2 {
		sc, err := s.Accept(ctx)
		require.NoError(t, err)
		defer sc.Close()
	}
}
