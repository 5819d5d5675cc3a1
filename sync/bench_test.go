package sync_test

import (
	"context"
	"fmt"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/websocket"
)

type counterClient = apersync.Client[*aper.Counter, aper.CounterTransition]

func counterServer(b *testing.B, opts ...apersync.ServerOption) *apersync.Server[*aper.Counter, aper.CounterTransition] {
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil
	}, append([]apersync.ServerOption{apersync.WithRoomIdle(-1)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv
}

type benchTransport struct {
	name  string
	start func(b *testing.B, srv *apersync.Server[*aper.Counter, aper.CounterTransition]) transport.Dialer
}

var benchTransports = []benchTransport{
	{"memory", func(b *testing.B, srv *apersync.Server[*aper.Counter, aper.CounterTransition]) transport.Dialer {
		n := memory.NewNetwork(nil)
		b.Cleanup(func() { n.Close() })
		l, _ := n.Listen("server")
		go srv.Serve(context.Background(), l)
		return n.Dialer("server")
	}},
	{"websocket", func(b *testing.B, srv *apersync.Server[*aper.Counter, aper.CounterTransition]) transport.Dialer {
		l, err := websocket.Listen("127.0.0.1:0", nil)
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(context.Background(), l)
		return websocket.Dialer("ws://"+l.Addr().String(), nil)
	}},
}

func dialCounters(b *testing.B, d transport.Dialer, n int) []*counterClient {
	var cs []*counterClient
	for range n {
		c, err := apersync.Dial[*aper.Counter, aper.CounterTransition](context.Background(), d, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

func waitCounterSeq(b *testing.B, c *counterClient, seq uint64) {
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	for c.Seq() < seq {
		select {
		case <-c.Changes():
		case <-timer.C:
			b.Fatalf("stuck at %d, want %d", c.Seq(), seq)
		}
	}
}

// BenchmarkThroughput: confirmed transitions per second through one room, with 1 and 10
// writers applying as fast as they can; every writer also receives every confirmation. One
// iteration is one confirmed transition; allocs/op are those of the whole process (clients,
// server, transport) per transition.
func BenchmarkThroughput(b *testing.B) { benchThroughput(b, false) }

// BenchmarkThroughputDurable is BenchmarkThroughput with the durable journal on disk
// (journal.Open in a temporary directory, fsync per batch with group commit): a transition is
// confirmed only once it is durable.
func BenchmarkThroughputDurable(b *testing.B) { benchThroughput(b, true) }

func benchThroughput(b *testing.B, durable bool) {
	for _, tr := range benchTransports {
		for _, writers := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/writers=%d", tr.name, writers), func(b *testing.B) {
				var opts []apersync.ServerOption
				if durable {
					j, err := journal.Open(b.TempDir(), nil)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { j.Close() })
					opts = append(opts, apersync.WithJournal(j))
				}
				srv := counterServer(b, opts...)
				cs := dialCounters(b, tr.start(b, srv), writers)
				b.ReportAllocs()
				b.ResetTimer()
				var wg stdsync.WaitGroup
				for i, c := range cs {
					n := b.N / writers
					if i == 0 {
						n += b.N % writers
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range n {
							c.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
						}
						c.Sync(context.Background())
					}()
				}
				wg.Wait()
				for _, c := range cs {
					waitCounterSeq(b, c, uint64(b.N))
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "confirmed/s")
			})
		}
	}
}

// BenchmarkFanOut: one writer, 100 readers; an iteration is one transition delivered to all
// 100 readers.
func BenchmarkFanOut(b *testing.B) {
	srv := counterServer(b)
	d := benchTransports[0].start(b, srv)
	cs := dialCounters(b, d, 101)
	w, readers := cs[0], cs[1:]
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
	}
	for _, r := range readers {
		waitCounterSeq(b, r, uint64(b.N))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	b.ReportMetric(float64(b.N*len(readers))/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkConfirmLatency: the time from Apply to the writer's own confirmation, one
// transition at a time, at most 1,000 a second, in a room of 100 clients (99 readers).
func BenchmarkConfirmLatency(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr.name, func(b *testing.B) {
			srv := counterServer(b)
			cs := dialCounters(b, tr.start(b, srv), 100)
			w := cs[0]
			lat := make([]time.Duration, 0, b.N)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			b.ResetTimer()
			for range b.N {
				<-tick.C
				start := time.Now()
				w.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
				w.Sync(context.Background())
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
