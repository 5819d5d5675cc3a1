package pool

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

// NotEmpty is the conflict kind of removing a list that still holds objects without saying
// where they go.
const NotEmpty conflict.Kind = "not empty"

// ErrNotEmpty matches, with errors.Is, every conflict of kind [NotEmpty].
var ErrNotEmpty = conflict.Sentinel(NotEmpty)

// Board is a Kanban-style board: ordered, named lists (columns) that share one pool of objects
// (cards), each object a state machine in exactly one list at all times. Transitions create an
// object in a list at a position, move it within its list or to another list atomically, delete
// it, apply a transition to it, and add, rename, reorder and remove lists. Its zero value is an
// empty board (no lists) ready to use.
//
// V is the objects' state machine type (usually a pointer) and T its transition type; Go cannot
// infer T from V, so both are type parameters.
//
// Lists and objects have UUID ids. Both orders are package list's: the lists are a
// list.List whose items are the columns, and each column's objects are a list.List of their
// own, so positions ([list.ListPosition]) resolve exactly as in a list. A third copy-on-write
// B-tree maps each object to its list. Every operation on one object costs O(log n), n the
// number of objects (O(log n + log m) with m lists); removing a list whose k objects go
// elsewhere costs O(k · log n). None of these copies an object's value, whatever its size: a
// move between lists takes the value along. Clone is O(1): everything is shared until written,
// a column is copied (in O(1)) on its first change after a Clone, and an object's value on its
// first change after a Clone (the value a create transition carries is cloned once, so that the
// board never shares it with the caller or with other replicas).
//
// Values returned by Get, At and Objects are shared with the board: read them, do not apply
// transitions to them directly. A Board is not safe for concurrent use; Clone counts as a write.
// A nil *Board (an unset field of a generated struct) reads as an empty board, and builds
// transitions (AddList, Create, Move...) as an empty board does.
type Board[V aper.StateMachine[V, T], T any] struct {
	cols  *list.List[*column[V, T], colOp[V, T]]
	where *btree.BTreeG[placement] // object id → list id
	owner cow.Token                // values stamped with its Owner were cloned by this board after its last Clone (see slot)
}

type placement struct {
	id   uuid.UUID
	list uuid.UUID
}

func lessPlacement(a, b placement) bool {
	ah, bh := binary.BigEndian.Uint64(a.id[:8]), binary.BigEndian.Uint64(b.id[:8])
	if ah != bh {
		return ah < bh
	}
	return binary.BigEndian.Uint64(a.id[8:]) < binary.BigEndian.Uint64(b.id[8:])
}

// Op says what a [Transition] does.
type Op uint8

// The board operations.
const (
	OpCreate     Op = iota + 1 // create object ID holding Value in list List at Pos
	OpMove                     // move object ID to list List (its own or another) at Pos
	OpDelete                   // delete object ID
	OpUpdate                   // apply Inner to object ID's state machine
	OpAddList                  // add list List named Name at Pos among the lists
	OpRenameList               // rename list List to Name
	OpMoveList                 // move list List to Pos among the lists
	OpRemoveList               // remove list List; its objects, if any, go to list Into at Pos
)

// String returns the operation's name.
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpMove:
		return "move"
	case OpDelete:
		return "delete"
	case OpUpdate:
		return "update"
	case OpAddList:
		return "add list"
	case OpRenameList:
		return "rename list"
	case OpMoveList:
		return "move list"
	case OpRemoveList:
		return "remove list"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Transition changes a [Board]. Build it with the Board's constructor methods (Create, Append,
