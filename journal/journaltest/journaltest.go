// Package journaltest is the contract test suite of [journal.Journal]: every implementation,
// in this module or outside it, runs [Run] against fresh journals of its own, so that all of
// them are held to one copy of the rules. It also exports the helpers the suite is written with,
// for an implementation's own tests.
package journaltest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
)

// Run runs the contract tests, each as a parallel subtest of t with a journal of its own from
// open. open must return a fresh, empty journal and close it when its test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) journal.Journal) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(t *testing.T, j journal.Journal)
	}{
		{"AppendRead", testAppendRead},
		{"AppendCopiesData", testAppendCopiesData},
		{"AppendFencing", testAppendFencing},
		{"AppendConsecutive", testAppendConsecutive},
		{"CanceledContext", testCanceledContext},
		{"Follow", testFollow},
		{"CloseStopsFollowers", testCloseStopsFollowers},
		{"Closed", testClosed},
		{"Snapshot", testSnapshot},
		{"HostileRoomNames", testHostileRoomNames},
		{"ConcurrentRooms", testConcurrentRooms},
		{"RacingOwners", testRacingOwners},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, open(t))
		})
	}
}

// Data is the payload of the entry with Seq seq in room, as the suite writes it.
func Data(room string, seq uint64) []byte {
	return fmt.Appendf(nil, "%s#%d:%s", room, seq, strings.Repeat("x", int(seq%37)))
}

// Entries are the entries from Seq from to to of room, as the suite writes them.
func Entries(room string, from, to uint64) []journal.Entry {
	var es []journal.Entry
	for s := from; s <= to; s++ {
		es = append(es, journal.Entry{Seq: s, Data: Data(room, s)})
	}
	return es
}

// AppendN appends entries 1..n to room in batches of batch.
func AppendN(t *testing.T, j journal.Journal, room string, n, batch uint64) {
	t.Helper()
	last, err := j.Last(t.Context(), room)
	require.NoError(t, err)
	for last < n {
		to := min(last+batch, n)
		require.NoError(t, j.Append(t.Context(), room, last, Entries(room, last+1, to)))
		last = to
	}
}

// ReadAll reads room from from, copying the entries.
func ReadAll(t *testing.T, j journal.Journal, room string, from uint64) ([]journal.Entry, error) {
	t.Helper()
	var got []journal.Entry
	for e, err := range j.Read(t.Context(), room, from) {
		if err != nil {
			return got, err
		}
		got = append(got, journal.Entry{Seq: e.Seq, Data: slices.Clone(e.Data)})
	}
	return got, nil
}

// RequireEntries fails t unless got are the suite's entries from Seq from to to of room.
func RequireEntries(t *testing.T, room string, from, to uint64, got []journal.Entry) {
	t.Helper()
	want := Entries(room, from, to)
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Seq, got[i].Seq)
		require.Equal(t, string(want[i].Data), string(got[i].Data), "Seq %d", want[i].Seq)
	}
}

func testAppendRead(t *testing.T, j journal.Journal) {
	ctx := t.Context()
	last, err := j.Last(ctx, "r")
	require.NoError(t, err)
	assert.Zero(t, last, "a room that does not exist is empty")
	got, err := ReadAll(t, j, "r", 1)
	require.NoError(t, err)
	assert.Empty(t, got)

	AppendN(t, j, "r", 100, 7)
	last, err = j.Last(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(100), last)

	for _, tc := range []struct {
		from, first uint64
	}{{0, 1}, {1, 1}, {2, 2}, {50, 50}, {100, 100}, {101, 101}, {1000, 1000}} {
		got, err := ReadAll(t, j, "r", tc.from)
		require.NoError(t, err, "from %d", tc.from)
		if tc.first > 100 {
			assert.Empty(t, got, "from %d", tc.from)
			continue
		}
		RequireEntries(t, "r", tc.first, 100, got)
	}

	// Stopping early is fine, and the journal keeps working.
	n := 0
	for e, err := range j.Read(ctx, "r", 1) {
		require.NoError(t, err)
		if n++; e.Seq == 10 {
			break
		}
	}
	assert.Equal(t, 10, n)

	// Rooms are independent.
	AppendN(t, j, "other", 3, 3)
	got, err = ReadAll(t, j, "other", 1)
	require.NoError(t, err)
	RequireEntries(t, "other", 1, 3, got)
	rooms, err := j.Rooms(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"other", "r"}, rooms)
}

