package journal

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
)

// Entry is one record of a room's log: its sequence number and the caller's opaque bytes.
type Entry struct {
	Seq  uint64
	Data []byte
}

// Snapshot is a room's state as the caller encoded it, covering every entry up to and including
// Seq.
type Snapshot struct {
	Seq  uint64
	Data []byte
}

// Journal is a durable, per-room, append-only log of entries with consecutive sequence numbers
// starting at 1, plus one snapshot per room stored beside it.
//
// The contract is shaped so that a replicated log can implement it unchanged: appends are
// conditional on the room's last Seq (a stale owner is fenced off), a reader can follow a room from
// a Seq, and snapshots carry the Seq they cover.
//
// Room names are opaque, untrusted strings of 1 to [MaxRoomName] bytes; any other name gives an
// error matching [ErrInvalid]. A room exists once something was appended to it or a snapshot was
// saved for it; a room that does not exist reads as empty, with Last 0.
//
// All methods may be called concurrently, from any goroutine. After Close, every method returns
// an error matching [ErrClosed] (Close itself returns nil). Errors are wrapped; test them with
// errors.Is and errors.As.
type Journal interface {
	// Append adds entries to the end of room's log if, and only if, the room's last Seq is
	// expectedLast; entries[i].Seq must be expectedLast+1+i. Otherwise nothing is appended and the
	// error matches ErrSeqMismatch (a *SeqMismatchError says what the last Seq is: another owner
	// appended, or this one lost track) or ErrInvalid (Seqs not consecutive, an entry too large
	// for the implementation, a bad room name). An empty entries slice appends nothing but still
	// checks expectedLast.
	//
	// Append returns nil once the entries are durable under the journal's policy; only then are
	// they visible to Last, Read and Follow. ctx is consulted before anything is written; once
	// the entries are written, Append waits for them to be made durable (a short, bounded wait)
	// rather than leave their fate unknown. An error after the write (an I/O error) means the
	// entries' fate is unknown, and the room accepts no more appends until the journal is
	// reopened. Append copies or writes Data before returning and keeps no reference to it.
	Append(ctx context.Context, room string, expectedLast uint64, entries []Entry) error

	// Last returns the Seq of the room's last durable entry: 0 for an empty room. Entries
	// compacted after a snapshot still count.
	Last(ctx context.Context, room string) (uint64, error)

	// Read yields the room's entries with Seq ≥ from (from 0 reads like 1), in order, up to the
	// last durable entry when the iteration catches up with it. Reading from below the oldest
	// entry kept (after a snapshot, entries it covers may be gone) yields one error matching
	// ErrCompacted: load the snapshot and read from its Seq+1. A damaged record yields an error
	// matching ErrCorrupt. After an error, the iteration stops.
	//
	// An Entry's Data belongs to the journal: do not modify it, and copy it to keep it beyond the
	// iteration step that yielded it. The iterator is single-use; stopping early is fine.
	Read(ctx context.Context, room string, from uint64) iter.Seq2[Entry, error]

	// Follow is Read that does not stop at the end: it waits for new durable entries and yields
	// them as they come, until ctx ends (it then yields context.Cause(ctx)) or the journal closes
	// (it yields an error matching ErrClosed). Following a room that does not exist yet waits for
	// it. Used to resume clients and by follower nodes.
	Follow(ctx context.Context, room string, from uint64) iter.Seq2[Entry, error]

	// SaveSnapshot stores s as the room's snapshot, replacing the previous one. s.Seq must not
	// exceed Last and must not be below the Seq of the snapshot already saved (else ErrInvalid).
	// Once it returns, entries with Seq ≤ s.Seq may be compacted away at any time. The Data is
	// copied or written before SaveSnapshot returns.
	SaveSnapshot(ctx context.Context, room string, s Snapshot) error

	// LoadSnapshot returns the room's latest snapshot, and false if it has none. The Data is the
	// caller's. Rebuilding a room is LoadSnapshot, then Read from its Seq+1 (from 1 without one).
	LoadSnapshot(ctx context.Context, room string) (Snapshot, bool, error)

	// Rooms returns the names of the rooms that exist, sorted.
	Rooms(ctx context.Context) ([]string, error)

	// Close releases the journal: pending appends finish, Follow iterations end with ErrClosed,
	// later calls fail with ErrClosed. Close is idempotent; the first call returns the error of
	// the final flush, if any.
	Close() error
}

// MaxRoomName is the longest room name, in bytes.
const MaxRoomName = 1024

// Sentinels for errors.Is.
var (
	// ErrSeqMismatch marks an Append whose expectedLast is not the room's last Seq; see
	// [SeqMismatchError].
	ErrSeqMismatch = errors.New("aper/journal: sequence mismatch")
	// ErrCompacted marks a Read or Follow from below the oldest entry kept.
	ErrCompacted = errors.New("aper/journal: entries compacted")
	// ErrCorrupt marks damaged stored data; see [CorruptError].
	ErrCorrupt = errors.New("aper/journal: corrupt data")
	// ErrInvalid marks an invalid argument or option.
	ErrInvalid = errors.New("aper/journal: invalid argument")
	// ErrClosed is net.ErrClosed: a closed journal returns errors that match it.
	ErrClosed = net.ErrClosed
)

// SeqMismatchError says that an Append expected another last Seq than the room has. It matches
// ErrSeqMismatch. For a room owner it usually means that another node took the room over.
type SeqMismatchError struct {
	Room     string
	Expected uint64 // the caller's expectedLast
	Actual   uint64 // the room's last Seq
}

var _ error = (*SeqMismatchError)(nil)

// Error names the room and both Seqs.
func (e *SeqMismatchError) Error() string {
	return fmt.Sprintf("aper/journal: room %q: append expected last Seq %d, the room is at %d", e.Room, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrSeqMismatch) true.
func (e *SeqMismatchError) Is(target error) bool { return target == ErrSeqMismatch }

// CorruptError says where stored data is damaged. It matches ErrCorrupt.
type CorruptError struct {
	Room   string
	File   string // the damaged file
	Offset int64  // byte offset in File of the damaged record or header
	Reason string
}

var _ error = (*CorruptError)(nil)

// Error names the room, the file and the offset of the damage.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("aper/journal: room %q: corrupt data in %s at offset %d: %s", e.Room, e.File, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func checkRoom(room string) error {
	if room == "" || len(room) > MaxRoomName {
		return fmt.Errorf("%w: a room name has 1 to %d bytes, not %d", ErrInvalid, MaxRoomName, len(room))
	}
	return nil
}

// checkEntries checks that entries continue expectedLast with consecutive Seqs.
func checkEntries(room string, expectedLast uint64, entries []Entry) error {
	for i, e := range entries {
		want := expectedLast + 1 + uint64(i)
		if want == 0 || e.Seq != want {
			return fmt.Errorf("%w: room %q: entry %d has Seq %d, want %d (consecutive after %d)", ErrInvalid, room, i, e.Seq, want, expectedLast)
		}
	}
	return nil
}

// ctxErr returns the cause of ctx's end, or nil.
func ctxErr(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// closedErr is the error of an operation on a closed journal.
func closedErr(op string) error {
	return fmt.Errorf("aper/journal: %s: %w", op, ErrClosed)
}

// fail returns an iterator that yields err once.
func fail(err error) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) { yield(Entry{}, err) }
}