// Move, MoveTo, Delete, Update, AddList, RenameList, MoveList, RemoveList, ...). Each field says
// which operations read it; leave the others zero (a Value on any operation but a create is an
// Invalid conflict).
type Transition[V any, T any] struct {
	// Op says what the transition does.
	Op Op `json:"op" cbor:"1,keyasint"`
	// ID is the object an object operation (create, move, delete, update) is about: for a
	// create the new object's id, chosen by the client (uuid.New in the constructors) so that
	// every replica gives the object the same id; the nil UUID there is an Invalid conflict.
	ID uuid.UUID `json:"id,omitzero" cbor:"2,keyasint,omitzero"`
	// List is, for a create or a move, the list the object goes to (for a move, its own list
	// or another); for a list operation, the list it is about, and for an add list the new
	// list's id, chosen by the client as ID is.
	List uuid.UUID `json:"list,omitzero" cbor:"3,keyasint,omitzero"`
	// Pos is, for a create or a move, where the object goes among List's objects (a move
	// resolves it without the moved object; an anchor in another list counts as gone, and its
	// fallback index is used); for an add list or a move list, where List goes among the lists
	// (anchors are list ids); for a remove list with Into, where the removed list's objects go
	// among Into's objects, in their order. It resolves as in package list.
	Pos list.ListPosition `json:"pos,omitzero" cbor:"4,keyasint,omitzero"`
	// Name is, for an add list or a rename list, the list's name (any string, empty too).
	Name string `json:"name,omitempty" cbor:"5,keyasint,omitempty"`
	// Into is, for a remove list, the list that List's objects move to, at Pos. Left nil, a
	// list that still holds objects cannot be removed (a [NotEmpty] conflict); it must not be
	// List itself.
	Into uuid.UUID `json:"into,omitzero" cbor:"6,keyasint,omitzero"`
	// Value is, for a create only, the new object's state machine. Apply stores a Clone of it,
	// so the same transition may be applied to several replicas. It must not be nil.
	Value V `json:"value,omitzero" cbor:"7,keyasint,omitzero"`
	// Inner is, for an update only, the transition applied to ID's state machine.
	Inner T `json:"inner,omitzero" cbor:"8,keyasint,omitzero"`
}

// New returns an empty board.
func New[V aper.StateMachine[V, T], T any]() *Board[V, T] {
	return &Board[V, T]{}
}

func (b *Board[V, T]) init() {
	if b.cols == nil {
		b.cols = list.New[*column[V, T], colOp[V, T]]()
		// The B-tree's own lock makes Copy safe on a board shared by replicas that different
		// goroutines own, as in aper.Map.
		b.where = btree.NewBTreeG(lessPlacement)
	}
}

// Len returns the number of objects on the board, in all lists.
func (b *Board[V, T]) Len() int {
	if b == nil || b.where == nil {
		return 0
	}
	return b.where.Len()
}

// NumLists returns the number of lists.
func (b *Board[V, T]) NumLists() int {
	if b == nil || b.cols == nil {
		return 0
	}
	return b.cols.Len()
}

func (b *Board[V, T]) column(id uuid.UUID) (*column[V, T], bool) {
	if b == nil || b.cols == nil {
		return nil, false
	}
	return b.cols.Get(id)
}

// HasList reports whether the board has list id.
func (b *Board[V, T]) HasList(id uuid.UUID) bool {
	_, ok := b.column(id)
	return ok
}

// Lists yields the lists' ids and names in order.
//
// The loop body may Apply transitions to the board or Clone it: the loop goes on over the lists
// as they were when it started (package list's All does so), each once, with the names they had
// then, including the lists the body has since renamed, moved or removed.
func (b *Board[V, T]) Lists() iter.Seq2[uuid.UUID, string] {
	return func(yield func(uuid.UUID, string) bool) {
		if b == nil || b.cols == nil {
			return
		}
		for id, c := range b.cols.All() {
			if !yield(id, c.name) {
				return
			}
		}
	}
}

// ListAt returns the id and name of the list at position i (0 is the first), or false.
func (b *Board[V, T]) ListAt(i int) (uuid.UUID, string, bool) {
	if b == nil || b.cols == nil {
		return uuid.Nil, "", false
	}
	id, c, ok := b.cols.At(i)
	if !ok {
		return uuid.Nil, "", false
	}
	return id, c.name, true
}

// ListName returns the name of list id.
func (b *Board[V, T]) ListName(id uuid.UUID) (string, bool) {
	c, ok := b.column(id)
	if !ok {
		return "", false
	}
	return c.name, true
}

// ListLen returns the number of objects in list id (0 for an unknown list).
func (b *Board[V, T]) ListLen(id uuid.UUID) int {
	c, ok := b.column(id)
	if !ok {
		return 0
	}
	return c.items.Len()
}

