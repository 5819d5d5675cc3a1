//go:build linux

package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cluster"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/jetstream/node"
	apersync "github.com/aper-go/aper/sync"
)

// BenchmarkIdleMemory measures what an idle server of a cluster holds: one embedded node
// (alone, R1) with its journal, Cluster (default lease TTL, 5 s) and sync server, with 0, 100
// and 1,000 idle rooms loaded (each got one transition from an agent that then left; rooms
// stay loaded, WithRoomIdle(-1), and each keeps its lease). It reports the Go heap in use and
// the process's resident set after a GC (both include the NATS server, which runs in the
// process), their growth per room, and the CPU the process spends a second while idle (the
// leases' renewals). Run it once: go test -run '^$' -bench IdleMemory -benchtime 1x ./cluster.
//
// Three runs on a 2-core virtual machine shared with other builds (load average 5 to 7):
//
//	rooms   heap      RSS       heap/room   RSS/room   idle CPU
//	0       2.8 MB    24.2 MB   -           -          3.5-4 ms/s (node+server: +1.3 MB heap, +7.9 MB RSS)
//	100     6.0-6.3   28.8-28.9 32-34 kB    46 kB      7.5-16 ms/s
//	1000    20.9-22.1 51.7-53.9 18-19 kB    28-30 kB   70-123 ms/s
//
// The RSS includes the test binary's own (about 16 MB before the node starts). The idle CPU
// grows with the rooms: each room's lease is renewed every TTL/3, 600 renewals a second for
// 1,000 rooms.
func BenchmarkIdleMemory(b *testing.B) {
	ctx := b.Context()
	baseHeap, baseRSS := memNow()
	nd, err := node.Start(ctx, node.Config{DataDir: b.TempDir()})
	require.NoError(b, err)
	defer nd.Close()
	require.NoError(b, nd.WaitJetStream(ctx))
	nc, err := nd.Connect(nats.MaxReconnects(-1))
	require.NoError(b, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(b, err)
	j, err := ajs.New(ctx, js, nil)
	require.NoError(b, err)
	defer j.Close()
	cl, err := cluster.New(ctx, nc, js, "idle", nil)
	require.NoError(b, err)
	defer cl.Close()
	srv, err := apersync.NewServer(func(context.Context, string) (counter, error) { return aper.NewCounter(0), nil },
		apersync.WithJournal(j), apersync.WithOwnership(cl), apersync.WithRoomIdle(-1))
	require.NoError(b, err)
	defer srv.Close()
	go srv.Serve(context.Background(), cl.Listener())

	var heap0, rss0 float64
	loaded := 0
	for _, rooms := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("rooms=%d", rooms), func(b *testing.B) {
			loadIdle(b, srv, loaded, rooms)
			loaded = rooms
			cpu := idleCPU(2 * time.Second)
			heap, rss := memNow()
			for b.Loop() {
			}
			b.ReportMetric(heap/1e6, "heap-MB")
			b.ReportMetric(rss/1e6, "rss-MB")
			b.ReportMetric(cpu, "idle-cpu-ms/s")
			if rooms == 0 {
				heap0, rss0 = heap, rss
				b.ReportMetric((heap-baseHeap)/1e6, "node+server-heap-MB")
				b.ReportMetric((rss-baseRSS)/1e6, "node+server-rss-MB")
			} else {
				b.ReportMetric((heap-heap0)/float64(rooms)/1e3, "heap-kB/room")
				b.ReportMetric((rss-rss0)/float64(rooms)/1e3, "rss-kB/room")
			}
		})
	}
}

// loadIdle loads rooms from..to-1 on srv, eight at a time: an agent joins each, applies a
// transition, waits for its confirmation and leaves.
func loadIdle(b *testing.B, srv *server, from, to int) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				a, err := srv.Agent(b.Context(), fmt.Sprint("idle-", i))
				if err != nil {
					b.Error(err)
					continue
				}
				if err := a.Apply(add1); err != nil {
					b.Error(err)
				} else if err := a.Sync(b.Context()); err != nil {
					b.Error(err)
				}
				a.Close()
			}
		})
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// memNow returns the heap in use and the resident set, in bytes, after a GC that returns
// what it can to the system. The resident set is 0 where /proc/self/status is missing.
func memNow() (heap, rss float64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return float64(ms.HeapInuse), 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			rss = kb * 1024
		}
	}
	return float64(ms.HeapInuse), rss
}

// idleCPU returns the milliseconds of CPU the process spends a second over d.
func idleCPU(d time.Duration) float64 {
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	time.Sleep(d) // a measurement of what the process does meanwhile, not a synchronization
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	used := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	return float64(used.Milliseconds()) / time.Since(start).Seconds()
}
