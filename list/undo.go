package list

import (
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
)

// ApplyInverse applies ev as [List.Apply] does (the same result and errors, nothing changed on
// an error) and returns the transition that undoes it (see [aper.Inverter]):
//
//   - an insert: the delete of the inserted id;
//   - a delete: the insert of the same id and value where the item was: after the item that
//     was before it (before the one after it, if it was the first), falling back to its old
//     index when that neighbour is gone. It conflicts (Duplicate) if the id is back already;
//   - a move: the move back to where the item was, anchored the same way;
//   - an update: the update by the inverse of the item's own transition; the items' state
//     machine must be an [aper.Inverter], else the update is not applied and the error wraps
//     [aper.ErrNoInverse];
//   - a respace, which changes indexes only, has no inverse: nothing is applied and the error
//     wraps [aper.ErrNoInverse].
//
// It costs what Apply costs, plus O(log n) to find the item's neighbour.
func (l *List[V, T]) ApplyInverse(ev aper.Event[Transition[V, T]]) (Transition[V, T], error) {
	t := &ev.Transition
	switch t.Op {
	case OpInsert:
		if err := l.Apply(ev); err != nil {
			return Transition[V, T]{}, err
		}
		return Transition[V, T]{Op: OpDelete, ID: t.ID}, nil
	case OpDelete, OpMove:
		k, ok := l.KeyOf(t.ID)
		if !ok {
			return Transition[V, T]{}, l.Apply(ev) // its NotFound
		}
		it, _ := l.items.Get(item[V]{key: k})
		back := l.wasAt(k)
		if err := l.Apply(ev); err != nil {
			return Transition[V, T]{}, err
		}
		if t.Op == OpMove {
			return Transition[V, T]{Op: OpMove, ID: t.ID, Pos: back}, nil
		}
		// The item has left the list, so nothing of the list writes its value again; the
		// insert stores a Clone of it.
		return Transition[V, T]{Op: OpInsert, ID: t.ID, Pos: back, Value: it.value}, nil
	case OpUpdate:
		return l.updateInverse(ev)
	case OpRespace:
		return Transition[V, T]{}, fmt.Errorf("aper/list: a respace: %w", aper.ErrNoInverse)
	default:
		return Transition[V, T]{}, l.Apply(ev) // its Invalid
	}
}

// wasAt returns the position of the item at index k, anchored to its neighbour: after the
// item before it, or before the item after it if it is the first, with k as the fallback.
func (l *List[V, T]) wasAt(k ZenoIndex) ListPosition {
	if prev, ok := l.items.Below(item[V]{key: k}); ok {
		return After(prev.id, k)
	}
	if next, ok := l.items.Above(item[V]{key: k}); ok {
		return Before(next.id, k)
	}
	return At(k)
}

// updateInverse is ApplyInverse for an update: Apply's update with the value's ApplyInverse in
// place of its Apply.
func (l *List[V, T]) updateInverse(ev aper.Event[Transition[V, T]]) (Transition[V, T], error) {
	t := &ev.Transition
	k, ok := l.KeyOf(t.ID)
	if !ok {
		return Transition[V, T]{}, notFound(t.ID)
	}
	it, _ := l.items.Get(item[V]{key: k})
	if _, ok := any(it.value).(aper.Inverter[T]); !ok {
		return Transition[V, T]{}, fmt.Errorf("aper/list: an update of a %T: %w", it.value, aper.ErrNoInverse)
	}
	l.writing()
	l.init()
	it, _ = l.items.Get(item[V]{key: k}) // again: writing may have renewed the tokens
	owner := l.owner.Get()
	v, cloned := cow.Writable(it.value, it.owner, owner)
	inner := aper.Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t.Inner}
	inv, err := any(v).(aper.Inverter[T]).ApplyInverse(inner)
	if err != nil {
		return Transition[V, T]{}, conflict.WithPath(err, t.ID.String())
	}
	if cloned {
		it.value, it.owner = v, owner
		l.items.Set(it)
	}
	return Transition[V, T]{Op: OpUpdate, ID: t.ID, Inner: inv}, nil
}

var _ aper.Inverter[Transition[*aper.Counter, aper.CounterTransition]] = (*List[*aper.Counter, aper.CounterTransition])(nil)
