package websocket_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/websocket"
)

// clientFrame encodes one masked client frame (RFC 6455 section 5.2).
func clientFrame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

const fuzzLimit = 64

// FuzzServerRead sends arbitrary bytes, after a valid upgrade to "aper.json", to a Server's
// connection: Recv returns messages within the limit, then an error once the client has gone;
// never a panic or a hang. The frame parsing is github.com/coder/websocket's; this checks what
// this package does with its results (limits, frame types, closing).
func FuzzServerRead(f *testing.F) {
	s, err := websocket.Listen("127.0.0.1:0", &websocket.ServerOptions{ConnOptions: websocket.ConnOptions{
		MaxMessageSize: fuzzLimit, PingInterval: -1, CloseTimeout: 50 * time.Millisecond,
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	addr := s.Addr().String()

	f.Add(clientFrame(true, 0x1, []byte(`{"a":1}`)))                                             // a text message
	f.Add(clientFrame(true, 0x2, []byte{0xa1, 0x61, 0x61, 0x01}))                                // binary: the wrong type
	f.Add(append(clientFrame(false, 0x1, []byte("ab")), clientFrame(true, 0x0, []byte("c"))...)) // fragmented
	f.Add(clientFrame(true, 0x1, make([]byte, fuzzLimit+1)))                                     // over the limit
	f.Add(append(clientFrame(true, 0x9, []byte("ping")), clientFrame(true, 0x8, []byte{0x03, 0xe8})...))
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}) // a huge length
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'})                                    // unmasked

	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
			"Sec-WebSocket-Protocol: aper.json\r\n\r\n"
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %s", resp.Status)
		}
		sc, err := s.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(data)
		_ = conn.(*net.TCPConn).CloseWrite() // the client sends nothing more
		for {
			msg, err := sc.Recv(ctx)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Recv hangs after the client has gone: %v", err)
				}
				if errors.Is(err, transport.ErrTooLarge) {
					continue // then the connection is closed
				}
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Recv: %v does not report a closed connection", err)
				}
				break
			}
			if len(msg) > fuzzLimit {
				t.Fatalf("message of %d bytes over the %d-byte limit", len(msg), fuzzLimit)
			}
		}
		_ = conn.Close()
		_ = sc.Close()
	})
}
