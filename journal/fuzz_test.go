package journal_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
)

// fuzzRoomDir makes a journal directory whose room "f" has the given files, as a crash or a bad
// disk might leave them.
func fuzzRoomDir(t *testing.T, files map[string][]byte) string {
	dir := t.TempDir()
	room := filepath.Join(dir, "rooms", "r-f")
	require.NoError(t, os.MkdirAll(room, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(room, "name"), []byte("f"), 0o644))
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(room, name), b, 0o644))
	}
	return dir
}

// FuzzRecover gives the recovery of a room's last segment arbitrary bytes: it never panics,
// and what it keeps reads back whole, takes appends, and reads back the same after a reopen.
func FuzzRecover(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzRecover.
	f.Add([]byte{})
	f.Add([]byte("aperjnl1\x01\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, segment []byte) {
		dir := fuzzRoomDir(t, map[string][]byte{"00000000000000000001.log": segment})
		opts := &journal.Options{Sync: journal.SyncNever}
		d, err := journal.Open(dir, opts)
		require.NoError(t, err)
		defer d.Close()
		ctx := t.Context()
		last, err := d.Last(ctx, "f")
		if err != nil {
			require.ErrorIs(t, err, journal.ErrCorrupt)
			return
		}
		var kept [][]byte
		for e, err := range d.Read(ctx, "f", 1) {
			require.NoError(t, err)
			require.Equal(t, uint64(len(kept)+1), e.Seq)
			kept = append(kept, bytes.Clone(e.Data))
		}
		require.Len(t, kept, int(last))
		kept = append(kept, []byte("after recovery"))
		require.NoError(t, d.Append(ctx, "f", last, []journal.Entry{{Seq: last + 1, Data: kept[last]}}))
		require.NoError(t, d.Close())

		d, err = journal.Open(dir, opts)
		require.NoError(t, err)
		defer d.Close()
		var again [][]byte
		for e, err := range d.Read(ctx, "f", 1) {
			require.NoError(t, err)
			again = append(again, bytes.Clone(e.Data))
		}
		require.Equal(t, kept, again)
		require.Zero(t, d.Stats().TornTails, "the first open cut everything that needed cutting")
	})
}

// FuzzSnapshot gives a room's snapshot file arbitrary bytes: loading it never panics, and fails
// with ErrCorrupt unless the file is whole.
func FuzzSnapshot(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzSnapshot.
	f.Add([]byte{})
	f.Add([]byte("apersnp1"))
	f.Fuzz(func(t *testing.T, snapshot []byte) {
		dir := fuzzRoomDir(t, map[string][]byte{"snapshot": snapshot})
		d, err := journal.Open(dir, nil)
		require.NoError(t, err)
		defer d.Close()
		last, err := d.Last(t.Context(), "f")
		if err != nil {
			require.ErrorIs(t, err, journal.ErrCorrupt)
			return
		}
		s, ok, err := d.LoadSnapshot(t.Context(), "f")
		if err != nil {
			require.ErrorIs(t, err, journal.ErrCorrupt)
			return
		}
		require.True(t, ok)
		require.Equal(t, s.Seq, last, "an empty log restarts after the snapshot")
	})
}
