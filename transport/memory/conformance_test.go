package memory_test

import (
	"testing"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/transporttest"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts memory.Options
	}{
		{"Default", memory.Options{}},
		{"Latency", memory.Options{Latency: 50 * 1000, Jitter: 200 * 1000, Seed: 7, MaxMessageSize: 100000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.opts.MaxMessageSize
			if limit == 0 {
				limit = transport.DefaultMaxMessageSize
			}
			transporttest.Run(t, transporttest.Harness{
				MaxMessageSize:  limit,
				SendNeverBlocks: true, // the buffers are unbounded
				Listen: func(t *testing.T) (transport.Listener, transport.Dialer) {
					n := memory.NewNetwork(&tc.opts)
					t.Cleanup(func() { _ = n.Close() })
					l, err := n.Listen("server")
					if err != nil {
						t.Fatal(err)
					}
					return l, n.Dialer("server")
				},
				Oversize: func(t *testing.T, size int) transport.Conn {
					o := tc.opts
					o.MaxMessageSize = size
					a, b := memory.Pipe(&o)
					memory.SetLimit(b, size-1)
					if err := a.Send(t.Context(), make([]byte, size)); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = a.Close() })
					return b
				},
			})
		})
	}
}