// Objects yields the ids and state machines of the objects of list id, in order.
//
// The loop body may Apply transitions to the board or Clone it: the loop goes on over the
// objects that the list held when it started (package list's All does so), each once, in their
// order then, including those the body has since moved, deleted, or removed with the list. A
// value yielded after the body changed that object may be its old state or its new one. A loop
// costs nothing more when its body does not write; the first write to the list during it
// copies the B-tree nodes on its path, as the first write after a Clone does.
func (b *Board[V, T]) Objects(id uuid.UUID) iter.Seq2[uuid.UUID, V] {
	return func(yield func(uuid.UUID, V) bool) {
		c, ok := b.column(id)
		if !ok {
			return
		}
		for oid, s := range c.items.All() {
			if !yield(oid, s.v) {
				return
			}
		}
	}
}

// At returns the id and state machine of the object at position i (0 is the first) of list id,
// or false. It costs O(log n).
func (b *Board[V, T]) At(id uuid.UUID, i int) (uuid.UUID, V, bool) {
	c, ok := b.column(id)
	if !ok {
		var zero V
		return uuid.Nil, zero, false
	}
	oid, s, ok := c.items.At(i)
	if !ok {
		var zero V
		return uuid.Nil, zero, false
	}
	return oid, s.v, true
}

// ListOf returns the id of the list that holds object id.
func (b *Board[V, T]) ListOf(id uuid.UUID) (uuid.UUID, bool) {
	if b == nil || b.where == nil {
		return uuid.Nil, false
	}
	p, ok := b.where.Get(placement{id: id})
	return p.list, ok
}

// Has reports whether object id is on the board.
func (b *Board[V, T]) Has(id uuid.UUID) bool {
	_, ok := b.ListOf(id)
	return ok
}

// Get returns the state machine of object id.
func (b *Board[V, T]) Get(id uuid.UUID) (V, bool) {
	l, ok := b.ListOf(id)
	if !ok {
		var zero V
		return zero, false
	}
	c, _ := b.column(l)
	s, _ := c.items.Get(id)
	return s.v, true
}

// IndexOf returns the position of object id in its list (0 is the first). It costs O(log² n).
func (b *Board[V, T]) IndexOf(id uuid.UUID) (int, bool) {
	l, ok := b.ListOf(id)
	if !ok {
		return -1, false
	}
	c, _ := b.column(l)
	return c.items.IndexOf(id)
}

// PositionAt returns the position where an object ends up at position i of list id (clamped to
// [0, ListLen]), anchored to its neighbours there (see list.List.PositionAt).
func (b *Board[V, T]) PositionAt(id uuid.UUID, i int) list.ListPosition {
	c, ok := b.column(id)
	if !ok {
		return list.End()
	}
	return c.items.PositionAt(i)
}

// AddList returns a new list id and the transition that adds an empty list with that id, named
// name, at pos among the lists. It does not change b.
func (b *Board[V, T]) AddList(name string, pos list.ListPosition) (uuid.UUID, Transition[V, T]) {
	id := uuid.New()
	if b != nil && b.cols != nil {
		pos = b.cols.WithRespace(pos)
	}
	return id, Transition[V, T]{Op: OpAddList, List: id, Name: name, Pos: pos}
}

// AppendList returns a new list id and the transition that adds an empty list named name after
// the last list. It does not change b.
func (b *Board[V, T]) AppendList(name string) (uuid.UUID, Transition[V, T]) {
	return b.AddList(name, list.End())
}

// RenameList returns the transition that renames list id. It does not change b.
func (b *Board[V, T]) RenameList(id uuid.UUID, name string) Transition[V, T] {
	return Transition[V, T]{Op: OpRenameList, List: id, Name: name}
}

// MoveList returns the transition that moves list id to pos among the lists (anchors are list
// ids). It does not change b.
func (b *Board[V, T]) MoveList(id uuid.UUID, pos list.ListPosition) Transition[V, T] {
	if b != nil && b.cols != nil {
		pos = b.cols.Move(id, pos).Pos
	}
	return Transition[V, T]{Op: OpMoveList, List: id, Pos: pos}
}

// MoveListTo returns the transition that moves list id so that it ends up at position i among
// the lists, anchored to its neighbours there. It does not change b.
func (b *Board[V, T]) MoveListTo(id uuid.UUID, i int) Transition[V, T] {
	if b == nil || b.cols == nil {
		return b.MoveList(id, list.End())
	}
	return Transition[V, T]{Op: OpMoveList, List: id, Pos: b.cols.MoveTo(id, i).Pos}
}

