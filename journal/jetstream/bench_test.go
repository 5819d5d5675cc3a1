package jetstream_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
)

// BenchmarkAppend measures appends of one entry of 100 bytes, each waiting for its
// acknowledgement, on the local disk journal and on JetStream with one replica (the package's
// single node) and three (a cluster of three embedded nodes in this process, default sync), in
// the same run. With rooms=N, N appenders each own a room; an op is one Append.
func BenchmarkAppend(b *testing.B) {
	r3 := startCluster(b, 3, false)
	journals := []struct {
		name string
		open func(b *testing.B) journal.Journal
	}{
		{"Disk", func(b *testing.B) journal.Journal {
			d, err := journal.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.Close() })
			return d
		}},
		{"R1", func(b *testing.B) journal.Journal { return open(b, connect(b, single.node), ajs.Options{}) }},
		{"R3", func(b *testing.B) journal.Journal { return open(b, connect(b, r3[0]), ajs.Options{Replicas: 3}) }},
	}
	for _, jc := range journals {
		for _, rooms := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/rooms=%d", jc.name, rooms), func(b *testing.B) {
				appendRooms(b, jc.open(b), rooms)
			})
		}
	}
}

// appendRooms runs b.N appends over rooms appenders, one room each, and reports entries/s.
func appendRooms(b *testing.B, j journal.Journal, rooms int) {
	payload := bytes.Repeat([]byte("x"), 100)
	var ops atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for g := range rooms {
		wg.Go(func() {
			room := fmt.Sprintf("room-%d", g)
			var last uint64
			for ops.Add(1) <= int64(b.N) {
				err := j.Append(b.Context(), room, last, []journal.Entry{{Seq: last + 1, Data: payload}})
				var sm *journal.SeqMismatchError
				if errors.As(err, &sm) {
					last = sm.Actual
					continue
				}
				if err != nil {
					b.Error(err)
					return
				}
				last++
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkAppendLatency measures one appender's Append of one 100-byte entry on three
// embedded nodes with R3 streams, under JetStream's default sync interval and with
// SyncAlways (an fsync on every replica before the acknowledgement): ns/op is the latency.
func BenchmarkAppendLatency(b *testing.B) {
	for _, always := range []bool{false, true} {
		b.Run(fmt.Sprintf("R3/syncAlways=%v", always), func(b *testing.B) {
			nodes := startCluster(b, 3, always)
			appendRooms(b, open(b, connect(b, nodes[0]), ajs.Options{Replicas: 3}), 1)
		})
	}
}
