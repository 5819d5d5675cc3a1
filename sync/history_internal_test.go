package sync

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
)

// writeCounterLog appends n journaled additions of 1 to room of j, with a snapshot every
// `every` (0: none), as a room would have.
func writeCounterLog(tb testing.TB, j journal.Journal, room string, n, every uint64) {
	tb.Helper()
	ctx := context.Background()
	const batch = 10_000
	entries := make([]journal.Entry, 0, batch)
	t0 := time.Unix(1_700_000_000, 0)
	flush := func(last uint64) {
		if len(entries) == 0 {
			return
		}
		if err := j.Append(ctx, room, last-uint64(len(entries)), entries); err != nil {
			tb.Fatal(err)
		}
		entries = entries[:0]
	}
	for seq := uint64(1); seq <= n; seq++ {
		rc := record[aper.CounterTransition]{Seq: seq, Client: "writer", Local: seq, Time: t0.Add(time.Duration(seq)),
			Transition: aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}}
		data, err := encodeRecord(&rc)
		if err != nil {
			tb.Fatal(err)
		}
		entries = append(entries, journal.Entry{Seq: seq, Data: data})
		if len(entries) == batch {
			flush(seq)
		}
		if every > 0 && seq%every == 0 {
			flush(seq)
			st, err := aper.CBOR.Marshal(aper.NewCounter(int64(seq)))
			if err != nil {
				tb.Fatal(err)
			}
			data, err := aper.CBOR.Marshal(&journalSnapshot{State: st, Clients: map[aper.ClientID]snapshotClient{"writer": {Processed: seq}}})
			if err != nil {
				tb.Fatal(err)
			}
			if err := j.SaveSnapshot(ctx, room, journal.Snapshot{Seq: seq, Data: data}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	flush(n)
}

func journalCounterServer(tb testing.TB, j journal.Journal) *Server[*aper.Counter, aper.CounterTransition] {
	tb.Helper()
	srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil
	}, WithJournal(j))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv
}

// A resume from the journal never crosses a restore: the reader refuses, so that the joiner gets
// a snapshot (a restore is not a transition its client could apply).
func TestJournalResumeStopsAtRestore(t *testing.T) {
	j := journal.NewMemory()
	defer j.Close()
	writeCounterLog(t, j, "r", 3, 0)
	data, _ := aper.CBOR.Marshal(aper.NewCounter(1))
	rc := record[aper.CounterTransition]{Seq: 4, Kind: kindRestore, State: data, From: 1}
	b, err := encodeRecord(&rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), "r", 3, []journal.Entry{{Seq: 4, Data: b}}); err != nil {
		t.Fatal(err)
	}
	l := journalLog[aper.CounterTransition]{ctx: context.Background(), j: j, room: "r"}
	if recs, err := l.readLog(2, 3); err != nil || len(recs) != 2 {
		t.Fatalf("readLog 2..3: %d records, %v", len(recs), err)
	}
	if _, err := l.readLog(2, 4); !errors.Is(err, errRestoreInLog) {
		t.Fatalf("readLog across a restore: %v, want errRestoreInLog", err)
	}
	// A room rebuilt from the journal holds the restored state.
	srv := journalCounterServer(t, j)
	st, seq, err := srv.Snapshot(context.Background(), "r")
	if err != nil || seq != 4 || st.Value() != 1 {
		t.Fatalf("rebuilt: %v at %d, %v; want 1 at 4", st.Value(), seq, err)
	}
}

// BenchmarkStateAt: rebuilding the state at a Seq of a room of 1,000,000 journaled transitions
// with a snapshot every 10,000 (a Memory journal that keeps everything): the nearest snapshot,
// then at most 9,999 entries. seq=end is the worst case, the Seq just before a snapshot.
func BenchmarkStateAt(b *testing.B) {
	const n, every = 1_000_000, 10_000
	j := &journal.Memory{Retain: journal.KeepAll}
	defer j.Close()
	writeCounterLog(b, j, "r", n, every)
	srv := journalCounterServer(b, j)
	ctx := context.Background()
	for _, seq := range []uint64{500_000, 999_999} {
		b.Run(fmt.Sprintf("entries=%d/seq=%d", n, seq), func(b *testing.B) {
			for b.Loop() {
				st, err := srv.StateAt(ctx, "r", seq)
				if err != nil {
					b.Fatal(err)
				}
				if st.Value() != int64(seq) {
					b.Fatalf("state at %d: %d", seq, st.Value())
				}
			}
		})
	}
}
