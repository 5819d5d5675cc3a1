package journal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
	"github.com/aper-go/aper/journal/journaltest"
)

// retaining returns the implementations with retention r.
func retaining(r journal.Retention) []impl {
	return []impl{
		{"Memory", func(t *testing.T) journal.Journal {
			m := &journal.Memory{Retain: r}
			t.Cleanup(func() { m.Close() })
			return m
		}},
		{"Disk", func(t *testing.T) journal.Journal {
			d, err := journal.Open(t.TempDir(), &journal.Options{SegmentSize: 256, Retention: r})
			require.NoError(t, err)
			t.Cleanup(func() { d.Close() })
			return d
		}},
	}
}

// TestRetentionContract runs the contract suite on journals that keep history: retention only
// keeps more than the contract asks.
func TestRetentionContract(t *testing.T) {
	for _, im := range retaining(journal.Retention{Entries: 7}) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			journaltest.Run(t, im.open)
		})
	}
}

// fill appends n entries to room, one per Append, saving a snapshot (its Data the Seq in
// decimal) every `every` entries.
func fill(t *testing.T, j journal.Journal, room string, n, every uint64) {
	t.Helper()
	ctx := context.Background()
	for seq := uint64(1); seq <= n; seq++ {
		require.NoError(t, j.Append(ctx, room, seq-1, []journal.Entry{{Seq: seq, Data: fmt.Appendf(nil, "entry %d, with some padding", seq)}}))
		if seq%every == 0 {
			require.NoError(t, j.SaveSnapshot(ctx, room, journal.Snapshot{Seq: seq, Data: fmt.Appendf(nil, "%d", seq)}))
		}
	}
}

// oldestRebuildable returns the lowest Seq from which the room can be rebuilt: the newest
// snapshot at or below it, then the log after it, with no gap.
func rebuildable(t *testing.T, j journal.Journal, room string, seq uint64) bool {
	t.Helper()
	ctx := context.Background()
	var from uint64 = 1
	if seq > 0 {
		s, ok, err := j.(journal.SnapshotHistory).LoadSnapshotAt(ctx, room, seq)
		require.NoError(t, err)
		if ok {
			require.LessOrEqual(t, s.Seq, seq)
			require.Equal(t, fmt.Sprint(s.Seq), string(s.Data))
			from = s.Seq + 1
		}
	}
	next := from
	for e, err := range j.Read(ctx, room, from) {
		if err != nil {
			require.ErrorIs(t, err, journal.ErrCompacted)
			return false
		}
		require.Equal(t, next, e.Seq)
		next++
		if e.Seq >= seq {
			break
		}
	}
	return next > seq
}

// TestRetentionEntries: with a count, every Seq from the last minus the count (rounded down to
// a snapshot) on can be rebuilt, and much older history is gone.
func TestRetentionEntries(t *testing.T) {
	for _, im := range retaining(journal.Retention{Entries: 100}) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			j := im.open(t)
			fill(t, j, "r", 400, 25)
			for seq := uint64(300); seq <= 400; seq++ {
				require.True(t, rebuildable(t, j, "r", seq), "seq %d", seq)
			}
			require.False(t, rebuildable(t, j, "r", 100), "history far beyond the count is kept")
		})
	}
}

// TestRetentionNone: without retention, only the latest snapshot and the log after it are
// kept, as before.
func TestRetentionNone(t *testing.T) {
	for _, im := range retaining(journal.Retention{}) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			j := im.open(t)
			fill(t, j, "r", 100, 25)
			_, _, err := j.(journal.SnapshotHistory).LoadSnapshotAt(context.Background(), "r", 99)
			require.NoError(t, err)
			require.False(t, rebuildable(t, j, "r", 60))
			require.True(t, rebuildable(t, j, "r", 100))
		})
	}
}