func testAppendCopiesData(t *testing.T, j journal.Journal) {
	b := []byte("hello")
	require.NoError(t, j.Append(t.Context(), "r", 0, []journal.Entry{{Seq: 1, Data: b}}))
	copy(b, "HELLO")
	got, err := ReadAll(t, j, "r", 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "hello", string(got[0].Data))
}

func testAppendFencing(t *testing.T, j journal.Journal) {
	AppendN(t, j, "r", 5, 5)
	for _, tc := range []struct {
		name     string
		expected uint64
	}{
		{"stale owner", 3},
		{"from scratch", 0},
		{"ahead", 6},
		{"far ahead", 1 << 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := j.Append(t.Context(), "r", tc.expected, Entries("r", tc.expected+1, tc.expected+2))
			require.ErrorIs(t, err, journal.ErrSeqMismatch)
			var sm *journal.SeqMismatchError
			require.ErrorAs(t, err, &sm)
			assert.Equal(t, journal.SeqMismatchError{Room: "r", Expected: tc.expected, Actual: 5}, *sm)
			assert.Contains(t, err.Error(), "aper/journal: ")
		})
	}
	// An empty append checks the fence and writes nothing.
	require.NoError(t, j.Append(t.Context(), "r", 5, nil))
	require.ErrorIs(t, j.Append(t.Context(), "r", 4, nil), journal.ErrSeqMismatch)
	require.ErrorIs(t, j.Append(t.Context(), "new", 1, nil), journal.ErrSeqMismatch)
	require.NoError(t, j.Append(t.Context(), "new", 0, nil))
	rooms, err := j.Rooms(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"r"}, rooms, "an empty append makes no room")

	got, err := ReadAll(t, j, "r", 1)
	require.NoError(t, err)
	RequireEntries(t, "r", 1, 5, got)
}

func testAppendConsecutive(t *testing.T, j journal.Journal) {
	AppendN(t, j, "r", 3, 3)
	e := func(seqs ...uint64) []journal.Entry {
		var es []journal.Entry
		for _, s := range seqs {
			es = append(es, journal.Entry{Seq: s, Data: []byte("bad")})
		}
		return es
	}
	for _, tc := range []struct {
		name    string
		entries []journal.Entry
	}{
		{"gap after last", e(5)},
		{"repeats last", e(3)},
		{"gap inside", e(4, 5, 7)},
		{"duplicate inside", e(4, 4)},
		{"backwards", e(5, 4)},
		{"zero", e(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := j.Append(t.Context(), "r", 3, tc.entries)
			require.ErrorIs(t, err, journal.ErrInvalid)
			last, err := j.Last(t.Context(), "r")
			require.NoError(t, err)
			assert.Equal(t, uint64(3), last, "nothing appended")
		})
	}
	got, err := ReadAll(t, j, "r", 1)
	require.NoError(t, err)
	RequireEntries(t, "r", 1, 3, got)
}

func testCanceledContext(t *testing.T, j journal.Journal) {
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("the caller gave up")
	cancel(cause)
	require.ErrorIs(t, j.Append(ctx, "r", 0, Entries("r", 1, 1)), cause)
	last, err := j.Last(t.Context(), "r")
	require.NoError(t, err)
	assert.Zero(t, last)
	for _, err := range j.Read(ctx, "r", 1) {
		require.ErrorIs(t, err, cause)
	}
}

// Follower collects what Follow yields, in a goroutine the test owns.
type Follower struct {
	mu      sync.Mutex
	got     []journal.Entry
	changed chan struct{} // receives after each entry
	done    chan error    // the final error
}

// Follow starts following room from from in a goroutine that ends with ctx or the journal.
func Follow(ctx context.Context, j journal.Journal, room string, from uint64) *Follower {
	f := &Follower{changed: make(chan struct{}, 1), done: make(chan error, 1)}
	go func() {
		for e, err := range j.Follow(ctx, room, from) {
			if err != nil {
				f.done <- err
				return
			}
			f.mu.Lock()
			f.got = append(f.got, journal.Entry{Seq: e.Seq, Data: slices.Clone(e.Data)})
			f.mu.Unlock()
			select {
			case f.changed <- struct{}{}:
			default:
			}
		}
		f.done <- nil
	}()
	return f
}

