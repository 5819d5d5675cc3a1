package aper

import (
	"errors"
	"fmt"
	"math"

	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
)

// Inverter is an optional power of a state machine, checked at run time like [io.WriterTo]: it
// applies a transition and gives the transition that undoes it. An undo manager (package undo)
// records the inverse of each of the local user's own transitions and, to undo one, applies its
// inverse as a new transition, which goes through the server like any other.
//
// ApplyInverse applies ev exactly as Apply does: the same result, the same errors, and nothing
// changed on an error. On success it also returns the inverse: the transition that, applied
// next, gives back the state as it was before ev, computed against that state. Applied later,
// after others' transitions, an inverse undoes ev's effect where it still can and conflicts
// where it cannot (the item it would restore next to is gone with no fallback, the move back
// would make a cycle, the value it would restore was changed since): the conflict is how an
// undo is skipped.
//
// A transition that has no single inverse (a list respace, which changes only indexes; a board
// list removed with the objects it held moved elsewhere) gives an error that wraps
// [ErrNoInverse] and changes nothing: apply it with Apply; it cannot be undone. Every built-in
// structure implements Inverter; [ApplyInverse] calls it when a state has it.
type Inverter[T any] interface {
	// ApplyInverse applies ev as Apply does and returns the transition that undoes it.
	ApplyInverse(ev Event[T]) (inverse T, err error)
}

// ErrNoInverse is what ApplyInverse returns, having changed nothing, for a transition it cannot
// give a single inverse for, and what [ApplyInverse] returns for a state that is no [Inverter].
// It is not a conflict: the transition may still be applied with Apply.
var ErrNoInverse = errors.New("aper: the transition has no inverse")

// ApplyInverse applies ev to s with s's ApplyInverse if s is an [Inverter], and returns the
// inverse. For any other state it changes nothing and returns an error that wraps
// [ErrNoInverse]. Composite state machines (a struct of state machines, generated or written by
// hand) call it for each part.
func ApplyInverse[T any](s interface{ Apply(Event[T]) error }, ev Event[T]) (T, error) {
	if inv, ok := s.(Inverter[T]); ok {
		return inv.ApplyInverse(ev)
	}
	var zero T
	return zero, fmt.Errorf("%w: %T is no Inverter", ErrNoInverse, s)
}

// ApplyInverse adds or sets, as Apply does, and returns the inverse: for an add of n, the add of
// -n (or, for n the smallest int64, whose negation overflows, the set of the value before); for a
// set, the set of the value before. An undone add commutes with others' adds; an undone set
// overwrites what others did to the counter since.
func (c *Counter) ApplyInverse(ev Event[CounterTransition]) (CounterTransition, error) {
	old := c.value
	if err := c.Apply(ev); err != nil {
		return CounterTransition{}, err
	}
	if t := ev.Transition; t.Op == CounterOpAdd && t.Amount != math.MinInt64 {
		return CounterTransition{Op: CounterOpAdd, Amount: -t.Amount}, nil
	}
	return CounterTransition{Op: CounterOpSet, Amount: old}, nil
}

// ApplyInverse sets the value, as Apply does, and returns the inverse: a compare-and-set back to
// the value before, expecting the value just set. So an undo conflicts (kind Mismatch) when
// someone has set another value since, rather than overwrite it.
func (a *Atom[V]) ApplyInverse(ev Event[AtomTransition[V]]) (AtomTransition[V], error) {
	old := a.value
	if err := a.Apply(ev); err != nil {
		return AtomTransition[V]{}, err
	}
	return AtomTransition[V]{Value: old, CAS: true, Expect: ev.Transition.Value}, nil
}

