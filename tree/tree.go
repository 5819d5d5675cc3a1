package tree

import (
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/tidwall/btree"
)

// Root is the id of the fixed root of every tree: the nil UUID. The root holds no value and
// cannot be moved, updated or deleted; nodes inserted under it are the tree's top level.
var Root = uuid.Nil

// Tree is a tree of state machines: one pool of nodes, each with a UUID id, a value, the id of
// its parent and a [list.ZenoIndex] that orders it among its siblings. Transitions insert a node
// under a parent at a [list.ListPosition], move a node with its subtree to any parent and
// position, delete a node with its subtree, or apply a transition to one node's value. A move
// that would make a node its own ancestor is a Cycle conflict, so every node always has exactly
// one path to [Root]. Its zero value is an empty tree ready to use.
//
// V is the nodes' state machine type (usually a pointer, such as *aper.Counter) and T its
// transition type; Go cannot infer T from V, so both are type parameters.
//
// The tree is two copy-on-write B-trees (github.com/tidwall/btree): the nodes ordered by
// (parent id, index), which keeps each parent's children together and in order and holds the
// values, and the ids mapped to their parent and index. Insert, Move, Update, Get and Parent
// cost O(log n), plus O(depth · log n) for the cycle check of a move; Children costs
// O(log n) to start and O(1) amortized per child; deleting a subtree of k nodes costs
// O(k · log n). Clone is O(1): the copies share their nodes, the first write after a Clone
// copies only the O(log n) B-tree nodes on its path, and a node's value is cloned only when a
// transition first changes it.
//
// Values returned by Get, Children and All are shared with the tree: read them, do not apply
// transitions to them directly. A Tree is not safe for concurrent use; Clone counts as a write.
type Tree[V aper.StateMachine[V, T], T any] struct {
	kids  *btree.BTreeG[kid[V]] // every node, ordered by (parent, key)
	nodes *btree.BTreeG[node]   // every node, ordered by id
	owner cow.Token             // values stamped with its Owner were cloned by this tree after its last Clone
}

// kid is a node in the children index. A pivot with last set sorts after every child of parent.
type kid[V any] struct {
	parent uuid.UUID
	key    list.ZenoIndex
	last   bool
	id     uuid.UUID
	value  V
	owner  cow.Owner
}

// node maps an id to its place in the children index.
type node struct {
	id     uuid.UUID
	parent uuid.UUID
	key    list.ZenoIndex
}

func lessUUID(a, b uuid.UUID) bool {
	ah, bh := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if ah != bh {
		return ah < bh
	}
	return binary.BigEndian.Uint64(a[8:]) < binary.BigEndian.Uint64(b[8:])
}

func lessKid[V any](a, b kid[V]) bool {
	if a.parent != b.parent {
		return lessUUID(a.parent, b.parent)
	}
	if a.last != b.last {
		return b.last
	}
	return a.key.Less(b.key)
}

func lessNode(a, b node) bool { return lessUUID(a.id, b.id) }

// Op says what a [Transition] does.
type Op uint8

// The tree operations.
const (
	OpInsert  Op = iota + 1 // insert Value as node ID under Parent at Pos
	OpMove                  // move node ID, with its subtree, under Parent at Pos
	OpDelete                // delete node ID and its subtree
	OpUpdate                // apply Inner to node ID's state machine
	OpRestore               // insert Value as node ID under Parent at Pos, and Subtree below it
)

// String returns the operation's name.
func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpMove:
		return "move"
	case OpDelete:
		return "delete"
	case OpUpdate:
		return "update"
	case OpRestore:
		return "restore"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Transition changes one node of a [Tree] (and, for a move or a delete, its subtree). Build it