// WaitFor waits until the Follower has n entries, and returns them.
func (f *Follower) WaitFor(t *testing.T, n int) []journal.Entry {
	t.Helper()
	for {
		f.mu.Lock()
		got := slices.Clone(f.got)
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-f.changed:
		case err := <-f.done:
			t.Fatalf("Follow ended after %d entries, waiting for %d: %v", len(got), n, err)
		case <-t.Context().Done():
			t.Fatalf("timed out after %d entries, waiting for %d", len(got), n)
		}
	}
}

func testFollow(t *testing.T, j journal.Journal) {
	AppendN(t, j, "r", 10, 4)
	ctx, cancel := context.WithCancel(t.Context())
	f := Follow(ctx, j, "r", 5)
	RequireEntries(t, "r", 5, 10, f.WaitFor(t, 6))

	// Follow wakes on each append.
	for last := uint64(10); last < 40; last += 3 {
		require.NoError(t, j.Append(t.Context(), "r", last, Entries("r", last+1, last+3)))
		RequireEntries(t, "r", 5, last+3, f.WaitFor(t, int(last+3-4)))
	}

	// A Follower of a room that does not exist yet, from ahead of its end, waits for it.
	g := Follow(ctx, j, "later", 3)
	AppendN(t, j, "later", 4, 1)
	RequireEntries(t, "later", 3, 4, g.WaitFor(t, 2))

	cancel()
	require.ErrorIs(t, <-f.done, context.Canceled)
	require.ErrorIs(t, <-g.done, context.Canceled)
}

func testCloseStopsFollowers(t *testing.T, j journal.Journal) {
	AppendN(t, j, "r", 3, 3)
	f := Follow(t.Context(), j, "r", 1)
	g := Follow(t.Context(), j, "empty", 1)
	f.WaitFor(t, 3)
	require.NoError(t, j.Close())
	require.ErrorIs(t, <-f.done, journal.ErrClosed)
	require.ErrorIs(t, <-g.done, journal.ErrClosed)
}

func testClosed(t *testing.T, j journal.Journal) {
	AppendN(t, j, "r", 3, 3)
	require.NoError(t, j.Close())
	require.NoError(t, j.Close(), "Close is idempotent")
	ctx := t.Context()
	require.ErrorIs(t, j.Append(ctx, "r", 3, Entries("r", 4, 4)), journal.ErrClosed)
	_, err := j.Last(ctx, "r")
	require.ErrorIs(t, err, journal.ErrClosed)
	_, err = ReadAll(t, j, "r", 1)
	require.ErrorIs(t, err, journal.ErrClosed)
	require.ErrorIs(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 3}), journal.ErrClosed)
	_, _, err = j.LoadSnapshot(ctx, "r")
	require.ErrorIs(t, err, journal.ErrClosed)
	_, err = j.Rooms(ctx)
	require.ErrorIs(t, err, journal.ErrClosed)
}

func testSnapshot(t *testing.T, j journal.Journal) {
	ctx := t.Context()
	_, ok, err := j.LoadSnapshot(ctx, "r")
	require.NoError(t, err)
	assert.False(t, ok)

	AppendN(t, j, "r", 100, 3)
	require.ErrorIs(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 101}), journal.ErrInvalid, "past the end")
	require.ErrorIs(t, j.SaveSnapshot(ctx, "nope", journal.Snapshot{Seq: 1}), journal.ErrInvalid, "past the end of an empty room")

	state := []byte("state at 60")
	require.NoError(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 60, Data: state}))
	copy(state, "STATE")
	require.ErrorIs(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 59}), journal.ErrInvalid, "older than the saved one")

	s, ok, err := j.LoadSnapshot(ctx, "r")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, journal.Snapshot{Seq: 60, Data: []byte("state at 60")}, s)

	// Rebuild: the snapshot, then the log after it.
	got, err := ReadAll(t, j, "r", s.Seq+1)
	require.NoError(t, err)
	RequireEntries(t, "r", 61, 100, got)
	// Well below the snapshot the entries are gone.
	_, err = ReadAll(t, j, "r", 1)
	require.ErrorIs(t, err, journal.ErrCompacted)
	for _, err := range j.Follow(ctx, "r", 1) {
		require.ErrorIs(t, err, journal.ErrCompacted)
	}

	last, err := j.Last(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(100), last, "compaction does not move Last")
	AppendN(t, j, "r", 110, 5)

	// A later snapshot replaces it; the same Seq again is fine.
	require.NoError(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 110, Data: []byte("s110")}))
	require.NoError(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 110, Data: []byte("s110b")}))
	s, ok, err = j.LoadSnapshot(ctx, "r")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, journal.Snapshot{Seq: 110, Data: []byte("s110b")}, s)
	got, err = ReadAll(t, j, "r", 111)
	require.NoError(t, err)
	assert.Empty(t, got)
	AppendN(t, j, "r", 111, 1)
	got, err = ReadAll(t, j, "r", 111)
	require.NoError(t, err)
	RequireEntries(t, "r", 111, 111, got)

	// A snapshot of an empty room at 0 (the initial state) makes the room.
	require.NoError(t, j.SaveSnapshot(ctx, "fresh", journal.Snapshot{Seq: 0, Data: []byte("initial")}))
	s, ok, err = j.LoadSnapshot(ctx, "fresh")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "initial", string(s.Data))
	AppendN(t, j, "fresh", 2, 2)
	got, err = ReadAll(t, j, "fresh", 1)
	require.NoError(t, err)
	RequireEntries(t, "fresh", 1, 2, got)
}

