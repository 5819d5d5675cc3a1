package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
)

// BenchmarkReload: the time to rebuild a room of 1,000,000 journaled transitions from the disk
// journal (loading the room through Server.Snapshot), from the log alone and from a snapshot at
// the end of it. Run with -benchtime=1x: the setup writes the journal once per case.
func BenchmarkReload(b *testing.B) {
	const n = 1_000_000
	for _, withSnap := range []bool{false, true} {
		b.Run(fmt.Sprintf("transitions=%d/snapshot=%v", n, withSnap), func(b *testing.B) {
			dir := b.TempDir()
			j, err := journal.Open(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			const batch = 10_000
			entries := make([]journal.Entry, 0, batch)
			t0 := time.Now()
			for seq := uint64(1); seq <= n; seq++ {
				rc := record[aper.CounterTransition]{Seq: seq, Client: "writer", Local: seq, Time: t0,
					Transition: aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}}
				data, err := encodeRecord(&rc)
				if err != nil {
					b.Fatal(err)
				}
				entries = append(entries, journal.Entry{Seq: seq, Data: data})
				if len(entries) == batch {
					if err := j.Append(ctx, "r", seq-batch, entries); err != nil {
						b.Fatal(err)
					}
					entries = entries[:0]
				}
			}
			if withSnap {
				st, _ := aper.CBOR.Marshal(aper.NewCounter(n))
				data, _ := aper.CBOR.Marshal(&journalSnapshot{State: st, Clients: map[aper.ClientID]snapshotClient{"writer": {Processed: n}}})
				if err := j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: n, Data: data}); err != nil {
					b.Fatal(err)
				}
			}
			j.Close()
			b.ResetTimer()
			for b.Loop() {
				j, err := journal.Open(dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
					return aper.NewCounter(0), nil
				}, WithJournal(j))
				if err != nil {
					b.Fatal(err)
				}
				st, seq, err := srv.Snapshot(ctx, "r")
				if err != nil || seq != n || st.Value() != n {
					b.Fatalf("reloaded seq %d value %d: %v", seq, st.Value(), err)
				}
				srv.Close()
				j.Close()
			}
		})
	}
}
