package journal_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
)

// A deleted room is gone: not listed, empty, and it starts again at Seq 1; the other rooms are
// untouched.
func TestDelete(t *testing.T) {
	forEach(t, func(t *testing.T, j journal.Journal) {
		ctx := t.Context()
		del := j.(journal.Deleter)
		appendN(t, j, "a", 10, 3)
		appendN(t, j, "b", 5, 5)
		require.NoError(t, j.SaveSnapshot(ctx, "a", journal.Snapshot{Seq: 4, Data: []byte("state")}))
		if d, ok := j.(*journal.Disk); ok {
			require.NoError(t, d.Release("a"))
		}
		require.NoError(t, del.Delete(ctx, "a"))
		rooms, err := j.Rooms(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"b"}, rooms)
		last, err := j.Last(ctx, "a")
		require.NoError(t, err)
		require.Zero(t, last)
		got, err := readAll(t, j, "a", 1)
		require.NoError(t, err)
		require.Empty(t, got)
		_, ok, err := j.LoadSnapshot(ctx, "a")
		require.NoError(t, err)
		require.False(t, ok)
		got, err = readAll(t, j, "b", 1)
		require.NoError(t, err)
		requireEntries(t, "b", 1, 5, got)

		require.NoError(t, j.Append(ctx, "a", 0, entries("a", 1, 2)))
		got, err = readAll(t, j, "a", 1)
		require.NoError(t, err)
		requireEntries(t, "a", 1, 2, got)

		require.NoError(t, del.Delete(ctx, "never-made"), "a room that does not exist")
		require.ErrorIs(t, del.Delete(ctx, ""), journal.ErrInvalid)
	})
}

// A room that is followed, or (Disk) open for appending, is not deleted.
func TestDeleteInUse(t *testing.T) {
	forEach(t, func(t *testing.T, j journal.Journal) {
		ctx := t.Context()
		del := j.(journal.Deleter)
		appendN(t, j, "r", 3, 3)
		if d, ok := j.(*journal.Disk); ok {
			require.ErrorIs(t, del.Delete(ctx, "r"), journal.ErrInUse, "a room open for appending")
			require.NoError(t, d.Release("r"))
		}
		for _, err := range j.Follow(ctx, "r", 1) {
			require.NoError(t, err)
			require.ErrorIs(t, del.Delete(ctx, "r"), journal.ErrInUse, "a followed room")
			break
		}
		require.NoError(t, del.Delete(ctx, "r"), "once the follow ended")
		require.NoError(t, j.Close())
		require.ErrorIs(t, del.Delete(ctx, "r"), journal.ErrClosed)
	})
}

// A room deleted from a Disk is gone from the directory, and stays gone after a reopen.
func TestDiskDeleteRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, nil)
	appendN(t, d, "gone", 3, 1)
	appendN(t, d, "kept", 3, 1)
	require.NoError(t, d.Release("gone"))
	require.NoError(t, d.Delete(t.Context(), "gone"))
	ents, err := os.ReadDir(filepath.Join(dir, "rooms"))
	require.NoError(t, err)
	require.Len(t, ents, 1, "the rooms folder holds %v", ents)
	require.NoError(t, d.Close())
	d = openDisk(t, dir, nil)
	rooms, err := d.Rooms(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"kept"}, rooms)
}