// HostileNames are room names that must neither collide nor escape the journal's directory.
var HostileNames = []string{
	"room", "Room", "ROOM", "../escape", "../../etc/passwd", "/abs/path", "a/b", `a\b`, ".", "..",
	"...", "CON", "nul", "aux.txt", "com1", "trailing.", "trailing ", " ", "%", "%41", "A", "a",
	"\x00", "nul\x00byte", "émoji 🎉", "e\u0301", "\u00e9", "r-room", "h-room", ".tmp", "LOCK", "name",
	"snapshot", strings.Repeat("A", 200), strings.Repeat("a", 200), strings.Repeat("/", journal.MaxRoomName),
	strings.Repeat("z", journal.MaxRoomName),
}

func testHostileRoomNames(t *testing.T, j journal.Journal) {
	ctx := t.Context()
	for i, name := range HostileNames {
		n := uint64(i%3 + 1)
		AppendN(t, j, name, n, 2)
	}
	for i, name := range HostileNames {
		got, err := ReadAll(t, j, name, 1)
		require.NoError(t, err, "%q", name)
		RequireEntries(t, name, 1, uint64(i%3+1), got)
	}
	rooms, err := j.Rooms(ctx)
	require.NoError(t, err)
	want := slices.Clone(HostileNames)
	slices.Sort(want)
	assert.Equal(t, want, rooms)

	for _, name := range []string{"", strings.Repeat("x", journal.MaxRoomName+1)} {
		require.ErrorIs(t, j.Append(ctx, name, 0, Entries(name, 1, 1)), journal.ErrInvalid)
		_, err := j.Last(ctx, name)
		require.ErrorIs(t, err, journal.ErrInvalid)
		_, err = ReadAll(t, j, name, 1)
		require.ErrorIs(t, err, journal.ErrInvalid)
	}
}

func testConcurrentRooms(t *testing.T, j journal.Journal) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			room := fmt.Sprintf("room-%d", g)
			AppendN(t, j, room, 200, uint64(g+1))
		})
	}
	wg.Wait()
	for g := range 8 {
		room := fmt.Sprintf("room-%d", g)
		got, err := ReadAll(t, j, room, 1)
		require.NoError(t, err)
		RequireEntries(t, room, 1, 200, got)
	}
}

// testRacingOwners has several goroutines append to one room, each retrying on a mismatch:
// every Seq is written once, by one of them, and the losers are told who is ahead.
func testRacingOwners(t *testing.T, j journal.Journal) {
	const n = 300
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for {
				last, err := j.Last(t.Context(), "r")
				if !assert.NoError(t, err) || last >= n {
					return
				}
				err = j.Append(t.Context(), "r", last, []journal.Entry{{Seq: last + 1, Data: Data("r", last+1)}})
				var sm *journal.SeqMismatchError
				if err != nil && !(errors.As(err, &sm) && sm.Actual > last) {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := ReadAll(t, j, "r", 1)
	require.NoError(t, err)
	RequireEntries(t, "r", 1, n, got)
}

// Done receives the error that ended the following (nil if the iteration simply stopped), once.
func (f *Follower) Done() <-chan error { return f.done }