// ApplyInverse sets, deletes or updates an entry, as Apply does, and returns the inverse that
// restores the entry: for a set, the set of the value before (a Clone of it) or the delete of a
// key that had none; for a delete, the set of the deleted value; for an update, the update by
// the inverse of the entry's own transition when its state machine is an [Inverter], else the
// set of a Clone of the value before (which overwrites what others did to the entry since).
func (m *Map[K, V, T]) ApplyInverse(ev Event[MapTransition[K, V, T]]) (MapTransition[K, V, T], error) {
	t := &ev.Transition
	old, had := m.Get(t.Key)
	switch t.Op {
	case MapOpSet, MapOpDelete:
		if err := m.Apply(ev); err != nil {
			return MapTransition[K, V, T]{}, err
		}
		if !had {
			return MapTransition[K, V, T]{Op: MapOpDelete, Key: t.Key}, nil
		}
		// old has left the map: nothing of the map writes it again.
		return MapTransition[K, V, T]{Op: MapOpSet, Key: t.Key, Value: old}, nil
	case MapOpUpdate:
		if !had || !cow.IsNil(t.Value) {
			return MapTransition[K, V, T]{}, m.Apply(ev) // the conflict Apply gives
		}
		if _, ok := any(old).(Inverter[T]); !ok {
			before := old.Clone()
			if err := m.Apply(ev); err != nil {
				return MapTransition[K, V, T]{}, err
			}
			return MapTransition[K, V, T]{Op: MapOpSet, Key: t.Key, Value: before}, nil
		}
		owner := m.owner.Get()
		it, _ := m.tree.Get(mapItem[K, V]{key: t.Key})
		v, cloned := cow.Writable(it.value, it.owner, owner)
		inner := Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t.Inner}
		inv, err := any(v).(Inverter[T]).ApplyInverse(inner)
		if err != nil {
			return MapTransition[K, V, T]{}, conflict.WithPath(err, keyString(t.Key))
		}
		if cloned {
			m.tree.Set(mapItem[K, V]{key: t.Key, value: v, owner: owner})
		}
		return MapTransition[K, V, T]{Op: MapOpUpdate, Key: t.Key, Inner: inv}, nil
	default:
		return MapTransition[K, V, T]{}, m.Apply(ev)
	}
}

// ApplyTransactionInverse is [ApplyTransaction] that also returns the transaction's inverse: the
// inverses of its steps in reverse order, each computed against the state its step applied to.
// The steps' state must be an [Inverter]; if it is not, or a step has no inverse, it returns s
// untouched and an error that wraps [ErrNoInverse].
func ApplyTransactionInverse[S StateMachine[S, T], T any](s S, ev Event[Transaction[T]]) (S, Transaction[T], error) {
	next := s.Clone()
	inv := make(Transaction[T], len(ev.Transition))
	for i, t := range ev.Transition {
		step := Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t}
		x, err := ApplyInverse[T](next, step)
		if err != nil {
			return s, nil, fmt.Errorf("aper: transaction step %d of %d: %w", i+1, len(ev.Transition), err)
		}
		inv[len(inv)-1-i] = x
	}
	return next, inv, nil
}

// ApplyInverse applies every transition of the transaction or none, as Apply does, and returns
// the transaction that undoes it (see [ApplyTransactionInverse]): undone, a transaction is one
// step too, all or nothing.
func (x *Transactional[S, T]) ApplyInverse(ev Event[Transaction[T]]) (Transaction[T], error) {
	if cow.IsNil(x.state) {
		return nil, x.Apply(ev)
	}
	next, inv, err := ApplyTransactionInverse(x.state, ev)
	if err != nil {
		return nil, err
	}
	x.state = next
	return inv, nil
}

var (
	_ Inverter[CounterTransition]                                  = (*Counter)(nil)
	_ Inverter[AtomTransition[int]]                                = (*Atom[int])(nil)
	_ Inverter[MapTransition[string, *Counter, CounterTransition]] = (*Map[string, *Counter, CounterTransition])(nil)
	_ Inverter[Transaction[CounterTransition]]                     = (*Transactional[*Counter, CounterTransition])(nil)
)
