package journal_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
)

// The tests below damage files, so they know the documented layout: rooms/r-<name>/ with
// segments named by their first Seq, a 16-byte segment header, and records of a 20-byte header
// (length, seq, data CRC, header CRC) and the data; each batch of records that an fsync made
// durable is closed by a commit marker, a record with Seq 0 and 24 bytes of data (the offset of
// the batch, its first and last Seqs).
const (
	segHeader = 16
	recHeader = 20
	marker    = recHeader + 24
)

func segPath(dir, room string, base uint64) string {
	return filepath.Join(dir, "rooms", "r-"+room, fmt.Sprintf("%020d.log", base))
}

// fixedEntries are n entries of 100 bytes each, so that record k starts at recOffset(k).
func fixedEntries(from, to uint64) []journal.Entry {
	var es []journal.Entry
	for s := from; s <= to; s++ {
		es = append(es, journal.Entry{Seq: s, Data: bytes.Repeat([]byte{byte(s)}, 100)})
	}
	return es
}

// tenBatches are the last Seqs of the batches writeTen appends.
var tenBatches = []uint64{4, 6, 10}

// recOffset is where the record with Seq seq starts in the segment writeTen makes (or where it
// would start after Seq 10), recEnd where it ends, and markerOffset(last) is where the commit
// marker of the batch that ends at Seq last starts.
func recOffset(seq uint64) int64 {
	off := segHeader + int64(seq-1)*(recHeader+100)
	for _, last := range tenBatches {
		if last < seq {
			off += marker
		}
	}
	return off
}

func recEnd(seq uint64) int64 { return recOffset(seq) + recHeader + 100 }

func markerOffset(last uint64) int64 { return recEnd(last) }

// tenSize is the size of the segment writeTen makes.
var tenSize = recEnd(10) + marker

// commitMarker encodes a commit marker as the journal does.
func commitMarker(start int64, first, last uint64) []byte {
	d := make([]byte, 24)
	binary.LittleEndian.PutUint64(d[0:], uint64(start))
	binary.LittleEndian.PutUint64(d[8:], first)
	binary.LittleEndian.PutUint64(d[16:], last)
	return record(0, d)
}