// RemoveList returns the transition that removes list id, which must be empty when the
// transition is applied (a list that is not is a [NotEmpty] conflict). It does not change b.
func (b *Board[V, T]) RemoveList(id uuid.UUID) Transition[V, T] {
	return Transition[V, T]{Op: OpRemoveList, List: id}
}

// RemoveListInto returns the transition that removes list id and moves its objects, in their
// order, to list into at pos. It does not change b.
func (b *Board[V, T]) RemoveListInto(id, into uuid.UUID, pos list.ListPosition) Transition[V, T] {
	return Transition[V, T]{Op: OpRemoveList, List: id, Into: into, Pos: pos}
}

// Create returns a new object id and the transition that creates an object with that id
// holding v in list l at pos. It does not change b. Apply stores a Clone of v, so the
// transition may be applied to several replicas.
func (b *Board[V, T]) Create(l uuid.UUID, pos list.ListPosition, v V) (uuid.UUID, Transition[V, T]) {
	id := uuid.New()
	if c, ok := b.column(l); ok {
		pos = c.items.WithRespace(pos)
	}
	return id, Transition[V, T]{Op: OpCreate, ID: id, List: l, Pos: pos, Value: v}
}

// Append returns a new object id and the transition that creates an object holding v at the end
// of list l. It does not change b.
func (b *Board[V, T]) Append(l uuid.UUID, v V) (uuid.UUID, Transition[V, T]) {
	return b.Create(l, list.End(), v)
}

// Move returns the transition that moves object id to list l (its own or another) at pos. It
// does not change b. The position is resolved among l's objects without the moved one; an
// anchor that is not in l counts as gone (its fallback index is used).
func (b *Board[V, T]) Move(id, l uuid.UUID, pos list.ListPosition) Transition[V, T] {
	if c, ok := b.column(l); ok {
		pos = c.items.Move(id, pos).Pos // without id, if it is in l
	}
	return Transition[V, T]{Op: OpMove, ID: id, List: l, Pos: pos}
}

// MoveTo returns the transition that moves object id so that it ends up at position i of list
// l (clamped), anchored to its neighbours there. It does not change b.
func (b *Board[V, T]) MoveTo(id, l uuid.UUID, i int) Transition[V, T] {
	if from, ok := b.ListOf(id); ok && from == l {
		c, _ := b.column(l)
		return Transition[V, T]{Op: OpMove, ID: id, List: l, Pos: c.items.MoveTo(id, i).Pos}
	}
	return b.Move(id, l, b.PositionAt(l, i))
}

// MoveBefore returns the transition that moves object id just before object anchor, in
// anchor's list. It does not change b.
func (b *Board[V, T]) MoveBefore(id, anchor uuid.UUID) Transition[V, T] {
	l, _ := b.ListOf(anchor)
	var pos list.ListPosition = list.Before(anchor, list.ZenoIndex{})
	if c, ok := b.column(l); ok {
		pos = c.items.PositionBefore(anchor)
	}
	return b.Move(id, l, pos)
}

// MoveAfter returns the transition that moves object id just after object anchor, in anchor's
// list. It does not change b.
func (b *Board[V, T]) MoveAfter(id, anchor uuid.UUID) Transition[V, T] {
	l, _ := b.ListOf(anchor)
	var pos list.ListPosition = list.After(anchor, list.ZenoIndex{})
	if c, ok := b.column(l); ok {
		pos = c.items.PositionAfter(anchor)
	}
	return b.Move(id, l, pos)
}

// Delete returns the transition that deletes object id. It does not change b.
func (b *Board[V, T]) Delete(id uuid.UUID) Transition[V, T] {
	return Transition[V, T]{Op: OpDelete, ID: id}
}

// Update returns the transition that applies t to the state machine of object id. It does not
// change b.
func (b *Board[V, T]) Update(id uuid.UUID, t T) Transition[V, T] {
	return Transition[V, T]{Op: OpUpdate, ID: id, Inner: t}
}

