package sync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
)

// Sentinels of a room's history (Server.History, StateAt, Restore).
var (
	// ErrNotRetained marks a Seq of a room's history that the journal no longer keeps (see
	// journal.Retention), or a server without a journal (WithJournal), which keeps none.
	ErrNotRetained = errors.New("aper/sync: history not retained")
	// ErrSeqRange marks a Seq past the room's last one.
	ErrSeqRange = errors.New("aper/sync: seq past the room's last")
)

// HistoryEvent is one entry of a room's ordered log, as [Server.History] yields it.
type HistoryEvent[T any] struct {
	Seq    uint64
	Client aper.ClientID // the sender; empty for the server's own events (timers, Membership)
	Time   time.Time     // the server's time when it ordered the entry
	// Transition is what was applied; the zero value for a restore.
	Transition T
	// Restored is true for an entry made by [Server.Restore]: it reset the state to the state
	// at Seq From.
	Restored bool
	From     uint64
}

// History yields the entries of room's ordered log with from ≤ Seq ≤ to, in order (to 0:
// up to the last durable entry). It needs a journal, and reads what the journal retains: an
// entry it no longer keeps yields an error matching ErrNotRetained, as does a server without
// a journal; a from past the room's last Seq yields ErrSeqRange. After an error, the iteration
// stops. It does not load the room and may run concurrently with it.
func (s *Server[S, T]) History(ctx context.Context, room string, from, to uint64) iter.Seq2[HistoryEvent[T], error] {
	return func(yield func(HistoryEvent[T], error) bool) {
		fail := func(err error) { yield(HistoryEvent[T]{}, wrap(err, "history of room %q", room)) }
		j := s.cfg.journal
		if j == nil {
			fail(fmt.Errorf("%w: the server has no journal", ErrNotRetained))
			return
		}
		last, err := j.Last(ctx, room)
		if err != nil {
			fail(err)
			return
		}
		from = max(from, 1)
		if from > last {
			fail(fmt.Errorf("%w: from %d, the room is at %d", ErrSeqRange, from, last))
			return
		}
		if to == 0 || to > last {
			to = last
		}
		for e, err := range j.Read(ctx, room, from) {
			if err != nil {
				fail(notRetained(err))
				return
			}
			if e.Seq > to {
				return
			}
			rc, err := decodeRecord[T](e)
			if err != nil {
				fail(fmt.Errorf("decode entry %d: %w", e.Seq, err))
				return
			}
			ev := HistoryEvent[T]{Seq: rc.Seq, Client: rc.Client, Time: rc.Time, Transition: rc.Transition}
			if rc.Kind == kindRestore {
				ev.Restored, ev.From = true, rc.From
			}
			if !yield(ev, nil) || e.Seq == to {
				return
			}
		}
	}
}

// notRetained marks a journal's ErrCompacted as ErrNotRetained.
func notRetained(err error) error {
	if errors.Is(err, journal.ErrCompacted) {
		return fmt.Errorf("%w: %w", ErrNotRetained, err)
	}
	return err
}

// StateAt rebuilds room's state as it was at seq (0: the room factory's state), from the newest
// snapshot the journal keeps at or below seq (see journal.SnapshotHistory; a journal without it
// has only its latest) and the entries after it. The state is the caller's. It fails with
// ErrNotRetained if the journal no longer keeps what it takes (or the server has none), and
// with ErrSeqRange past the room's last Seq. It does not load the room: the room factory is
// called, with ctx, only when no snapshot is at or below seq.
func (s *Server[S, T]) StateAt(ctx context.Context, room string, seq uint64) (S, error) {
	st, err := s.stateAt(ctx, room, seq)
	return st, wrap(err, "state of room %q at %d", room, seq)
}

