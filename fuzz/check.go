package fuzz

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aper-go/aper"
)

// check compares every client with the server and accounts for every submitted transition.
func (s *System[S, T]) check() error {
	srv, seq, err := s.srv.Snapshot(context.Background(), Room)
	if err != nil {
		return fmt.Errorf("server snapshot: %w", err)
	}
	if err := s.checkRestored(srv, seq); err != nil {
		return err
	}
	states := make([]S, len(s.clients))
	for i, sl := range s.clients {
		c := sl.c.State()
		states[i] = c.state
		if got := sl.c.Seq(); got != seq {
			return fmt.Errorf("client %d is at Seq %d, the server at %d", i, got, seq)
		}
		if err := sameEncoding(srv.state, c.state); err != nil {
			return fmt.Errorf("client %d differs from the server: %w", i, err)
		}
		if err := sameHistory(srv.hist, c.hist); err != nil {
			return fmt.Errorf("client %d confirmed other transitions than the server ordered: %w", i, err)
		}
		applied, rejected := s.rec.of(sl.c.ID())
		if s.journal != nil {
			// The room's log, with what restores took out (see appliedBy). The recorder follows
			// the room's state, which a restore replaces by a state it did not make, so its
			// rejections are not compared either: the count above and the interleaving below
			// still catch a rejection the server did not make or one the client missed.
			applied = appliedBy(s.log, sl.c.ID())
		}
		got := sl.rejections()
		if len(sl.submitted) != len(applied)+len(got) {
			return fmt.Errorf("client %d submitted %d transitions; the server applied %d and the client heard of %d rejections", i, len(sl.submitted), len(applied), len(got))
		}
		if s.journal == nil && !equalLists(rejected, got) {
			return fmt.Errorf("client %d heard of %d rejections, the server rejected %d of its transitions (or others)", i, len(got), len(rejected))
		}
		// Each submitted transition is, in order, the next one the server applied for this
		// client or the next one it rejected.
		if j := interleaves(sl.submitted, applied, got); j >= 0 {
			return fmt.Errorf("client %d: its transition %d (%x) was neither applied nor rejected in order", i, j+1, sl.submitted[j])
		}
	}
	if s.cfg.Check != nil {
		q := Quiescent[S, T]{Server: srv.state, Clients: states}
		for _, sl := range s.clients {
			q.IDs = append(q.IDs, sl.c.ID())
		}
		for _, e := range srv.hist {
			var t T
			if err := aper.CBOR.Unmarshal(e.T, &t); err != nil {
				return fmt.Errorf("decode ordered transition %d: %w", e.Seq, err)
			}
			q.Ordered = append(q.Ordered, aper.Event[T]{Seq: e.Seq, Client: e.Client, Transition: t})
		}
		if err := s.cfg.Check(q); err != nil {
			return fmt.Errorf("check: %w", err)
		}
	}
	return nil
}

func sameEncoding(a, b any) error {
	for _, c := range aper.Codecs() {
		ea, err := c.Marshal(a)
		if err != nil {
			return err
		}
		eb, err := c.Marshal(b)
		if err != nil {
			return err
		}
		if !bytes.Equal(ea, eb) {
			if c.Name() == "json" {
				return fmt.Errorf("%s:\nserver: %s\nclient: %s", c.Name(), ea, eb)
			}
			return fmt.Errorf("%s:\nserver: %x\nclient: %x", c.Name(), ea, eb)
		}
	}
	return nil
}

func sameHistory(a, b []entry) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d transitions, the server's %d", len(b), len(a))
	}
	for i := range a {
		// A client may keep the view in which it applied its own transitions optimistically
		// once the server has confirmed them all (it is then equal to the confirmed state):
		// an optimistic entry stands for the ordered one of the same sender and transition.
		if b[i].Seq == 0 && b[i].Client == a[i].Client && bytes.Equal(a[i].T, b[i].T) {
			continue
		}
		if a[i].Seq != b[i].Seq || a[i].Client != b[i].Client || !bytes.Equal(a[i].T, b[i].T) {
			return fmt.Errorf("at %d: %v, the server's %v", i, b[i], a[i])
		}
	}
	return nil
}

// interleaves reports whether sub is an interleaving of applied and rejected (each kept in its
// order): -1 if it is, else the index of the first transition of sub that no interleaving
// reaches. It tries every one, since a client may submit the same transition twice, one copy
// rejected and the other applied (an undo's delete of an item that is gone, then put back).
func interleaves(sub, applied, rejected [][]byte) int {
	if len(sub) != len(applied)+len(rejected) {
		return 0
	}
	// at[a] says that sub[:j] interleaves applied[:a] and rejected[:j-a].
	at := make([]bool, len(applied)+1)
	at[0] = true
	for j, b := range sub {
		next := make([]bool, len(applied)+1)
		reached := false
		for a, ok := range at {
			if !ok {
				continue
			}
			if r := j - a; r < len(rejected) && bytes.Equal(rejected[r], b) {
				next[a], reached = true, true
			}
			if a < len(applied) && bytes.Equal(applied[a], b) {
				next[a+1], reached = true, true
			}
		}
		if !reached {
			return j
		}
		at = next
	}
	return -1
}

func equalLists(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