// Apply changes an object or a list. Conflicts, each leaving the board unchanged:
//
//   - NotFound: an object or a list that is not on the board; a position anchored to an object
//     (or list) that is not there, with no fallback index. The path names the missing id.
//   - Duplicate: creating an object, or adding a list, whose id is already on the board.
//   - [NotEmpty]: removing a list that holds objects, without saying where they go.
//   - Invalid: an unknown operation or position kind; the nil id for a new object or list; a
//     nil value for a new object, or a value on another operation; removing a list into itself.
//   - Any conflict of an object's own state machine, with the path list id / object id put in
//     front of its path.
//
// Conflicts of the positions within a list come back with the list's id in front of the path.
func (b *Board[V, T]) Apply(ev aper.Event[Transition[V, T]]) error {
	t := &ev.Transition
	if t.Op != OpCreate && !cow.IsNil(t.Value) {
		return idConflict(conflict.Invalid, fmt.Sprintf("pool: %s carries a value", t.Op), t.ID)
	}
	b.init()
	switch t.Op {
	case OpCreate:
		return b.create(ev)
	case OpMove:
		return b.move(ev)
	case OpDelete:
		from, ok := b.ListOf(t.ID)
		if !ok {
			return notFound("object", t.ID)
		}
		if err := b.step(ev, from, step[V, T]{Op: list.OpDelete, ID: t.ID}); err != nil {
			return err
		}
		b.where.Delete(placement{id: t.ID})
		return nil
	case OpUpdate:
		from, ok := b.ListOf(t.ID)
		if !ok {
			return notFound("object", t.ID)
		}
		return b.step(ev, from, step[V, T]{Op: list.OpUpdate, ID: t.ID, Inner: slotOp[T]{inner: t.Inner, owner: b.owner.Get()}})
	case OpAddList:
		if t.List == uuid.Nil {
			return conflict.New(conflict.Invalid, "pool: a list with the nil id")
		}
		if b.HasList(t.List) {
			return idConflict(conflict.Duplicate, "pool: the list is already on the board", t.List)
		}
		return b.cols.Apply(aper.Event[list.Transition[*column[V, T], colOp[V, T]]]{
			Transition: list.Transition[*column[V, T], colOp[V, T]]{Op: list.OpInsert, ID: t.List, Pos: t.Pos, Value: newColumn[V, T](t.Name)},
		})
	case OpRenameList:
		if !b.HasList(t.List) {
			return notFound("list", t.List)
		}
		return b.colApply(ev, t.List, colOp[V, T]{rename: true, name: t.Name})
	case OpMoveList:
		if !b.HasList(t.List) {
			return notFound("list", t.List)
		}
		return b.cols.Apply(aper.Event[list.Transition[*column[V, T], colOp[V, T]]]{
			Transition: list.Transition[*column[V, T], colOp[V, T]]{Op: list.OpMove, ID: t.List, Pos: t.Pos},
		})
	case OpRemoveList:
		return b.removeList(ev)
	default:
		return conflict.New(conflict.Invalid, fmt.Sprintf("pool: unknown operation %d", t.Op))
	}
}

// colApply applies op to column l through the list of columns, which clones the column first
// when it is shared.
func (b *Board[V, T]) colApply(ev aper.Event[Transition[V, T]], l uuid.UUID, op colOp[V, T]) error {
	return b.cols.Apply(aper.Event[list.Transition[*column[V, T], colOp[V, T]]]{
		Seq: ev.Seq, Client: ev.Client, Time: ev.Time,
		Transition: list.Transition[*column[V, T], colOp[V, T]]{Op: list.OpUpdate, ID: l, Inner: op},
	})
}

// step applies one list transition to the objects of column l.
func (b *Board[V, T]) step(ev aper.Event[Transition[V, T]], l uuid.UUID, s step[V, T]) error {
	return b.colApply(ev, l, colOp[V, T]{steps: []step[V, T]{s}})
}

func (b *Board[V, T]) create(ev aper.Event[Transition[V, T]]) error {
	t := &ev.Transition
	switch {
	case t.ID == uuid.Nil:
		return conflict.New(conflict.Invalid, "pool: an object with the nil id")
	case cow.IsNil(t.Value):
		return idConflict(conflict.Invalid, "pool: an object with a nil value", t.ID)
	case b.Has(t.ID):
		return idConflict(conflict.Duplicate, "pool: the object is already on the board", t.ID)
	case !b.HasList(t.List):
		return notFound("list", t.List)
	}
	// The board's own copy of the value, stamped as its own; the list's insert copies the slot,
	// not the value.
	s := &slot[V, T]{v: t.Value.Clone(), owner: b.owner.Get()}
	if err := b.step(ev, t.List, step[V, T]{Op: list.OpInsert, ID: t.ID, Pos: t.Pos, Value: s}); err != nil {
		return err
	}
	b.where.Set(placement{id: t.ID, list: t.List})
	return nil
}