// with the Tree's constructor methods (Append, InsertAfter, Move, MoveTo, Delete, Update, ...).
// Each field says which operations read it; leave the others zero (a Value on any operation but
// an insert is an Invalid conflict).
type Transition[V any, T any] struct {
	// Op says what the transition does.
	Op Op `json:"op" cbor:"1,keyasint"`
	// ID is the node the transition is about: for an insert the new node's id, chosen by the
	// client (uuid.New in the constructors) so that every replica gives the node the same id;
	// for a move, delete or update an existing node. The nil UUID ([Root]) is an Invalid
	// conflict.
	ID uuid.UUID `json:"id" cbor:"2,keyasint"`
	// Parent is, for an insert or a move, the node to put ID under: the nil UUID ([Root]) for
	// the top level.
	Parent uuid.UUID `json:"parent,omitzero" cbor:"3,keyasint,omitzero"`
	// Pos is, for an insert or a move, where ID goes among Parent's children, resolved as in
	// package list: anchored to a sibling (Before, After), which falls back to the captured index
	// when that sibling is no longer a child of Parent, or at an index, the beginning or the end.
	Pos list.ListPosition `json:"pos,omitzero" cbor:"4,keyasint,omitzero"`
	// Value is, for an insert only, the new node's state machine. Apply stores a Clone of it,
	// so the same transition may be applied to several replicas. It must not be nil.
	Value V `json:"value,omitzero" cbor:"5,keyasint,omitzero"`
	// Inner is, for an update only, the transition applied to ID's state machine.
	Inner T `json:"inner,omitzero" cbor:"6,keyasint,omitzero"`
	// Subtree is, for a restore only (the inverse of a delete: see [Tree.ApplyInverse]), the
	// nodes below ID, each after its parent, at their indexes.
	Subtree []Node[V] `json:"subtree,omitempty" cbor:"7,keyasint,omitempty"`
}

// New returns an empty tree.
func New[V aper.StateMachine[V, T], T any]() *Tree[V, T] {
	return &Tree[V, T]{}
}

func (t *Tree[V, T]) init() {
	if t.kids == nil {
		// The trees' own locks make Copy safe on a tree that replicas owned by different
		// goroutines share (a Tree nested in another container), as in aper.Map.
		t.kids = btree.NewBTreeG(lessKid[V])
		t.nodes = btree.NewBTreeG(lessNode)
	}
}

// Len returns the number of nodes, not counting the root.
func (t *Tree[V, T]) Len() int {
	if t.nodes == nil {
		return 0
	}
	return t.nodes.Len()
}

func (t *Tree[V, T]) lookup(id uuid.UUID) (node, bool) {
	if t.nodes == nil || id == uuid.Nil {
		return node{}, false
	}
	return t.nodes.Get(node{id: id})
}

// Has reports whether id is the root or a node of the tree: whether a node can be inserted or
// moved under it.
func (t *Tree[V, T]) Has(id uuid.UUID) bool {
	if id == uuid.Nil {
		return true
	}
	_, ok := t.lookup(id)
	return ok
}

// Get returns the state machine of node id. The root has none.
func (t *Tree[V, T]) Get(id uuid.UUID) (V, bool) {
	n, ok := t.lookup(id)
	if !ok {
		var zero V
		return zero, false
	}
	k, _ := t.kids.Get(kid[V]{parent: n.parent, key: n.key})
	return k.value, true
}

// Parent returns the id of node id's parent ([Root] for the top level), or false for the root
// and for an id that is not in the tree.
func (t *Tree[V, T]) Parent(id uuid.UUID) (uuid.UUID, bool) {
	n, ok := t.lookup(id)
	return n.parent, ok
}

// KeyOf returns the index that orders node id among its siblings.
func (t *Tree[V, T]) KeyOf(id uuid.UUID) (list.ZenoIndex, bool) {
	n, ok := t.lookup(id)
	return n.key, ok
}

// Children yields the children of id (the root or a node) with their state machines, in order.
// It yields nothing for an id that is not in the tree. Starting costs O(log n); each child
// after that O(1) amortized.
//
// It iterates over the children as they are when the loop starts, and holds no lock of the tree
// while the loop body runs, so the body may Apply transitions to the tree, or Clone it: the loop
// still yields exactly the children that id had when it started, each once, in their order
// then, including those the body has since moved or deleted. A value yielded after the body
// changed that node may be its old state or its new one. Up to 16 children are copied out
// first, at no cost to later writes; for more, the loop iterates over a snapshot of the tree
// (an O(1) copy, as for Clone), after which the tree's next writes copy the B-tree nodes on
// their paths, as the first writes after a Clone do.
func (t *Tree[V, T]) Children(id uuid.UUID) iter.Seq2[uuid.UUID, V] {
	return func(yield func(uuid.UUID, V) bool) {
		if t.kids == nil {
			return
		}
		var few [16]kid[V]
		n, more := 0, false
		t.kids.Ascend(kid[V]{parent: id}, func(k kid[V]) bool {
			if k.parent != id {
				return false
			}
			if n == len(few) {
				more = true
				return false
			}
			few[n] = k
			n++
			return true
		})
		if !more {
			for _, k := range few[:n] {
				if !yield(k.id, k.value) {
					return
				}
			}
			return
		}
		// The snapshot is the iterator's alone, so holding its read lock while yielding blocks
		// nobody: the body's writes and Clones lock t.kids, and never change the shared nodes.
		t.snapshot().Ascend(kid[V]{parent: id}, func(k kid[V]) bool {
			return k.parent == id && yield(k.id, k.value)
		})
	}
}

