package memory_test

import (
	"testing"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/transporttest"
)

func BenchmarkMemory(b *testing.B) {
	transporttest.RunBenchmarks(b, func(b *testing.B) (transport.Conn, transport.Conn) {
		c, s := memory.Pipe(nil)
		b.Cleanup(func() { _ = c.Close(); _ = s.Close() })
		return c, s
	})
}
