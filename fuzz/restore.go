package fuzz

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aper-go/aper"
)

// logEntry is one entry of the room's ordered log: a transition, or a restore to the room's
// state at Seq from.
type logEntry struct {
	entry
	restore bool
	from    uint64
}

// ordered returns the room's ordered log so far. With a journal (Weights.Restore) it is read from
// the journal, which keeps every entry, a restore and what it took out included; the entries
// read before are kept, and only the new ones are read. Without one no restore can happen, and
// the log is the server's state's history.
func (s *System[S, T]) ordered() ([]logEntry, error) {
	ctx := context.Background()
	if s.journal == nil {
		srv, _, err := s.srv.Snapshot(ctx, Room)
		if err != nil {
			return nil, fmt.Errorf("server snapshot: %w", err)
		}
		log := make([]logEntry, len(srv.hist))
		for i, e := range srv.hist {
			log[i] = logEntry{entry: e}
		}
		return log, nil
	}
	last, err := s.journal.Last(ctx, Room)
	if err != nil {
		return nil, fmt.Errorf("the journal's last entry: %w", err)
	}
	next := lastSeq(s.log) + 1
	if next > last {
		return s.log, nil
	}
	for ev, err := range s.srv.History(ctx, Room, next, last) {
		if err != nil {
			return nil, fmt.Errorf("the room's history from %d: %w", next, err)
		}
		if ev.Seq != lastSeq(s.log)+1 {
			return nil, fmt.Errorf("the room's history yields %d after %d", ev.Seq, lastSeq(s.log))
		}
		e := logEntry{entry: entry{Seq: ev.Seq, Client: ev.Client}}
		if ev.Restored {
			e.restore, e.from = true, ev.From
		} else {
			e.T = encodeT(ev.Transition)
			if !ev.Time.IsZero() {
				e.Time = ev.Time.UnixNano()
			}
		}
		s.log = append(s.log, e)
	}
	return s.log, nil
}

// lastSeq is the Seq of the log's last entry, 0 for an empty log.
func lastSeq(log []logEntry) uint64 {
	if len(log) == 0 {
		return 0
	}
	return log[len(log)-1].Seq
}

// historyAt returns the transitions that make the room's state at seq, in order. This is the
// model of a restore: the state at seq is the state at the Seq its last restore named (made the
// same way) plus the transitions ordered after that restore, up to seq.
func historyAt(log []logEntry, seq uint64) []entry {
	var h []entry
	for i, e := range log {
		if e.Seq > seq {
			break
		}
		if e.restore {
			h = slices.Clone(historyAt(log[:i], e.from))
		} else {
			h = append(h, e.entry)
		}
	}
	return h
}

// appliedBy returns the encodings of the transitions of client in the log, in order: every
// transition the room applied for it, those a restore took out included. A transition the room
// applied twice shows twice; one it lost, not at all.
func appliedBy(log []logEntry, client aper.ClientID) [][]byte {
	var out [][]byte
	for _, e := range log {
		if !e.restore && e.Client == client {
			out = append(out, e.T)
		}
	}
	return out
}

// replay applies the entries to a clone of the initial state, as the room applied them.
func (s *System[S, T]) replay(h []entry) (S, error) {
	st := s.initial.Clone()
	for _, e := range h {
		var t T
		if err := aper.CBOR.Unmarshal(e.T, &t); err != nil {
			var zero S
			return zero, fmt.Errorf("decode %v: %w", e, err)
		}
		ev := aper.Event[T]{Seq: e.Seq, Client: e.Client, Transition: t}
		if e.Time != 0 {
			ev.Time = time.Unix(0, e.Time)
		}
		if err := st.Apply(ev); err != nil {
			var zero S
			return zero, fmt.Errorf("%v does not apply: %w", e, err)
		}
	}
	return st, nil
}

// restore runs a Restore step: it restores the room to the state at a Seq from 0 to the room's
// Seq, and checks that the room's state is then the state at that Seq, as StateAt rebuilds it and
// as the model replays it (the log's transitions up to that Seq, less what earlier restores took
// out). Every client's connection is closed by the restore; the clients reconnect in later
// steps, and Settle checks that they converge on the restored state with the transitions
// ordered after it.
func (s *System[S, T]) restore(st *Step) error {
	if s.journal == nil {
		st.note = "no journal (Weights.Restore is 0)"
		return nil
	}
	ctx := context.Background()
	cur, err := s.srv.Seq(ctx, Room)
	if err != nil {
		return fmt.Errorf("the room's Seq: %w", err)
	}
	to := uint64(st.Seed) % (cur + 1)
	seq, err := s.srv.Restore(ctx, Room, to)
	if err != nil {
		return fmt.Errorf("restore to %d (the room at %d): %w", to, cur, err)
	}
	s.restores++
	st.note = fmt.Sprintf("restored to %d at %d", to, seq)
	log, err := s.ordered()
	if err != nil {
		return err
	}
	if len(log) == 0 {
		return fmt.Errorf("the log is empty after the restore to %d at %d", to, seq)
	}
	if last := log[len(log)-1]; last.Seq != seq || !last.restore || last.from != to {
		return fmt.Errorf("the log's last entry is %v (restore %t from %d), want the restore to %d at %d", last.entry, last.restore, last.from, to, seq)
	}
	srv, at, err := s.srv.Snapshot(ctx, Room)
	if err != nil {
		return fmt.Errorf("server snapshot: %w", err)
	}
	if at != seq {
		return fmt.Errorf("the room is at %d after its restore at %d", at, seq)
	}
	if err := s.checkModel(srv, seq); err != nil {
		return fmt.Errorf("after the restore to %d: %w", to, err)
	}
	past, err := s.srv.StateAt(ctx, Room, to)
	if err != nil {
		return fmt.Errorf("StateAt(%d): %w", to, err)
	}
	if err := sameEncoding(past.state, srv.state); err != nil {
		return fmt.Errorf("the state restored differs from StateAt(%d): %w", to, err)
	}
	return nil
}

// checkRestored reads the log up to now and checks, at a quiescent point of a system with a
// journal, the server's state against the model (see checkModel); the clients are compared with
// the server after.
func (s *System[S, T]) checkRestored(srv *replica[S, T], seq uint64) error {
	if s.journal == nil {
		return nil
	}
	if _, err := s.ordered(); err != nil {
		return err
	}
	return s.checkModel(srv, seq)
}

// checkModel checks the room's state at seq against the model: its history must be historyAt
// the log, and its state what replaying that history from the initial state gives.
func (s *System[S, T]) checkModel(srv *replica[S, T], seq uint64) error {
	want := historyAt(s.log, seq)
	if len(srv.hist) != len(want) {
		return fmt.Errorf("the room's state holds %d transitions, the model %d", len(srv.hist), len(want))
	}
	for i := range want {
		if !sameEntry(srv.hist[i], want[i]) {
			return fmt.Errorf("the room's transition %d is %v, the model's %v", i, srv.hist[i], want[i])
		}
	}
	st, err := s.replay(want)
	if err != nil {
		return fmt.Errorf("replaying the model: %w", err)
	}
	if err := sameEncoding(st, srv.state); err != nil {
		return fmt.Errorf("the room's state differs from the model's: %w", err)
	}
	return nil
}
