package pool

import (
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
)

// ApplyInverse applies ev as [Board.Apply] does (the same result and errors, nothing changed on
// an error) and returns the transition that undoes it (see [aper.Inverter]):
//
//   - a create: the delete of the object;
//   - a delete: the create of the same id and value back in its list, after the object that was
//     before it (before the one after it, if it was the first), falling back to its old index;
//   - a move: the move back to its old list, anchored the same way;
//   - an update: the update by the inverse of the object's own transition; the objects' state
//     machine must be an [aper.Inverter], else the update is not applied and the error wraps
//     [aper.ErrNoInverse];
//   - an add list: the remove of the list (which conflicts, NotEmpty, if objects were put in it
//     since); a rename: the rename back; a move list: the move back; a remove of an empty list:
//     the add of the same list back where it was;
//   - the remove of a list whose objects move to another list has no single inverse: nothing is
//     applied and the error wraps [aper.ErrNoInverse].
//
// It costs what Apply costs plus O(log n); an update applies the object's transition twice, once
// to a Clone of the object for its inverse.
func (b *Board[V, T]) ApplyInverse(ev aper.Event[Transition[V, T]]) (Transition[V, T], error) {
	t := &ev.Transition
	var inv Transition[V, T]
	switch t.Op {
	case OpCreate:
		inv = Transition[V, T]{Op: OpDelete, ID: t.ID}
	case OpDelete, OpMove:
		l, ok := b.ListOf(t.ID)
		if !ok {
			break // Apply's NotFound
		}
		c, _ := b.column(l)
		s, _ := c.items.Get(t.ID)
		k, _ := c.items.KeyOf(t.ID)
		inv = Transition[V, T]{Op: OpMove, ID: t.ID, List: l, Pos: wasAt(c.items, t.ID, k)}
		if t.Op == OpDelete {
			// The object leaves the board, so nothing of the board writes its value again;
			// a create stores a Clone of it.
			inv.Op, inv.Value = OpCreate, s.v
		}
	case OpUpdate:
		v, ok := b.Get(t.ID)
		if !ok {
			break // Apply's NotFound
		}
		if _, ok := any(v).(aper.Inverter[T]); !ok {
			return Transition[V, T]{}, fmt.Errorf("aper/pool: an update of a %T: %w", v, aper.ErrNoInverse)
		}
		inner, err := any(v.Clone()).(aper.Inverter[T]).ApplyInverse(aper.Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t.Inner})
		if err != nil {
			break // Apply's conflict, with its path
		}
		inv = Transition[V, T]{Op: OpUpdate, ID: t.ID, Inner: inner}
	case OpAddList:
		inv = Transition[V, T]{Op: OpRemoveList, List: t.List}
	case OpRenameList:
		if name, ok := b.ListName(t.List); ok {
			inv = Transition[V, T]{Op: OpRenameList, List: t.List, Name: name}
		}
	case OpMoveList, OpRemoveList:
		c, ok := b.column(t.List)
		if !ok {
			break // Apply's NotFound
		}
		if t.Op == OpRemoveList && c.items.Len() > 0 && t.Into != uuid.Nil {
			return Transition[V, T]{}, fmt.Errorf("aper/pool: the remove of a list with objects: %w", aper.ErrNoInverse)
		}
		k, _ := b.cols.KeyOf(t.List)
		inv = Transition[V, T]{Op: OpMoveList, List: t.List, Pos: wasAt(b.cols, t.List, k)}
		if t.Op == OpRemoveList {
			inv.Op, inv.Name = OpAddList, c.name
		}
	}
	if err := b.Apply(ev); err != nil {
		return Transition[V, T]{}, err
	}
	return inv, nil
}

// wasAt returns the position of item id, at index k, anchored to the item before it, or after
// it if it is the first, with k as the fallback.
func wasAt[V aper.StateMachine[V, U], U any](l *list.List[V, U], id uuid.UUID, k list.ZenoIndex) list.ListPosition {
	i, _ := l.IndexOf(id)
	if prev, _, ok := l.At(i - 1); ok {
		return list.After(prev, k)
	}
	if next, _, ok := l.At(i + 1); ok {
		return list.Before(next, k)
	}
	return list.At(k)
}

var _ aper.Inverter[Transition[*aper.Counter, aper.CounterTransition]] = (*Board[*aper.Counter, aper.CounterTransition])(nil)