// rank returns the number of nodes that sort below pivot in the children index: a binary search
// over positions, O(log² n).
func (t *Tree[V, T]) rank(pivot kid[V]) int {
	lo, hi := 0, t.kids.Len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, _ := t.kids.GetAt(mid)
		if lessKid(k, pivot) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// NumChildren returns the number of children of id. It costs O(log² n), whatever their number.
func (t *Tree[V, T]) NumChildren(id uuid.UUID) int {
	if t.kids == nil {
		return 0
	}
	return t.rank(kid[V]{parent: id, last: true}) - t.rank(kid[V]{parent: id})
}

// ChildAt returns the id and state machine of the child of parent at position i (0 is the
// first), or false if i is out of range. It costs O(log² n).
func (t *Tree[V, T]) ChildAt(parent uuid.UUID, i int) (uuid.UUID, V, bool) {
	k, ok := t.childAt(parent, i)
	return k.id, k.value, ok
}

func (t *Tree[V, T]) childAt(parent uuid.UUID, i int) (kid[V], bool) {
	if t.kids == nil || i < 0 {
		return kid[V]{}, false
	}
	k, ok := t.kids.GetAt(t.rank(kid[V]{parent: parent}) + i)
	if !ok || k.parent != parent {
		return kid[V]{}, false
	}
	return k, true
}

// IndexOf returns the position of node id among its siblings (0 is the first). It costs
// O(log² n).
func (t *Tree[V, T]) IndexOf(id uuid.UUID) (int, bool) {
	n, ok := t.lookup(id)
	if !ok {
		return -1, false
	}
	return t.rank(kid[V]{parent: n.parent, key: n.key}) - t.rank(kid[V]{parent: n.parent}), true
}

// Path returns the ids on the way from the root down to id: the top-level ancestor first and id
// itself last (the root is left out, so the path of a top-level node is just its id, and the
// path of the root is empty). It returns false for an id that is not in the tree. It costs
// O(depth · log n).
func (t *Tree[V, T]) Path(id uuid.UUID) ([]uuid.UUID, bool) {
	if id == uuid.Nil {
		return nil, true
	}
	var path []uuid.UUID
	for id != uuid.Nil {
		n, ok := t.lookup(id)
		if !ok {
			return nil, false
		}
		path = append(path, id)
		id = n.parent
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, true
}

// Depth returns the number of edges between the root and id: 0 for the root, 1 for the top
// level. It returns false for an id that is not in the tree. It costs O(depth · log n).
func (t *Tree[V, T]) Depth(id uuid.UUID) (int, bool) {
	d := 0
	for id != uuid.Nil {
		n, ok := t.lookup(id)
		if !ok {
			return 0, false
		}
		d++
		id = n.parent
	}
	return d, true
}

// next returns the first child of parent in kids whose key is above after (the first child, for
// a zero after). It holds the B-tree's read lock only while it searches.
func next[V any](kids *btree.BTreeG[kid[V]], parent uuid.UUID, after list.ZenoIndex) (kid[V], bool) {
	var out kid[V]
	found := false
	kids.Ascend(kid[V]{parent: parent, key: after}, func(k kid[V]) bool {
		if k.parent != parent {
			return false
		}
		if !after.IsZero() && k.key == after {
			return true
		}
		out, found = k, true
		return false
	})
	return out, found
}

// walk yields the subtree of kids below from in depth-first pre-order, with each node's depth
// below from (1 for its children). It keeps an explicit stack, so a deep tree costs no deep
// recursion, and it holds no lock of the B-tree while yielding. kids must not change during the
// walk: the iterators pass a snapshot.
func walk[V any](kids *btree.BTreeG[kid[V]], from uuid.UUID, yield func(kid[V], int) bool) {
	type frame struct {
		parent uuid.UUID
		after  list.ZenoIndex
	}
	stack := []frame{{parent: from}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		k, ok := next(kids, f.parent, f.after)
		if !ok {
			stack = stack[:len(stack)-1]
			continue
		}
		f.after = k.key
		if !yield(k, len(stack)) {
			return
		}
		stack = append(stack, frame{parent: k.id})
	}
}

// snapshot returns an O(1) copy of the children index for an iterator to walk while its loop
// body changes the tree, or nil for a tree never written.
func (t *Tree[V, T]) snapshot() *btree.BTreeG[kid[V]] {
	if t.kids == nil {
		return nil
	}
	return t.kids.Copy()
}

// Walk yields the nodes below from (the root or a node; from itself is left out) in depth-first
// pre-order: each node before its children, siblings in order. With each id it yields the
// node's depth below from, 1 for from's children. It yields nothing for an id that is not in the
// tree. Each step costs O(log n).
//
// Like [Tree.Children], it walks a snapshot taken when the loop starts: the loop body may Apply
// transitions to the tree or Clone it, and the loop still yields the subtree as it was then,
// each node once (a node the body inserts is not yielded; one it deletes or moves still is,
// where it was).
func (t *Tree[V, T]) Walk(from uuid.UUID) iter.Seq2[uuid.UUID, int] {
	return func(yield func(uuid.UUID, int) bool) {
		if kids := t.snapshot(); kids != nil {
			walk(kids, from, func(k kid[V], depth int) bool { return yield(k.id, depth) })
		}
	}
}

// All yields every node and its state machine in depth-first pre-order from the root. It walks a
// snapshot as [Tree.Walk] does: the loop body may change the tree or Clone it, and a value
// yielded after the body changed that node may be its old state or its new one.
func (t *Tree[V, T]) All() iter.Seq2[uuid.UUID, V] {
	return func(yield func(uuid.UUID, V) bool) {
		if kids := t.snapshot(); kids != nil {
			walk(kids, uuid.Nil, func(k kid[V], _ int) bool { return yield(k.id, k.value) })
		}
	}
}

// below returns the greatest key of parent's children below k, or the zero ZenoIndex.
func (t *Tree[V, T]) below(parent uuid.UUID, k list.ZenoIndex) list.ZenoIndex {
	var out list.ZenoIndex
	t.kids.Descend(kid[V]{parent: parent, key: k}, func(c kid[V]) bool {
		if c.parent != parent {
			return false
		}
		if c.key == k {
			return true
		}
		out = c.key
		return false
	})
	return out
}

// above returns the least key of parent's children above k, or the zero ZenoIndex.
func (t *Tree[V, T]) above(parent uuid.UUID, k list.ZenoIndex) list.ZenoIndex {
	var out list.ZenoIndex
	t.kids.Ascend(kid[V]{parent: parent, key: k}, func(c kid[V]) bool {
		if c.parent != parent {
			return false
		}
		if c.key == k {
			return true
		}
		out = c.key
		return false
	})
	return out
}

// first and last return the least and greatest keys of parent's children, or the zero
// ZenoIndex.
func (t *Tree[V, T]) first(parent uuid.UUID) list.ZenoIndex {
	return t.above(parent, list.ZenoIndex{})
}

func (t *Tree[V, T]) last(parent uuid.UUID) list.ZenoIndex {
	var out list.ZenoIndex
	t.kids.Descend(kid[V]{parent: parent, last: true}, func(c kid[V]) bool {
		if c.parent == parent {
			out = c.key
		}
		return false
	})
	return out
}

// PositionBefore returns the parent of node sibling and the position just before it, with the
// index it would get now as the fallback (and, when that index would be too long, a respace of
// the crowded siblings around it: see list.PositionAt). For an id that is not in the tree it
// returns the root and a position with no fallback, which conflicts when applied.
func (t *Tree[V, T]) PositionBefore(sibling uuid.UUID) (uuid.UUID, list.ListPosition) {
	n, ok := t.lookup(sibling)
	if !ok {
		return uuid.Nil, list.Before(sibling, list.ZenoIndex{})
	}
	return n.parent, list.PositionBefore(t.children(n.parent), sibling)
}

// PositionAfter returns the parent of node sibling and the position just after it, with the
// index it would get now as the fallback (and a respace when that index would be too long, as
// for PositionBefore). For an id that is not in the tree it returns the root and a position with
// no fallback, which conflicts when applied.
func (t *Tree[V, T]) PositionAfter(sibling uuid.UUID) (uuid.UUID, list.ListPosition) {
	n, ok := t.lookup(sibling)
	if !ok {
		return uuid.Nil, list.After(sibling, list.ZenoIndex{})
	}
	return n.parent, list.PositionAfter(t.children(n.parent), sibling)
}

// PositionAt returns the position where a new child of parent ends up at position i (0 is the
// first; i is clamped to [0, NumChildren]): after the child now at i-1 (before the first child
// for i = 0), with the index between the current neighbours as the fallback, and a respace of
// the crowded siblings around it when that index would be too long (see list.PositionAt).
func (t *Tree[V, T]) PositionAt(parent uuid.UUID, i int) list.ListPosition {
	return list.PositionAt(t.children(parent), i)
}

// Insert returns a new id and the transition that inserts v with that id under parent at pos.
// It does not change t. If pos would now resolve to an index that is too long, the transition's
// position carries a respace of the crowded siblings (list.WithRespace). Apply stores a Clone of v, so the transition may be applied to several
// replicas.
func (t *Tree[V, T]) Insert(parent uuid.UUID, pos list.ListPosition, v V) (uuid.UUID, Transition[V, T]) {
	id := uuid.New()
	return id, Transition[V, T]{Op: OpInsert, ID: id, Parent: parent, Pos: list.WithRespace(t.children(parent), pos), Value: v}
}

// Append returns a new id and the transition that inserts v as the last child of parent (the
// last when it is applied). It does not change t.
func (t *Tree[V, T]) Append(parent uuid.UUID, v V) (uuid.UUID, Transition[V, T]) {
	return t.Insert(parent, list.End(), v)
}

// Prepend returns a new id and the transition that inserts v as the first child of parent (the
// first when it is applied). It does not change t.
func (t *Tree[V, T]) Prepend(parent uuid.UUID, v V) (uuid.UUID, Transition[V, T]) {
	return t.Insert(parent, list.Beginning(), v)
}

// InsertBefore returns a new id and the transition that inserts v just before node sibling,
// under its parent (see [Tree.PositionBefore]). It does not change t.
func (t *Tree[V, T]) InsertBefore(sibling uuid.UUID, v V) (uuid.UUID, Transition[V, T]) {
	parent, pos := t.PositionBefore(sibling)
	return t.Insert(parent, pos, v)
}

// InsertAfter returns a new id and the transition that inserts v just after node sibling, under
// its parent (see [Tree.PositionAfter]). It does not change t.
func (t *Tree[V, T]) InsertAfter(sibling uuid.UUID, v V) (uuid.UUID, Transition[V, T]) {
	parent, pos := t.PositionAfter(sibling)
	return t.Insert(parent, pos, v)
}

// InsertAt returns a new id and the transition that inserts v so that it ends up as child i of
// parent (see [Tree.PositionAt]). It does not change t.
func (t *Tree[V, T]) InsertAt(parent uuid.UUID, i int, v V) (uuid.UUID, Transition[V, T]) {
	return t.Insert(parent, t.PositionAt(parent, i), v)
}

// Move returns the transition that moves node id, with its subtree, under parent at pos. It
// does not change t. The position is resolved among parent's children without the moved node;
// it carries a respace when it would resolve to an index that is too long (as for Insert).
func (t *Tree[V, T]) Move(id, parent uuid.UUID, pos list.ListPosition) Transition[V, T] {
	return Transition[V, T]{Op: OpMove, ID: id, Parent: parent, Pos: list.WithRespace(list.Without(t.children(parent), id), pos)}
}

// MoveBefore returns the transition that moves node id just before node sibling, under
// sibling's parent. It does not change t.
func (t *Tree[V, T]) MoveBefore(id, sibling uuid.UUID) Transition[V, T] {
	parent, pos := t.PositionBefore(sibling)
	return t.Move(id, parent, pos)
}

// MoveAfter returns the transition that moves node id just after node sibling, under sibling's
// parent. It does not change t.
func (t *Tree[V, T]) MoveAfter(id, sibling uuid.UUID) Transition[V, T] {
	parent, pos := t.PositionAfter(sibling)
	return t.Move(id, parent, pos)
}

// MoveTo returns the transition that moves node id so that it ends up as child i of parent
// (clamped to parent's children without id), anchored to its neighbours there. It does not
// change t.
func (t *Tree[V, T]) MoveTo(id, parent uuid.UUID, i int) Transition[V, T] {
	return Transition[V, T]{Op: OpMove, ID: id, Parent: parent, Pos: list.PositionAt(list.Without(t.children(parent), id), i)}
}

// Delete returns the transition that deletes node id and its whole subtree. It does not change
// t.
func (t *Tree[V, T]) Delete(id uuid.UUID) Transition[V, T] {
	return Transition[V, T]{Op: OpDelete, ID: id}
}

// Update returns the transition that applies tr to the state machine of node id. It does not
// change t.
func (t *Tree[V, T]) Update(id uuid.UUID, tr T) Transition[V, T] {
	return Transition[V, T]{Op: OpUpdate, ID: id, Inner: tr}
}

// Apply inserts, moves, deletes or updates. Conflicts, each leaving the tree unchanged:
//
//   - Cycle: a move of a node under itself or under one of its descendants. The path names the
//     moved node.
//   - Duplicate: an insert whose id is already in the tree.
//   - NotFound: a move, delete or update of an id not in the tree; an insert or move under a
//     parent not in the tree; a position anchored (Before, After) to a node that is not a child
//     of the parent, with no fallback index. The path names the missing id.
//   - Invalid: an unknown operation or position kind; an insert with the nil id or a nil value;
//     a value on another operation; a move, delete or update of the root; a position At with no
//     index.
//   - Any conflict of the node's own state machine, with the node's id put in front of its path.
//
// A restore ([OpRestore], the inverse of a delete: see [Tree.ApplyInverse]) conflicts as an
// insert does, Duplicate for a node of its subtree already in the tree, and Invalid for a
// subtree that is malformed (a node whose parent is not restored before it, a repeated id, two
// siblings with one index, a missing index or value); a subtree on any other operation is
// Invalid.
//
// A position anchored to a node that is not (or no longer) a child of the target parent falls
// back to its captured index, as in package list.
func (t *Tree[V, T]) Apply(ev aper.Event[Transition[V, T]]) error {
	tr := &ev.Transition
	if tr.Op != OpInsert && tr.Op != OpRestore && !cow.IsNil(tr.Value) {
		return nodeConflict(conflict.Invalid, fmt.Sprintf("tree: %s carries a value", tr.Op), tr.ID)
	}
	if tr.Op != OpRestore && len(tr.Subtree) > 0 {
		return nodeConflict(conflict.Invalid, fmt.Sprintf("tree: %s carries a subtree", tr.Op), tr.ID)
	}
	switch tr.Op {
	case OpInsert:
		return t.insert(tr)
	case OpMove:
		return t.move(tr)
	case OpDelete:
		return t.delete(tr.ID)
	case OpUpdate:
		return t.update(ev)
	case OpRestore:
		return t.restore(tr)
	default:
		return conflict.New(conflict.Invalid, fmt.Sprintf("tree: unknown operation %d", tr.Op))
	}
}

func (t *Tree[V, T]) insert(tr *Transition[V, T]) error {
	if tr.ID == uuid.Nil {
		return conflict.New(conflict.Invalid, "tree: insert with the nil id, which is the root's")
	}
	if cow.IsNil(tr.Value) {
		return nodeConflict(conflict.Invalid, "tree: insert with a nil value", tr.ID)
	}
	if _, ok := t.lookup(tr.ID); ok {
		return nodeConflict(conflict.Duplicate, "tree: the id is already in the tree", tr.ID)
	}
	if !t.Has(tr.Parent) {
		return nodeConflict(conflict.NotFound, "tree: no such parent", tr.Parent)
	}
	t.init()
	key, err := t.resolve(tr.Parent, tr.Pos)
	if err != nil {
		return err
	}
	t.kids.Set(kid[V]{parent: tr.Parent, key: key, id: tr.ID, value: tr.Value.Clone(), owner: t.owner.Get()})
	t.nodes.Set(node{id: tr.ID, parent: tr.Parent, key: key})
	return nil
}

func (t *Tree[V, T]) move(tr *Transition[V, T]) error {
	if tr.ID == uuid.Nil {
		return conflict.New(conflict.Invalid, "tree: the root cannot be moved")
	}
	n, ok := t.lookup(tr.ID)
	if !ok {
		return notFound(tr.ID)
	}
	if !t.Has(tr.Parent) {
		return nodeConflict(conflict.NotFound, "tree: no such parent", tr.Parent)
	}
	// The cycle check walks up from the new parent: O(depth) lookups. A node that stays under
	// its parent cannot make a cycle.
	for a := tr.Parent; a != uuid.Nil && a != n.parent; {
		if a == tr.ID {
			return nodeConflict(conflict.Cycle, "tree: a node cannot move under itself or its descendant", tr.ID)
		}
		p, _ := t.lookup(a)
		a = p.parent
	}
	k, _ := t.kids.Delete(kid[V]{parent: n.parent, key: n.key})
	key, err := t.resolve(tr.Parent, tr.Pos)
	if err != nil {
		t.kids.Set(k)
		return err
	}
	k.parent, k.key = tr.Parent, key
	t.kids.Set(k)
	t.nodes.Set(node{id: tr.ID, parent: tr.Parent, key: key})
	return nil
}

func (t *Tree[V, T]) delete(id uuid.UUID) error {
	if id == uuid.Nil {
		return conflict.New(conflict.Invalid, "tree: the root cannot be deleted")
	}
	n, ok := t.lookup(id)
	if !ok {
		return notFound(id)
	}
	// Collect the subtree first (the B-tree must not change under Ascend), then delete it.
	doomed := []node{n}
	for i := 0; i < len(doomed); i++ {
		p := doomed[i].id
		t.kids.Ascend(kid[V]{parent: p}, func(k kid[V]) bool {
			if k.parent != p {
				return false
			}
			doomed = append(doomed, node{id: k.id, parent: p, key: k.key})
			return true
		})
	}
	for _, d := range doomed {
		t.kids.Delete(kid[V]{parent: d.parent, key: d.key})
		t.nodes.Delete(d)
	}
	return nil
}

func (t *Tree[V, T]) update(ev aper.Event[Transition[V, T]]) error {
	tr := &ev.Transition
	if tr.ID == uuid.Nil {
		return conflict.New(conflict.Invalid, "tree: the root holds no value")
	}
	n, ok := t.lookup(tr.ID)
	if !ok {
		return notFound(tr.ID)
	}
	owner := t.owner.Get()
	k, _ := t.kids.Get(kid[V]{parent: n.parent, key: n.key})
	v, cloned := cow.Writable(k.value, k.owner, owner)
	inner := aper.Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: tr.Inner}
	if err := v.Apply(inner); err != nil {
		return conflict.WithPath(err, tr.ID.String())
	}
	if cloned {
		k.value, k.owner = v, owner
		t.kids.Set(k)
	}
	return nil
}

func nodeConflict(kind conflict.Kind, msg string, id uuid.UUID) error {
	return conflict.WithPath(conflict.New(kind, msg), id.String())
}

func notFound(id uuid.UUID) error {
	return nodeConflict(conflict.NotFound, "tree: no such node", id)
}

// Clone returns an independent copy in O(1); the two share their B-tree nodes and values until
// either changes them.
func (t *Tree[V, T]) Clone() *Tree[V, T] {
	if t.kids == nil {
		return &Tree[V, T]{}
	}
	t.owner.Renew() // the values t owned are now shared with the clone
	return &Tree[V, T]{kids: t.kids.Copy(), nodes: t.nodes.Copy()}
}

var _ aper.StateMachine[*Tree[*aper.Counter, aper.CounterTransition], Transition[*aper.Counter, aper.CounterTransition]] = (*Tree[*aper.Counter, aper.CounterTransition])(nil)