// record encodes one record as the journal does.
func record(seq uint64, data []byte) []byte {
	c := crc32.MakeTable(crc32.Castagnoli)
	h := make([]byte, recHeader)
	binary.LittleEndian.PutUint32(h[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[4:], seq)
	binary.LittleEndian.PutUint32(h[12:], crc32.Checksum(data, c))
	binary.LittleEndian.PutUint32(h[16:], crc32.Checksum(h[:16], c))
	return append(h, data...)
}

func openDisk(t *testing.T, dir string, opts *journal.Options) *journal.Disk {
	t.Helper()
	d, err := journal.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

// writeTen makes a journal in a fresh directory with entries 1..10 of room "r" in one segment,
// in the batches of tenBatches, each fsynced: the segment is tenSize bytes.
func writeTen(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	d := openDisk(t, dir, nil)
	var last uint64
	for _, to := range tenBatches {
		require.NoError(t, d.Append(t.Context(), "r", last, fixedEntries(last+1, to)))
		last = to
	}
	require.NoError(t, d.Close())
	fi, err := os.Stat(segPath(dir, "r", 1))
	require.NoError(t, err)
	require.Equal(t, tenSize, fi.Size(), "the layout the tests assume")
	return dir
}

// overwrite writes b over the file at off, as a write-back that saved other pages of a batch
// and not these might leave it (b zeros or garbage).
func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	copy(data[off:], b)
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// garbage is n bytes of something that is not a record.
func garbage(n int) []byte { return bytes.Repeat([]byte("garbage!"), n/8+1)[:n] }

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[off] ^= 0x40
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func appendBytes(t *testing.T, path string, extra []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(extra)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func requireFixed(t *testing.T, j journal.Journal, room string, from, to uint64) {
	t.Helper()
	var got []journal.Entry
	for e, err := range j.Read(t.Context(), room, from) {
		require.NoError(t, err)
		got = append(got, journal.Entry{Seq: e.Seq, Data: bytes.Clone(e.Data)})
	}
	want := fixedEntries(from, to)
	if len(want) == 0 {
		want = nil
	}
	require.Equal(t, want, got)
}

func TestDiskReopen(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, &journal.Options{SegmentSize: 1000})
	require.NoError(t, d.Append(t.Context(), "r", 0, fixedEntries(1, 30)))
	require.NoError(t, d.Append(t.Context(), "r", 30, fixedEntries(31, 40)))
	require.NoError(t, d.SaveSnapshot(t.Context(), "r", journal.Snapshot{Seq: 25, Data: []byte("s25")}))
	require.NoError(t, d.Close())

	d = openDisk(t, dir, nil)
	last, err := d.Last(t.Context(), "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(40), last)
	s, ok, err := d.LoadSnapshot(t.Context(), "r")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, journal.Snapshot{Seq: 25, Data: []byte("s25")}, s)
	requireFixed(t, d, "r", 26, 40)
	require.NoError(t, d.Append(t.Context(), "r", 40, fixedEntries(41, 41)))
	requireFixed(t, d, "r", 26, 41)
	assert.Zero(t, d.Stats().TornTails)
}

// TestDiskTornTail damages what follows the last whole batch, or the last batch itself (records
// 7 to 10 and their commit marker): all of it could be a crash's doing, and is cut from the
// first damage on.
func TestDiskTornTail(t *testing.T) {
	last := recOffset(10) // the last record, Seq 10
	end := recEnd(10)
	// Batches written while the last one is being fsynced, or under SyncNever, have no marker yet:
	// records 11 to 14 in three appends.
	unsynced := slices.Concat(record(11, bytes.Repeat([]byte{11}, 100)), record(12, bytes.Repeat([]byte{12}, 100)),
		record(13, bytes.Repeat([]byte{13}, 100)), record(14, bytes.Repeat([]byte{14}, 100)))
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		keep   uint64 // entries kept
	}{
		{"cut inside the last header", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, last+7)) }, 9},
		{"cut after the last header", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, last+recHeader)) }, 9},
		{"cut inside the last data", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, last+recHeader+50)) }, 9},
		{"cut one byte short", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, end-1)) }, 9},
		{"cut inside the last marker", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, tenSize-1)) }, 10},
		{"a hole in the middle of the last batch", func(t *testing.T, p string) {
			overwrite(t, p, recOffset(8)+60, make([]byte, 100)) // the end of 8, the header of 9
		}, 7},
		{"garbage in the middle of the last batch", func(t *testing.T, p string) {
			overwrite(t, p, recOffset(8), garbage(recHeader+100))
		}, 7},
		{"a hole at the start of the last batch", func(t *testing.T, p string) {
			overwrite(t, p, recOffset(7), make([]byte, 4096))
		}, 6},
		{"flip a data byte of the second last", func(t *testing.T, p string) { flip(t, p, recOffset(9)+recHeader+99) }, 8},
		{"a hole over the last marker", func(t *testing.T, p string) { overwrite(t, p, markerOffset(10), make([]byte, marker)) }, 10},
		{"a hole in unsynced batches", func(t *testing.T, p string) {
			appendBytes(t, p, unsynced)
			overwrite(t, p, tenSize+recHeader+100+30, make([]byte, 30)) // the data of 12
		}, 11},
		{"flip a data byte of the last", func(t *testing.T, p string) { flip(t, p, last+recHeader+30) }, 9},
		{"flip the length of the last", func(t *testing.T, p string) { flip(t, p, last+1) }, 9},
		{"flip the Seq of the last", func(t *testing.T, p string) { flip(t, p, last+5) }, 9},
		{"flip the header checksum of the last", func(t *testing.T, p string) { flip(t, p, last+17) }, 9},
		{"zeros after", func(t *testing.T, p string) { appendBytes(t, p, make([]byte, 5000)) }, 10},
		{"garbage after", func(t *testing.T, p string) { appendBytes(t, p, bytes.Repeat([]byte("garbage!"), 100)) }, 10},
		{"a partial record after", func(t *testing.T, p string) { appendBytes(t, p, record(11, make([]byte, 100))[:60]) }, 10},
		{"a damaged record then zeros", func(t *testing.T, p string) {
			r := record(11, make([]byte, 100))
			r[50] ^= 1
			appendBytes(t, p, append(r, make([]byte, 300)...))
		}, 10},
		{"cut inside the segment header", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, 7)) }, 0},
		{"cut to nothing", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, 0)) }, 0},
		{"cut after the segment header", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, segHeader)) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTen(t)
			tc.damage(t, segPath(dir, "r", 1))

			d := openDisk(t, dir, nil)
			got, err := d.Last(t.Context(), "r")
			require.NoError(t, err)
			require.Equal(t, tc.keep, got)
			requireFixed(t, d, "r", 1, tc.keep)
			wantTorn := uint64(1)
			if tc.name == "cut after the segment header" {
				wantTorn = 0 // nothing to cut
			}
			assert.Equal(t, wantTorn, d.Stats().TornTails)

			// The log carries on after the cut, and the next open finds it whole.
			require.NoError(t, d.Append(t.Context(), "r", tc.keep, fixedEntries(tc.keep+1, 12)))
			require.NoError(t, d.Close())
			d = openDisk(t, dir, nil)
			requireFixed(t, d, "r", 1, 12)
			assert.Zero(t, d.Stats().TornTails)
		})
	}
}

