package tree

import (
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
)

// Node is one node below the top of a subtree that an [OpRestore] puts back: its id, its
// parent's (the subtree's top or another of its nodes), its index among its siblings, and its
// state machine.
type Node[V any] struct {
	ID     uuid.UUID      `json:"id" cbor:"1,keyasint"`
	Parent uuid.UUID      `json:"parent" cbor:"2,keyasint"`
	Index  list.ZenoIndex `json:"index" cbor:"3,keyasint"`
	Value  V              `json:"value" cbor:"4,keyasint"`
}

// ApplyInverse applies ev as [Tree.Apply] does (the same result and errors, nothing changed on
// an error) and returns the transition that undoes it (see [aper.Inverter]):
//
//   - an insert: the delete of the new node;
//   - a move: the move back under the old parent, after the sibling that was before the node
//     (before the one after it, if it was the first), falling back to its old index. Applied
//     after others moved the old parent under the node, it is a Cycle conflict;
//   - a delete: the insert of the node back where it was (anchored as a move back is), or, for a
//     node with descendants, an [OpRestore] of the whole subtree, the descendants at their old
//     indexes. It conflicts (NotFound) if the old parent is gone, and (Duplicate) if a node of
//     the subtree is back already;
//   - an update: the update by the inverse of the node's own transition; the nodes' state
//     machine must be an [aper.Inverter], else the update is not applied and the error wraps
//     [aper.ErrNoInverse];
//   - a restore: the delete of the subtree's top.
//
// It costs what Apply costs, plus O(log n) to find the node's sibling, plus O(k log n) to
// collect a deleted subtree of k nodes.
func (t *Tree[V, T]) ApplyInverse(ev aper.Event[Transition[V, T]]) (Transition[V, T], error) {
	tr := &ev.Transition
	if tr.Op == OpUpdate && cow.IsNil(tr.Value) && len(tr.Subtree) == 0 {
		return t.updateInverse(ev)
	}
	n, had := t.lookup(tr.ID)
	var back list.ListPosition
	var top kid[V]
	var below []Node[V]
	if had && (tr.Op == OpMove || tr.Op == OpDelete) {
		back = t.wasAt(n.parent, n.key)
		top, _ = t.kids.Get(kid[V]{parent: n.parent, key: n.key})
		if tr.Op == OpDelete {
			below = t.subtree(n.id)
		}
	}
	if err := t.Apply(ev); err != nil {
		return Transition[V, T]{}, err
	}
	switch tr.Op {
	case OpInsert, OpRestore:
		return Transition[V, T]{Op: OpDelete, ID: tr.ID}, nil
	case OpMove:
		return Transition[V, T]{Op: OpMove, ID: tr.ID, Parent: n.parent, Pos: back}, nil
	default: // OpDelete: Apply refuses every other operation
		// The values have left the tree, so nothing of the tree writes them again; an insert
		// or a restore stores Clones of them.
		inv := Transition[V, T]{Op: OpInsert, ID: tr.ID, Parent: n.parent, Pos: back, Value: top.value}
		if len(below) > 0 {
			inv.Op, inv.Subtree = OpRestore, below
		}
		return inv, nil
	}
}

// wasAt returns the position of parent's child at index k, anchored to its sibling before it,
// or after it if it is the first, with k as the fallback.
func (t *Tree[V, T]) wasAt(parent uuid.UUID, k list.ZenoIndex) list.ListPosition {
	if b := t.below(parent, k); !b.IsZero() {
		prev, _ := t.kids.Get(kid[V]{parent: parent, key: b})
		return list.After(prev.id, k)
	}
	if a := t.above(parent, k); !a.IsZero() {
		next, _ := t.kids.Get(kid[V]{parent: parent, key: a})
		return list.Before(next.id, k)
	}
	return list.At(k)
}

// subtree returns the nodes below top, each after its parent.
func (t *Tree[V, T]) subtree(top uuid.UUID) []Node[V] {
	var out []Node[V]
	walk(t.kids, top, func(k kid[V], _ int) bool {
		out = append(out, Node[V]{ID: k.id, Parent: k.parent, Index: k.key, Value: k.value})
		return true
	})
	return out
}

