package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
)

// BenchmarkRooms measures confirmed transitions per second through sync servers: one client
// per room, each applying its share of b.N transitions and waiting for their confirmations
// every 64. Disk is one server on the local disk journal (an fsync per batch); R1 a cluster of
// one member; R3 of three members, each room's client on the member after its owner's, so
// relayed.
func BenchmarkRooms(b *testing.B) {
	for _, rooms := range []int{1, 100} {
		b.Run(fmt.Sprintf("Disk/rooms=%d", rooms), func(b *testing.B) {
			j, err := journal.Open(b.TempDir(), nil)
			require.NoError(b, err)
			defer j.Close()
			srv, err := apersync.NewServer(func(context.Context, string) (counter, error) { return aper.NewCounter(0), nil },
				apersync.WithJournal(j))
			require.NoError(b, err)
			defer srv.Close()
			nw := memory.NewNetwork(nil)
			defer nw.Close()
			l, err := nw.Listen("disk")
			require.NoError(b, err)
			go srv.Serve(context.Background(), l)
			runRooms(b, rooms, func(i int) *client {
				c, err := apersync.Dial[counter, aper.CounterTransition](b.Context(), nw.Dialer("disk"), fmt.Sprint("room-", i))
				require.NoError(b, err)
				return c
			})
		})
		for _, members := range []int{1, 3} {
			b.Run(fmt.Sprintf("R%d/rooms=%d", members, rooms), func(b *testing.B) {
				tc := startCluster(b, members, nil)
				runRooms(b, rooms, func(i int) *client {
					room := fmt.Sprint("room-", i)
					// The room's owner is the member its first client reaches; the client
					// benchmarked reaches the next one.
					first := tc.dial(b, i%members, room)
					require.NoError(b, first.Apply(add1))
					settle(b, []*client{first})
					first.Close()
					return tc.dial(b, (i+1)%members, room)
				})
			})
		}
	}
}

func runRooms(b *testing.B, rooms int, dial func(i int) *client) {
	clients := make([]*client, rooms)
	for i := range clients {
		clients[i] = dial(i)
		defer clients[i].Close()
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range clients {
		n := b.N / rooms
		if i < b.N%rooms {
			n++
		}
		wg.Go(func() {
			for k := range n {
				if err := c.Apply(add1); err != nil {
					b.Error(err)
					return
				}
				if k%64 == 63 || k == n-1 {
					if err := c.Sync(b.Context()); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
}
