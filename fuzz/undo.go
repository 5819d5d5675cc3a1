package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
)

// undo runs an Undo or Redo step on client k and checks what the client reports of it:
//
//   - With nothing to undo (CanUndo false) it does nothing and reports nothing.
//   - Otherwise it takes at least one step off the stack, and applies something unless every
//     step it took conflicted wholly and the stack is empty after: each step it passed over
//     reported at least one conflict, and every conflict is a *conflict.Conflict.
//   - Applied and Handles pair up, and the client's view after holds the transitions of its
//     view before, then Applied in order, as its own optimistic ones: Applied are the
//     transitions the client submitted, as it sent them.
//
// The transitions applied join the client's submitted ones, so that the exactly-once check
// accounts for them like any other.
func (s *System[S, T]) undo(st *Step, k int) error {
	sl := s.clients[k]
	op, do, can := "undo", sl.c.Undo, sl.c.CanUndo
	if st.Kind == KindRedo {
		op, do, can = "redo", sl.c.Redo, sl.c.CanRedo
	}
	before, had := s.state(k), can()
	r, err := do()
	if errors.Is(err, apersync.ErrNoUndo) {
		st.note = "no undo stack (Weights.Undo and Redo are 0)"
		return nil
	}
	if err != nil {
		return fmt.Errorf("client %d: %s: %w", k, op, err)
	}
	for _, t := range r.Applied {
		sl.submitted = append(sl.submitted, encodeT(t))
		sl.times = append(sl.times, time.Now())
	}
	st.note = fmt.Sprintf("%s: %d steps, applied %+v, %d conflicts", op, r.Steps, r.Applied, len(r.Conflicts))
	switch {
	case !had && (r.Steps != 0 || len(r.Applied) != 0 || len(r.Conflicts) != 0):
		return fmt.Errorf("client %d: %s with nothing to %s took %d steps, applied %d, reported %d conflicts", k, op, op, r.Steps, len(r.Applied), len(r.Conflicts))
	case had && r.Steps == 0:
		return fmt.Errorf("client %d: %s took no step off a stack that had one", k, op)
	case len(r.Applied) == 0 && had && can():
		return fmt.Errorf("client %d: %s applied nothing and left steps on the stack", k, op)
	case len(r.Handles) != len(r.Applied):
		return fmt.Errorf("client %d: %s applied %d transitions with %d handles", k, op, len(r.Applied), len(r.Handles))
	}
	passed := r.Steps // the steps it passed over, every transition of which conflicted
	if len(r.Applied) > 0 {
		passed--
	}
	if len(r.Conflicts) < passed {
		return fmt.Errorf("client %d: %s passed over %d steps and reported %d conflicts", k, op, passed, len(r.Conflicts))
	}
	for _, c := range r.Conflicts {
		if conflict.As(c) == nil {
			return fmt.Errorf("client %d: %s reported a conflict that is none: %w", k, op, c)
		}
	}
	// The view is rebuilt before an undo (the confirmed state, then the pending transitions),
	// so the states may differ in how the view was made (a text counts its trailing optimistic
	// edits); their histories say what they hold.
	after, id := s.state(k).hist, sl.c.ID()
	if len(after) != len(before.hist)+len(r.Applied) {
		return fmt.Errorf("client %d: its view held %d transitions before %s and %d after, which reports %d applied", k, len(before.hist), op, len(after), len(r.Applied))
	}
	for i, e := range before.hist {
		a := after[i]
		same := a.Client == e.Client && bytes.Equal(a.T, e.T) &&
			(a.Seq == e.Seq || a.Client == id && (a.Seq == 0 || e.Seq == 0))
		if !same {
			return fmt.Errorf("client %d: its view's transition %d was %v before %s and is %v after", k, i, e, op, a)
		}
	}
	for i, t := range r.Applied {
		a := after[len(before.hist)+i]
		if a.Seq != 0 || a.Client != id || !bytes.Equal(a.T, encodeT(t)) {
			return fmt.Errorf("client %d: %s reports %+v applied, its view holds %v", k, op, t, a)
		}
	}
	return nil
}