func (b *Board[V, T]) move(ev aper.Event[Transition[V, T]]) error {
	t := &ev.Transition
	from, ok := b.ListOf(t.ID)
	if !ok {
		return notFound("object", t.ID)
	}
	if !b.HasList(t.List) {
		return notFound("list", t.List)
	}
	if from == t.List {
		return b.step(ev, from, step[V, T]{Op: list.OpMove, ID: t.ID, Pos: t.Pos})
	}
	src, _ := b.column(from)
	s, _ := src.items.Get(t.ID)
	// Insert into the target first: that is the step that may conflict (on its position), and
	// it leaves the board unchanged when it does. The delete from the source cannot conflict.
	// The insert stores a Clone of the slot, which shares the value (O(1), whatever its size)
	// and keeps its stamp, so the moved object is still changed in place; the source's slot
	// leaves the board with the delete (see slot).
	if err := b.step(ev, t.List, step[V, T]{Op: list.OpInsert, ID: t.ID, Pos: t.Pos, Value: s}); err != nil {
		return err
	}
	if err := b.step(ev, from, step[V, T]{Op: list.OpDelete, ID: t.ID}); err != nil {
		_ = b.step(ev, t.List, step[V, T]{Op: list.OpDelete, ID: t.ID})
		return err
	}
	b.where.Set(placement{id: t.ID, list: t.List})
	return nil
}

func (b *Board[V, T]) removeList(ev aper.Event[Transition[V, T]]) error {
	t := &ev.Transition
	c, ok := b.column(t.List)
	if !ok {
		return notFound("list", t.List)
	}
	if n := c.items.Len(); n > 0 {
		switch {
		case t.Into == uuid.Nil:
			return idConflict(NotEmpty, fmt.Sprintf("pool: the list holds %d objects and the transition does not say where they go", n), t.List)
		case t.Into == t.List:
			return idConflict(conflict.Invalid, "pool: a list cannot be removed into itself", t.List)
		case !b.HasList(t.Into):
			return notFound("list", t.Into)
		}
		// One column transition inserts them all, in order: the first at Pos (which may
		// conflict), each next one after the one before.
		steps := make([]step[V, T], 0, n)
		prev := uuid.Nil
		for id, s := range c.items.All() {
			pos := t.Pos
			if prev != uuid.Nil {
				pos = list.After(prev, list.ZenoIndex{})
			}
			steps = append(steps, step[V, T]{Op: list.OpInsert, ID: id, Pos: pos, Value: s})
			prev = id
		}
		if err := b.colApply(ev, t.Into, colOp[V, T]{steps: steps}); err != nil {
			return err
		}
		for _, s := range steps {
			b.where.Set(placement{id: s.ID, list: t.Into})
		}
	}
	return b.cols.Apply(aper.Event[list.Transition[*column[V, T], colOp[V, T]]]{
		Transition: list.Transition[*column[V, T], colOp[V, T]]{Op: list.OpDelete, ID: t.List},
	})
}

func idConflict(kind conflict.Kind, msg string, id uuid.UUID) error {
	return conflict.WithPath(conflict.New(kind, msg), id.String())
}

func notFound(what string, id uuid.UUID) error {
	return idConflict(conflict.NotFound, "pool: no such "+what, id)
}

// Clone returns an independent copy in O(1); the two share their lists and values until either
// changes them.
func (b *Board[V, T]) Clone() *Board[V, T] {
	if b.cols == nil {
		return &Board[V, T]{}
	}
	b.owner.Renew() // the values b owned are now shared with the clone
	return &Board[V, T]{cols: b.cols.Clone(), where: b.where.Copy()}
}

var _ aper.StateMachine[*Board[*aper.Counter, aper.CounterTransition], Transition[*aper.Counter, aper.CounterTransition]] = (*Board[*aper.Counter, aper.CounterTransition])(nil)
