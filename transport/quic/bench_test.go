package quic_test

import (
	"testing"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/transporttest"
)

func BenchmarkQUIC(b *testing.B) {
	st, ct, err := quic.SelfSigned()
	if err != nil {
		b.Fatal(err)
	}
	transporttest.RunBenchmarks(b, transporttest.PairFrom(func(b *testing.B) (transport.Listener, transport.Dialer) {
		l, err := quic.Listen("127.0.0.1:0", st, nil)
		if err != nil {
			b.Fatal(err)
		}
		return l, quic.Dialer(l.Addr().String(), ct, nil)
	}))
}