func (s *Server[S, T]) stateAt(ctx context.Context, room string, seq uint64) (S, error) {
	var zero S
	j := s.cfg.journal
	if j == nil {
		return zero, fmt.Errorf("%w: the server has no journal", ErrNotRetained)
	}
	last, err := j.Last(ctx, room)
	if err != nil {
		return zero, err
	}
	if seq > last {
		return zero, fmt.Errorf("%w: the room is at %d", ErrSeqRange, last)
	}
	var snap journal.Snapshot
	var ok bool
	if sh, isHist := j.(journal.SnapshotHistory); isHist {
		snap, ok, err = sh.LoadSnapshotAt(ctx, room, seq)
	} else if snap, ok, err = j.LoadSnapshot(ctx, room); ok && snap.Seq > seq {
		ok = false
	}
	if err != nil {
		return zero, err
	}
	var core *roomCore[S, T]
	err = catch("rebuilding a past state", func() error {
		var js journalSnapshot
		var st S
		if ok {
			if err := aper.CBOR.Unmarshal(snap.Data, &js); err != nil {
				return fmt.Errorf("decode snapshot %d: %w", snap.Seq, err)
			}
			if err := aper.CBOR.Unmarshal(js.State, &st); err != nil {
				return fmt.Errorf("decode snapshot %d state: %w", snap.Seq, err)
			}
		} else {
			var err error
			if st, err = s.factory(ctx, room); err != nil {
				return err
			}
		}
		core = newRoomCore(room, st, roomConfig[S, T]{logSize: 1})
		if ok {
			core.restore(st, snap.Seq, &js)
		}
		if core.seq == seq {
			return nil
		}
		for e, err := range j.Read(ctx, room, core.seq+1) {
			if err != nil {
				return notRetained(err)
			}
			rc, err := decodeRecord[T](e)
			if err != nil {
				return fmt.Errorf("decode entry %d: %w", e.Seq, err)
			}
			if err := core.replay(rc); err != nil {
				return err
			}
			if e.Seq == seq {
				return nil
			}
		}
		return fmt.Errorf("%w: the journal ends before %d", ErrNotRetained, seq)
	})
	if err != nil {
		return zero, err
	}
	return core.state, nil
}

// Restore resets room to its state at seq (see StateAt) as one new ordered entry of its log,
// journaled like any other, so that a restore shows in History and can itself be undone by a
// restore to the Seq before it. It returns the entry's Seq. Every connection of the room is
// then closed with a non-fatal error (code "restored"): each client reconnects, gets the
// restored state as its confirmed state, and re-sends its pending transitions, which the room
// applies to the restored state or rejects. Transitions ordered between the state's rebuilding
// and the restore are undone with the rest. Restore loads the room if it is not loaded; in a
// cluster, see Snapshot.
func (s *Server[S, T]) Restore(ctx context.Context, room string, seq uint64) (uint64, error) {
	res, err := s.carry(ctx, &call[T]{op: opRestore, room: room, seq: seq})
	return res.seq, wrap(err, "restore room %q to %d", room, seq)
}

// restore is Restore on this server.
func (s *Server[S, T]) restore(ctx context.Context, room string, seq uint64) (uint64, error) {
	r, err := s.acquire(room)
	if err != nil {
		return 0, err
	}
	defer s.release(r)
	st, err := s.stateAt(ctx, room, seq)
	if err != nil {
		return 0, err
	}
	var data []byte
	if err := catch("encoding a state", func() (err error) {
		data, err = aper.CBOR.Marshal(st)
		return err
	}); err != nil {
		return 0, err
	}
	reply := make(chan snapshotReply[S], 1)
	m := roomMsg[T]{kind: msgRestore, reply: reply, restore: &restoreMsg[S]{state: st, data: data, from: seq}}
	if err := r.sendCtx(ctx, m); err != nil {
		return 0, err
	}
	select {
	case rep := <-reply:
		return rep.seq, rep.err
	case <-r.done:
		return 0, ErrServerClosed
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// kindRestore is the record of a Restore: its State replaces the state.
const kindRestore = kindLeft + 1

// restoreMsg is a Restore for the room's goroutine: the state and its encoding.
type restoreMsg[S any] struct {
	state S
	data  raw
	from  uint64
}

// restoreTo replaces the state with st (whose CBOR is data: the state at Seq from) as the next
// ordered entry, and closes every connection so that each client reconnects and loads it: the
// resume log is emptied, since a resume across a restore takes a snapshot. It returns the
// entry's Seq, 0 if the core has halted.
func (r *roomCore[S, T]) restoreTo(st S, data raw, from uint64, now time.Time) uint64 {
	if r.halted() {
		return 0
	}
	r.state, r.seq = st, r.seq+1
	clear(r.log)
	r.logLen, r.logStart = 0, 0
	r.timerStuckSet = false
	if r.keepRecords {
		r.records = append(r.records, record[T]{Seq: r.seq, Time: now, Kind: kindRestore, State: data, From: from})
	}
	why := &ServerError{Code: codeRestored, Message: fmt.Sprintf("room %q restored to its state at %d", r.name, from)}
	for _, s := range r.sessions {
		r.closeWith(s, why)
	}
	return r.seq
}

// replayRestore is replay of a restore's record.
func (r *roomCore[S, T]) replayRestore(rc record[T]) error {
	var st S
	if err := aper.CBOR.Unmarshal(rc.State, &st); err != nil {
		return fmt.Errorf("aper/sync: room %q: decode the state restored at %d: %w", r.name, rc.Seq, err)
	}
	r.state, r.seq = st, rc.Seq
	clear(r.log)
	r.logLen, r.logStart = 0, 0
	return nil
}

// errRestoreInLog is why a resume cannot be served from the journal: a restore is in the way,
// and the client needs a snapshot.
var errRestoreInLog = errors.New("aper/sync: a restore in the log")