// TestDiskCorruptMiddle damages a batch that a whole batch with its commit marker follows, or
// writes records whose checksums hold where they do not belong: no crash does that, and the
// room is refused with the place of the damage.
func TestDiskCorruptMiddle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		offset int64
	}{
		{"flip a data byte", func(t *testing.T, p string) { flip(t, p, recOffset(5)+recHeader+10) }, recOffset(5)},
		{"flip the length", func(t *testing.T, p string) { flip(t, p, recOffset(5)) }, recOffset(5)},
		{"flip the data checksum", func(t *testing.T, p string) { flip(t, p, recOffset(5)+13) }, recOffset(5)},
		{"a hole in a batch a whole batch follows", func(t *testing.T, p string) {
			overwrite(t, p, recOffset(5)+60, make([]byte, 100))
		}, recOffset(5)},
		{"garbage in the first batch", func(t *testing.T, p string) { overwrite(t, p, recOffset(2), garbage(150)) }, recOffset(2)},
		{"a hole over a marker a whole batch follows", func(t *testing.T, p string) {
			overwrite(t, p, markerOffset(6), make([]byte, marker))
		}, markerOffset(6)},
		{"a well-formed marker that does not close its batch", func(t *testing.T, p string) {
			overwrite(t, p, markerOffset(6), commitMarker(recOffset(5), 4, 6))
		}, markerOffset(6)},
		{"a well-formed last marker that does not close its batch", func(t *testing.T, p string) {
			overwrite(t, p, markerOffset(10), commitMarker(recOffset(8), 8, 10))
		}, markerOffset(10)},
		{"a well-formed record with the wrong Seq", func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			copy(b[recOffset(7):], record(70, bytes.Repeat([]byte{7}, 100)))
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}, recOffset(7)},
		{"a well-formed last record with the wrong Seq", func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			copy(b[recOffset(10):], record(9, bytes.Repeat([]byte{10}, 100)))
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}, recOffset(10)},
		{"bad segment magic", func(t *testing.T, p string) { flip(t, p, 2) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTen(t)
			path := segPath(dir, "r", 1)
			tc.damage(t, path)

			d := openDisk(t, dir, nil)
			_, err := d.Last(t.Context(), "r")
			require.ErrorIs(t, err, journal.ErrCorrupt)
			var ce *journal.CorruptError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "r", ce.Room)
			assert.Equal(t, path, ce.File)
			assert.Equal(t, tc.offset, ce.Offset)
			assert.Contains(t, err.Error(), fmt.Sprintf("offset %d", tc.offset))
			t.Log(err)

			// Nothing was cut, and the room stays refused.
			require.ErrorIs(t, d.Append(t.Context(), "r", 10, fixedEntries(11, 11)), journal.ErrCorrupt)
			for _, err := range d.Read(t.Context(), "r", 1) {
				require.ErrorIs(t, err, journal.ErrCorrupt)
			}
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, tenSize, fi.Size())
			// Other rooms are unaffected.
			require.NoError(t, d.Append(t.Context(), "other", 0, fixedEntries(1, 1)))
		})
	}
}

