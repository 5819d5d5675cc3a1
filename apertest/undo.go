package apertest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/undo"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// UndoStep is one transition of a [SelectiveUndo] check: the local user's own (Own) or another
// user's. Make builds it against mine, the state with everyone's transitions, and theirs, the
// state with the other users' only; false skips the step. Join puts an own transition in the
// same undo step as the own transition before it.
type UndoStep[S any, T any] struct {
	Own  bool
	Join bool
	Make func(mine, theirs S) (T, bool)
}

// UndoReport is what [SelectiveUndo] found.
type UndoReport[S any] struct {
	// Mine is the state with everyone's transitions and then the undo of every own one;
	// Theirs the state with the other users' transitions only.
	Mine, Theirs S
	// Conflicts are the conflicts the undo reported (transitions it skipped).
	Conflicts []error
	// Valid is false when a transition of another user applied to Mine but conflicted on
	// Theirs: the case says nothing about undo.
	Valid bool
}

// SelectiveUndo checks selective undo on a state that is an [aper.Inverter]: it applies the
// steps to a Clone of initial ("mine"), the own ones with ApplyInverse (checking that it gives
// what Apply gives, the same conflicts, and an inverse that, applied at once, gives back the
// state before, by same) and recorded in an undo.Manager, the others' ones with Apply, and to a
// second Clone ("theirs") only the others' ones; then it undoes every own step on mine with
// the Manager and [undo.Applier]. A property then compares Mine with Theirs (by same) when no
// conflict was reported. Own transitions are events of client "me", others' of "other", each
// with the next Seq. It returns an error when a rule is broken.
func SelectiveUndo[S interface {
	aper.StateMachine[S, T]
	aper.Inverter[T]
}, T any](initial S, steps []UndoStep[S, T], same func(a, b S) error) (UndoReport[S], error) {
	r := UndoReport[S]{Mine: initial.Clone(), Theirs: initial.Clone(), Valid: true}
	now := time.Unix(0, 0)
	m := undo.New[T](&undo.Options{Interval: time.Second, Now: func() time.Time { return now }})
	var seq uint64
	event := func(c aper.ClientID) func(T) aper.Event[T] {
		return func(t T) aper.Event[T] {
			seq++
			return aper.Event[T]{Seq: seq, Client: c, Transition: t}
		}
	}
	mine, other := event("me"), event("other")
	for i, st := range steps {
		t, ok := st.Make(r.Mine, r.Theirs)
		if !ok {
			continue
		}
		if !st.Own {
			ev := other(t)
			if err := r.Mine.Apply(ev); err != nil {
				continue
			}
			if err := r.Theirs.Apply(ev); err != nil {
				r.Valid = false
				return r, nil
			}
			continue
		}
		ev := mine(t)
		before, check := r.Mine.Clone(), r.Mine.Clone()
		want := check.Apply(ev)
		inv, err := r.Mine.ApplyInverse(ev)
		if errors.Is(err, aper.ErrNoInverse) {
			if err := r.Mine.Apply(ev); err != nil {
				return r, fmt.Errorf("step %d: ApplyInverse had no inverse, and Apply fails: %v", i, err)
			}
			continue
		}
		if (err == nil) != (want == nil) || kind(err) != kind(want) {
			return r, fmt.Errorf("step %d: ApplyInverse(%+v) = %v, Apply = %v", i, t, err, want)
		}
		if err := same(r.Mine, check); err != nil {
			return r, fmt.Errorf("step %d: ApplyInverse(%+v) and Apply differ: %v", i, t, err)
		}
		if err != nil {
			continue
		}
		back := r.Mine.Clone()
		if _, err := undo.Applier(back, m, mine)(inv); err != nil {
			return r, fmt.Errorf("step %d: the inverse %+v of %+v, applied at once: %v", i, inv, t, err)
		}
		if err := same(back, before); err != nil {
			return r, fmt.Errorf("step %d: the inverse %+v of %+v, applied at once, does not give back the state: %v", i, inv, t, err)
		}
		if !st.Join {
			now = now.Add(time.Hour)
		}
		m.Record(inv)
	}
	for m.CanUndo() {
		res, err := m.Undo(undo.Applier(r.Mine, m, mine))
		if err != nil {
			return r, fmt.Errorf("undo: %v", err)
		}
		r.Conflicts = append(r.Conflicts, res.Conflicts...)
	}
	return r, nil
}

func kind(err error) conflict.Kind {
	var c *conflict.Conflict
	if errors.As(err, &c) {
		return c.Kind
	}
	return ""
}

// UndoProperty runs [SelectiveUndo] as a gopter property over random runs of steps: step
// decodes each random code into a step (so that shrinking the codes shrinks the run), and the
// property holds when every rule holds and, for runs where the undo reported no conflict and
// the others' transitions all applied to theirs, same(Mine, Theirs) holds. It reports how many
// runs were compared and how many had conflicts, and fails if no run was compared.
func UndoProperty[S interface {
	aper.StateMachine[S, T]
	aper.Inverter[T]
}, T any](t *testing.T, p *gopter.TestParameters, initial func() S, step func(code uint64) UndoStep[S, T], same func(a, b S) error) {
	t.Helper()
	var compared, conflicted int
	props := gopter.NewProperties(p)
	props.Property("undoing every own transition leaves the others' ones", prop.ForAll(func(codes []uint64) string {
		steps := make([]UndoStep[S, T], len(codes))
		for i, c := range codes {
			steps[i] = step(c)
		}
		r, err := SelectiveUndo(initial(), steps, same)
		switch {
		case err != nil:
			return err.Error()
		case !r.Valid:
			return ""
		case len(r.Conflicts) > 0:
			for _, c := range r.Conflicts {
				if kind(c) == "" {
					return fmt.Sprintf("undo reported %v, which is no conflict", c)
				}
			}
			conflicted++
			return ""
		}
		compared++
		if err := same(r.Mine, r.Theirs); err != nil {
			return fmt.Sprintf("after undoing every own transition: %v", err)
		}
		return ""
	}, gen.SliceOf(gen.UInt64())))
	props.TestingRun(t)
	t.Logf("%d runs compared, %d with conflicts", compared, conflicted)
	if compared == 0 {
		t.Errorf("no run without conflicts was compared")
	}
}
