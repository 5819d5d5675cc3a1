package websocket_test

import (
	"testing"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/transporttest"
	"github.com/aper-go/aper/transport/websocket"
)

func BenchmarkWebSocket(b *testing.B) {
	transporttest.RunBenchmarks(b, transporttest.PairFrom(func(b *testing.B) (transport.Listener, transport.Dialer) {
		s, err := websocket.Listen("127.0.0.1:0", nil)
		if err != nil {
			b.Fatal(err)
		}
		return s, websocket.Dialer("ws://"+s.Addr().String()+"/", nil)
	}))
}

// idleConns is how many connections BenchmarkIdleConn holds.
const idleConns = 2000

// BenchmarkIdleConn reports what an idle server-side connection costs (run it with
// -benchtime=1x).
func BenchmarkIdleConn(b *testing.B) {
	s, err := websocket.Listen("127.0.0.1:0", &websocket.ServerOptions{Backlog: idleConns})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	transporttest.BenchmarkIdle(b, s, "ws://"+s.Addr().String()+"/", idleConns)
}

// TestIdleClients is the client side of BenchmarkIdleConn, in a process of its own.
func TestIdleClients(t *testing.T) {
	transporttest.IdleClients(t, func(t *testing.T, addr string) transport.Dialer {
		return websocket.Dialer(addr, nil)
	})
}
