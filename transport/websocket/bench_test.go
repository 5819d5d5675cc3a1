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
