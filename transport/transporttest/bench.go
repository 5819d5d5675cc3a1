package transporttest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aper-go/aper/transport"
)

// Pair makes a connected pair for a benchmark; it registers its cleanup with b.Cleanup.
type Pair func(b *testing.B) (client, server transport.Conn)

// BenchmarkRoundTrip measures request/response latency with messages of size bytes: the client
// sends, the server echoes, the client receives. It reports the p50 and p99 round trip in
// nanoseconds (p50-ns, p99-ns) besides ns/op.
func BenchmarkRoundTrip(b *testing.B, pair Pair, size int) {
	ctx := context.Background()
	client, server := pair(b)
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		for {
			msg, err := server.Recv(ctx)
			if err != nil {
				return
			}
			if server.Send(ctx, msg) != nil {
				return
			}
		}
	}()
	msg := make([]byte, size)
	var lat []time.Duration
	b.SetBytes(int64(2 * size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := client.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := client.Recv(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	_ = client.Close()
	_ = server.Close()
	<-echoDone
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*50/100].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds()), "p99-ns")
	}
}

// BenchmarkThroughput measures one-way throughput with messages of size bytes: the client sends
// b.N messages while the server receives them. It reports msgs/s besides MB/s.
func BenchmarkThroughput(b *testing.B, pair Pair, size int) {
	ctx := context.Background()
	client, server := pair(b)
	msg := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	recvDone := make(chan error, 1)
	go func() {
		for range b.N {
			if _, err := server.Recv(ctx); err != nil {
				recvDone <- err
				return
			}
		}
		recvDone <- nil
	}()
	for range b.N {
		if err := client.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-recvDone; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	_ = client.Close()
	_ = server.Close()
}

// PairFrom makes a Pair from a listen function like Harness.Listen's, for benchmarks.
func PairFrom(listen func(b *testing.B) (transport.Listener, transport.Dialer)) Pair {
	return func(b *testing.B) (transport.Conn, transport.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		l, d := listen(b)
		b.Cleanup(func() { _ = l.Close() })
		type res struct {
			c   transport.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := l.Accept(ctx)
			ch <- res{c, err}
		}()
		client, err := d.Dial(ctx)
		if err != nil {
			b.Fatal(err)
		}
		r := <-ch
		if r.err != nil {
			b.Fatal(r.err)
		}
		b.Cleanup(func() { _ = client.Close(); _ = r.c.Close() })
		return client, r.c
	}
}

// Sizes are the message sizes of the benchmarks: 64 bytes and 16 KiB.
var Sizes = []struct {
	Name string
	Size int
}{{"64B", 64}, {"16KiB", 16 << 10}}

// RunBenchmarks runs BenchmarkRoundTrip and BenchmarkThroughput for every size of Sizes.
func RunBenchmarks(b *testing.B, pair Pair) {
	for _, s := range Sizes {
		b.Run("RoundTrip/"+s.Name, func(b *testing.B) { BenchmarkRoundTrip(b, pair, s.Size) })
		b.Run("Throughput/"+s.Name, func(b *testing.B) { BenchmarkThroughput(b, pair, s.Size) })
	}
}