// TestRetentionKeepAll: every Seq can be rebuilt, from the snapshot nearest below it, also after
// a Disk is reopened.
func TestRetentionKeepAll(t *testing.T) {
	dir := t.TempDir()
	opts := &journal.Options{SegmentSize: 256, Retention: journal.KeepAll}
	d, err := journal.Open(dir, opts)
	require.NoError(t, err)
	fill(t, d, "r", 120, 10)
	require.NoError(t, d.Close())
	d, err = journal.Open(dir, opts)
	require.NoError(t, err)
	defer d.Close()
	for seq := uint64(0); seq <= 120; seq++ {
		require.True(t, rebuildable(t, d, "r", seq), "seq %d", seq)
	}
	s, ok, err := d.LoadSnapshotAt(context.Background(), "r", 57)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(50), s.Seq)
}

// TestLoadSnapshotAt: the newest kept snapshot at or below a Seq, none below the first.
func TestLoadSnapshotAt(t *testing.T) {
	for _, im := range retaining(journal.KeepAll) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			j := im.open(t)
			fill(t, j, "r", 35, 10) // snapshots at 10, 20 and 30
			for _, c := range []struct {
				seq, want uint64 // want 0: none
			}{{0, 0}, {9, 0}, {10, 10}, {15, 10}, {20, 20}, {29, 20}, {30, 30}, {35, 30}, {1 << 40, 30}} {
				s, ok, err := j.(journal.SnapshotHistory).LoadSnapshotAt(context.Background(), "r", c.seq)
				require.NoError(t, err)
				require.Equal(t, c.want != 0, ok, "at %d", c.seq)
				require.Equal(t, c.want, s.Seq, "at %d", c.seq)
			}
			s, ok, err := j.LoadSnapshot(context.Background(), "r")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "30", string(s.Data))
		})
	}
}

// TestRetentionAge: a Memory keeps the entries younger than the age, and lets older ones go at
// the next snapshot.
func TestRetentionAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &journal.Memory{Retain: journal.Retention{Age: time.Hour}}
		defer j.Close()
		fill(t, j, "r", 50, 10)
		require.True(t, rebuildable(t, j, "r", 1), "young history is kept")
		time.Sleep(2 * time.Hour) // the bubble's clock: no real wait
		ctx := context.Background()
		for seq := uint64(51); seq <= 60; seq++ {
			require.NoError(t, j.Append(ctx, "r", seq-1, []journal.Entry{{Seq: seq, Data: []byte("x")}}))
		}
		require.NoError(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 60, Data: []byte("60")}))
		require.False(t, rebuildable(t, j, "r", 20), "old history is kept")
		require.True(t, rebuildable(t, j, "r", 50), "the state of the last old entry is gone")
		require.True(t, rebuildable(t, j, "r", 55))
	})
}

// TestRetentionAgeDisk: a Disk lets a segment go once it was last written before the age, at the
// next snapshot, and keeps the younger ones.
func TestRetentionAgeDisk(t *testing.T) {
	dir := t.TempDir()
	d, err := journal.Open(dir, &journal.Options{SegmentSize: 256, Retention: journal.Retention{Age: time.Hour}})
	require.NoError(t, err)
	defer d.Close()
	fill(t, d, "r", 60, 10)
	require.True(t, rebuildable(t, d, "r", 1), "young history is kept")
	// Age every segment written so far by two hours.
	old := time.Now().Add(-2 * time.Hour)
	matches, err := filepath.Glob(filepath.Join(dir, "rooms", "*", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, matches)
	for _, p := range matches {
		require.NoError(t, os.Chtimes(p, old, old))
	}
	ctx := context.Background()
	for seq := uint64(61); seq <= 80; seq++ {
		require.NoError(t, d.Append(ctx, "r", seq-1, []journal.Entry{{Seq: seq, Data: fmt.Appendf(nil, "entry %d, with some padding", seq)}}))
	}
	require.NoError(t, d.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 80, Data: []byte("80")}))
	require.False(t, rebuildable(t, d, "r", 5), "old history is kept")
	require.True(t, rebuildable(t, d, "r", 60), "young history is gone")
	require.True(t, rebuildable(t, d, "r", 70))
}