// TestDiskRecoveryClosesBatch has a process crash leave whole records after the last commit
// marker (written while their fsync was under way). Recovery keeps them, and closes them with a
// marker as it fsyncs them: once reported durable they are a batch like any other, and damage
// there that a whole batch follows is corruption, not a tail to cut.
func TestDiskRecoveryClosesBatch(t *testing.T) {
	dir := writeTen(t)
	path := segPath(dir, "r", 1)
	appendBytes(t, path, slices.Concat(record(11, bytes.Repeat([]byte{11}, 100)), record(12, bytes.Repeat([]byte{12}, 100))))

	d := openDisk(t, dir, nil)
	last, err := d.Last(t.Context(), "r")
	require.NoError(t, err)
	require.Equal(t, uint64(12), last)
	assert.Zero(t, d.Stats().TornTails)
	require.NoError(t, d.Append(t.Context(), "r", 12, fixedEntries(13, 13)))
	require.NoError(t, d.Close())
	d = openDisk(t, dir, nil)
	requireFixed(t, d, "r", 1, 13)
	require.NoError(t, d.Close())

	overwrite(t, path, tenSize+30, make([]byte, 30)) // the data of 11
	d = openDisk(t, dir, nil)
	_, err = d.Last(t.Context(), "r")
	var ce *journal.CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, tenSize, ce.Offset)
}

// TestDiskLogGapAfterSnapshot removes the oldest segment after the snapshot: the entries
// between the snapshot and the log are gone, which is damage, not compaction.
func TestDiskLogGapAfterSnapshot(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, &journal.Options{SegmentSize: 700}) // segments from 1, 5, 9, 13
	for s := uint64(1); s <= 16; s++ {
		require.NoError(t, d.Append(t.Context(), "r", s-1, fixedEntries(s, s)))
	}
	require.NoError(t, d.SaveSnapshot(t.Context(), "r", journal.Snapshot{Seq: 6, Data: []byte("six")}))
	require.NoError(t, d.Close())
	_, err := os.Stat(segPath(dir, "r", 1))
	require.ErrorIs(t, err, os.ErrNotExist, "compacted")
	d = openDisk(t, dir, nil)
	requireFixed(t, d, "r", 7, 16)
	require.NoError(t, d.Close())

	require.NoError(t, os.Remove(segPath(dir, "r", 5)))
	d = openDisk(t, dir, nil)
	_, err = d.Last(t.Context(), "r")
	var ce *journal.CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, segPath(dir, "r", 9), ce.File)
}

// TestDiskSnapshotReadError: a snapshot that cannot be read is an I/O error, not a damaged
// snapshot.
func TestDiskSnapshotReadError(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("reading a directory")
	}
	dir := fuzzRoomDir(t, nil)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rooms", "r-f", "snapshot"), 0o755))
	d := openDisk(t, dir, nil)
	_, err := d.Last(t.Context(), "f")
	require.Error(t, err)
	require.NotErrorIs(t, err, journal.ErrCorrupt)
}

