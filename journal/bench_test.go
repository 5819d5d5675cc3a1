package journal_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aper-go/aper/journal"
)

// BenchmarkAppend measures Append under the default policy (fsync per batch, group commit) with
// entries of 100 bytes. An op is one Append of a batch. With rooms=N each appender has its own
// room, as each room's loop is one appender; with rooms=1 the appenders race for one room,
// taking the last Seq from the mismatch error, and share its fsyncs.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct{ appenders, rooms, batch int }{
		{1, 1, 1}, {1, 1, 64},
		{10, 10, 1}, {10, 10, 64},
		{10, 1, 1}, {10, 1, 64},
	} {
		b.Run(fmt.Sprintf("appenders=%d/rooms=%d/batch=%d", bc.appenders, bc.rooms, bc.batch), func(b *testing.B) {
			d, err := journal.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			payload := bytes.Repeat([]byte("x"), 100)
			var ops atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for g := range bc.appenders {
				wg.Go(func() {
					room := fmt.Sprintf("room-%d", g%bc.rooms)
					es := make([]journal.Entry, bc.batch)
					var last uint64
					for ops.Add(1) <= int64(b.N) {
						for {
							for i := range es {
								es[i] = journal.Entry{Seq: last + 1 + uint64(i), Data: payload}
							}
							err := d.Append(b.Context(), room, last, es)
							var sm *journal.SeqMismatchError
							if errors.As(err, &sm) {
								last = sm.Actual
								continue
							}
							if err != nil {
								b.Error(err)
								return
							}
							last += uint64(bc.batch)
							break
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start).Seconds()
			b.StopTimer()
			st := d.Stats()
			b.ReportMetric(float64(st.Entries)/elapsed, "entries/s")
			b.ReportMetric(float64(st.Syncs)/elapsed, "fsyncs/s")
			b.ReportMetric(float64(st.Entries)/float64(max(st.Syncs, 1)), "entries/fsync")
		})
	}
}

// replayRoom is a journal with one room of replayEntries entries of 100 bytes, made once.
var replayRoom struct {
	once sync.Once
	dir  string
	err  error
}

const replayEntries = 1_000_000

func replayDir(b *testing.B) string {
	replayRoom.once.Do(func() {
		dir, err := os.MkdirTemp("", "journal-replay-")
		if err != nil {
			replayRoom.err = err
			return
		}
		replayRoom.dir = dir
		d, err := journal.Open(dir, &journal.Options{Sync: journal.SyncNever})
		if err != nil {
			replayRoom.err = err
			return
		}
		payload := bytes.Repeat([]byte("x"), 100)
		es := make([]journal.Entry, 1000)
		for last := uint64(0); last < replayEntries; last += uint64(len(es)) {
			for i := range es {
				es[i] = journal.Entry{Seq: last + 1 + uint64(i), Data: payload}
			}
			if err := d.Append(b.Context(), "big", last, es); err != nil {
				replayRoom.err = err
				break
			}
		}
		if err := d.Close(); replayRoom.err == nil {
			replayRoom.err = err
		}
	})
	if replayRoom.err != nil {
		b.Fatal(replayRoom.err)
	}
	return replayRoom.dir
}

// BenchmarkReplay measures rebuilding a room of 1,000,000 entries of 100 bytes: Open, load the
// room (recovery of its last segment) and Read every entry. An op is one whole replay.
func BenchmarkReplay(b *testing.B) {
	dir := replayDir(b)
	b.SetBytes(replayEntries * (20 + 100))
	b.ReportAllocs()
	for b.Loop() {
		d, err := journal.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for e, err := range d.Read(b.Context(), "big", 1) {
			if err != nil {
				b.Fatal(err)
			}
			n += len(e.Data)
		}
		if n != replayEntries*100 {
			b.Fatalf("replayed %d bytes", n)
		}
		d.Close()
	}
	b.ReportMetric(float64(replayEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