// restore applies an OpRestore: the top as an insert would, then the nodes of Subtree at their
// indexes. Everything is checked before anything changes.
func (t *Tree[V, T]) restore(tr *Transition[V, T]) error {
	if tr.ID == uuid.Nil {
		return conflict.New(conflict.Invalid, "tree: restore with the nil id, which is the root's")
	}
	if cow.IsNil(tr.Value) {
		return nodeConflict(conflict.Invalid, "tree: restore with a nil value", tr.ID)
	}
	if t.Has(tr.ID) {
		return nodeConflict(conflict.Duplicate, "tree: the id is already in the tree", tr.ID)
	}
	if !t.Has(tr.Parent) {
		return nodeConflict(conflict.NotFound, "tree: no such parent", tr.Parent)
	}
	type place struct {
		parent uuid.UUID
		key    string
	}
	in := make(map[uuid.UUID]bool, len(tr.Subtree)+1)
	in[tr.ID] = true
	taken := make(map[place]bool, len(tr.Subtree))
	for _, d := range tr.Subtree {
		switch {
		case d.ID == uuid.Nil:
			return nodeConflict(conflict.Invalid, "tree: restore of a node with the nil id", tr.ID)
		case in[d.ID]:
			return nodeConflict(conflict.Invalid, "tree: restore of a node twice", d.ID)
		case t.Has(d.ID):
			return nodeConflict(conflict.Duplicate, "tree: the id is already in the tree", d.ID)
		case !in[d.Parent]:
			return nodeConflict(conflict.Invalid, "tree: restore of a node whose parent is not restored before it", d.ID)
		case d.Index.IsZero() || d.Index.Len() > list.MaxIndexLen:
			return nodeConflict(conflict.Invalid, "tree: restore of a node with no index or one too long", d.ID)
		case cow.IsNil(d.Value):
			return nodeConflict(conflict.Invalid, "tree: restore of a node with a nil value", d.ID)
		case taken[place{d.Parent, d.Index.String()}]:
			return nodeConflict(conflict.Invalid, "tree: restore of two siblings with one index", d.ID)
		}
		in[d.ID] = true
		taken[place{d.Parent, d.Index.String()}] = true
	}
	if err := t.insert(&Transition[V, T]{Op: OpInsert, ID: tr.ID, Parent: tr.Parent, Pos: tr.Pos, Value: tr.Value}); err != nil {
		return err
	}
	owner := t.owner.Get()
	for _, d := range tr.Subtree {
		t.kids.Set(kid[V]{parent: d.Parent, key: d.Index, id: d.ID, value: d.Value.Clone(), owner: owner})
		t.nodes.Set(node{id: d.ID, parent: d.Parent, key: d.Index})
	}
	return nil
}

// updateInverse is ApplyInverse for an update: Apply's update with the value's ApplyInverse in
// place of its Apply.
func (t *Tree[V, T]) updateInverse(ev aper.Event[Transition[V, T]]) (Transition[V, T], error) {
	tr := &ev.Transition
	n, ok := t.lookup(tr.ID)
	if !ok {
		return Transition[V, T]{}, t.Apply(ev) // its Invalid or NotFound
	}
	k, _ := t.kids.Get(kid[V]{parent: n.parent, key: n.key})
	if _, ok := any(k.value).(aper.Inverter[T]); !ok {
		return Transition[V, T]{}, fmt.Errorf("aper/tree: an update of a %T: %w", k.value, aper.ErrNoInverse)
	}
	owner := t.owner.Get()
	v, cloned := cow.Writable(k.value, k.owner, owner)
	inner := aper.Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: tr.Inner}
	inv, err := any(v).(aper.Inverter[T]).ApplyInverse(inner)
	if err != nil {
		return Transition[V, T]{}, conflict.WithPath(err, tr.ID.String())
	}
	if cloned {
		k.value, k.owner = v, owner
		t.kids.Set(k)
	}
	return Transition[V, T]{Op: OpUpdate, ID: tr.ID, Inner: inv}, nil
}

var _ aper.Inverter[Transition[*aper.Counter, aper.CounterTransition]] = (*Tree[*aper.Counter, aper.CounterTransition])(nil)