// TestDiskCorruptSealedSegment damages a segment other than the last: the room loads (only its
// last segment is scanned on load), and a Read through the damage fails with its place.
func TestDiskCorruptSealedSegment(t *testing.T) {
	dir := t.TempDir()
	// Four appends of one record and its marker (164 bytes each) a segment.
	d := openDisk(t, dir, &journal.Options{SegmentSize: 700})
	for s := uint64(1); s <= 20; s++ {
		require.NoError(t, d.Append(t.Context(), "r", s-1, fixedEntries(s, s)))
	}
	require.NoError(t, d.Close())
	path := segPath(dir, "r", 5)
	const batch = recHeader + 100 + marker
	flip(t, path, segHeader+batch+recHeader+3) // Seq 6's data

	d = openDisk(t, dir, nil)
	last, err := d.Last(t.Context(), "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(20), last)
	requireFixed(t, d, "r", 9, 20)
	var seqs []uint64
	var readErr error
	for e, err := range d.Read(t.Context(), "r", 1) {
		if err != nil {
			readErr = err
			break
		}
		seqs = append(seqs, e.Seq)
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5}, seqs)
	var ce *journal.CorruptError
	require.ErrorAs(t, readErr, &ce)
	assert.Equal(t, journal.CorruptError{Room: "r", File: path, Offset: segHeader + batch, Reason: ce.Reason}, *ce)

	// A missing segment in the middle is damage too, not a silent gap.
	require.NoError(t, os.Remove(segPath(dir, "r", 13)))
	readErr = nil
	for _, err := range d.Read(t.Context(), "r", 9) {
		if err != nil {
			readErr = err
		}
	}
	require.ErrorIs(t, readErr, journal.ErrCorrupt)
}

func TestDiskCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, nil)
	require.NoError(t, d.Append(t.Context(), "r", 0, fixedEntries(1, 3)))
	require.NoError(t, d.SaveSnapshot(t.Context(), "r", journal.Snapshot{Seq: 2, Data: []byte("two")}))
	require.NoError(t, d.Close())
	path := filepath.Join(dir, "rooms", "r-r", "snapshot")

	flip(t, path, 33) // data
	d = openDisk(t, dir, nil)
	_, _, err := d.LoadSnapshot(t.Context(), "r")
	require.ErrorIs(t, err, journal.ErrCorrupt)
	require.NoError(t, d.Close())

	flip(t, path, 9) // header
	d = openDisk(t, dir, nil)
	_, err = d.Last(t.Context(), "r")
	require.ErrorIs(t, err, journal.ErrCorrupt)
}

func TestDiskLocked(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, nil)
	_, err := journal.Open(dir, nil)
	require.ErrorIs(t, err, journal.ErrLocked)
	require.NoError(t, d.Close())
	d2 := openDisk(t, dir, nil)
	require.NoError(t, d2.Close())
}

func TestDiskOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts journal.Options
	}{
		{"unknown policy", journal.Options{Sync: journal.SyncNever + 1}},
		{"negative policy", journal.Options{Sync: -1}},
		{"negative interval", journal.Options{SyncInterval: -1}},
		{"negative segment size", journal.Options{SegmentSize: -1}},
		{"negative entry size", journal.Options{MaxEntrySize: -1}},
		{"entry size beyond the format", journal.Options{MaxEntrySize: 1<<30 + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := journal.Open(t.TempDir(), &tc.opts)
			require.ErrorIs(t, err, journal.ErrInvalid)
		})
	}

	d := openDisk(t, t.TempDir(), &journal.Options{MaxEntrySize: 10})
	require.ErrorIs(t, d.Append(t.Context(), "r", 0, []journal.Entry{{Seq: 1, Data: make([]byte, 11)}}), journal.ErrInvalid)
	require.NoError(t, d.Append(t.Context(), "r", 0, []journal.Entry{{Seq: 1, Data: make([]byte, 10)}}))
}

func TestDiskSyncPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy journal.SyncPolicy
		syncs  bool // whether Appends fsync by themselves
	}{
		{journal.SyncBatch, true},
		{journal.SyncInterval, false},
		{journal.SyncNever, false},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			d := openDisk(t, dir, &journal.Options{Sync: tc.policy, SyncInterval: 1})
			f := follow(t.Context(), d, "r", 1)
			for s := uint64(1); s <= 50; s++ {
				require.NoError(t, d.Append(t.Context(), "r", s-1, fixedEntries(s, s)))
			}
			f.WaitFor(t, 50)
			if tc.syncs {
				assert.GreaterOrEqual(t, d.Stats().Syncs, uint64(50))
			}
			require.NoError(t, d.Close())
			require.ErrorIs(t, <-f.Done(), journal.ErrClosed)
			d = openDisk(t, dir, &journal.Options{Sync: tc.policy})
			requireFixed(t, d, "r", 1, 50)
		})
	}
}

// TestDiskGroupCommit has racing appenders to one room, each taking the room's last written
// Seq from the mismatch error when it loses: every Seq is written once. Those that write while
// an fsync is under way share the next one. Whether a racing append lands inside an fsync
// depends on the file system (an fsync on tmpfs takes a microsecond) and on scheduling, so the
// sharing is checked with an fsync held open: appenders that write meanwhile need one more.
func TestDiskGroupCommit(t *testing.T) {
	d := openDisk(t, t.TempDir(), nil)
	const n, appenders = 400, 8
	done := make(chan struct{})
	for range appenders {
		go func() {
			defer func() { done <- struct{}{} }()
			var last uint64
			for last < n {
				err := d.Append(t.Context(), "r", last, fixedEntries(last+1, last+1))
				var sm *journal.SeqMismatchError
				switch {
				case err == nil:
					last++
				case errors.As(err, &sm):
					last = sm.Actual
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	for range appenders {
		<-done
	}
	requireFixed(t, d, "r", 1, n)
	st := d.Stats()
	t.Logf("%d entries, %d fsyncs", st.Entries, st.Syncs)
	assert.Equal(t, uint64(n), st.Entries)
	assert.LessOrEqual(t, st.Syncs, st.Entries)
	assert.Positive(t, st.SyncTime, "the time spent in %d fsyncs", st.Syncs)

	// An fsync under way: appenders write a record each and wait; then one fsync for all.
	end, err := journal.HoldSync(d, "r")
	require.NoError(t, err)
	errc := make(chan error, appenders)
	for i := range uint64(appenders) {
		go func() {
			errc <- d.Append(t.Context(), "r", n+i, fixedEntries(n+i+1, n+i+1))
		}()
		// The next appender expects this record: wait until it is written (it is not acked).
		for d.Stats().Entries < n+i+1 {
			select {
			case err := <-errc:
				t.Fatalf("append %d returned (%v) while an fsync was under way", n+i+1, err)
			default:
				runtime.Gosched()
			}
		}
	}
	before := d.Stats().Syncs
	end()
	for range appenders {
		require.NoError(t, <-errc)
	}
	assert.Equal(t, before+1, d.Stats().Syncs, "the appends that waited for the fsync under way share one")
	requireFixed(t, d, "r", 1, n+appenders)
}

func TestDiskRelease(t *testing.T) {
	for _, policy := range []journal.SyncPolicy{journal.SyncBatch, journal.SyncNever} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			d := openDisk(t, dir, &journal.Options{Sync: policy, SegmentSize: 500})
			require.NoError(t, d.Release("r"), "a room never opened")
			f := follow(t.Context(), d, "r", 1)
			for s := uint64(1); s <= 12; s++ {
				require.NoError(t, d.Append(t.Context(), "r", s-1, fixedEntries(s, s)))
				if s%3 == 0 {
					require.NoError(t, d.Release("r"))
					require.NoError(t, d.Release("r"))
				}
			}
			f.WaitFor(t, 12)
			requireFixed(t, d, "r", 1, 12)
			require.NoError(t, d.Close())
			require.ErrorIs(t, d.Release("r"), journal.ErrClosed)
			require.ErrorIs(t, <-f.Done(), journal.ErrClosed)

			d = openDisk(t, dir, nil)
			requireFixed(t, d, "r", 1, 12)
			assert.Zero(t, d.Stats().TornTails)
		})
	}
}
