package list

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
	"github.com/aper-go/aper/internal/ordtree"
	"github.com/google/uuid"
)

// List is an ordered list of state machines, each with a UUID id and a [ZenoIndex] that gives
// its place in the order. Transitions insert, delete, move, or apply a transition to one item's
// state machine. Its zero value is an empty list ready to use, and a nil *List (an unset field
// of a generated struct) reads as empty: Len, KeyOf, Has, Get, At, IndexOf, All, Backward and
// Keys answer as for an empty list, and the constructors of transitions (Insert, InsertAt,
// Append, Prepend, the Position methods, Move, MoveTo, Delete, Update) build them as on an
// empty list.
//
// V is the items' state machine type (usually a pointer, such as *aper.Counter) and T its
// transition type; Go cannot infer T from V, so both are type parameters.
//
// The list is two counted copy-on-write B-trees: the items ordered by index, each node knowing
// how many items its subtree holds, and the ids mapped to their indexes. Insert, Delete, Move,
// Apply, Get, At and IndexOf cost O(log n) (IndexOf adds up the counts left of the item's path).
// Clone is O(1): the copies share their nodes, the first write after a Clone copies only the
// O(log n) nodes on its path, and an item's value is cloned only when a transition first changes
// it. Clones may be used by different goroutines, each owning its own.
//
// Values returned by Get, At, All and Backward are shared with the list: read them, do not apply
// transitions to them directly. A List is not safe for concurrent use; Clone counts as a write.
type List[V aper.StateMachine[V, T], T any] struct {
	items ordtree.Tree[item[V]] // ordered by index, with subtree counts
	ids   ordtree.Tree[idEntry] // ordered by id
	owner cow.Token             // values stamped with its Owner were cloned by this list after its last Clone
	ready bool                  // the trees are made (on the first write)
	// last is the id and index of the item that the last insert or move placed, while that item
	// stays where it was put (its key is zero otherwise). Editing text inserts each character
	// after the previous one, so the anchor of the next insert is most often this item, and
	// looking it up here spares two searches among random ids. Only Apply writes it.
	last idEntry
	// loops counts the All, Backward and Keys loops running over the list, and loopOwner is the
	// list's owner when the latest one began. The first write while one runs renews the owner
	// and the items tree's token, as Clone does, so that it copies the nodes and values the
	// loops walk instead of changing them: a loop sees the list as it was when it began. When no
	// loop runs, a write costs nothing more. Atomic, because a list nested in a value that
	// replicas on different goroutines share may be iterated by both.
	loops     atomic.Int32
	loopOwner atomic.Uint64
}

type item[V any] struct {
	key   ZenoIndex
	id    uuid.UUID
	value V
	owner cow.Owner
}

// idEntry maps an id, held as two big-endian halves so that comparing is two integer compares,
// to its index.
type idEntry struct {
	hi, lo uint64
	key    ZenoIndex
}

func idKey(id uuid.UUID) idEntry {
	return idEntry{hi: binary.BigEndian.Uint64(id[:8]), lo: binary.BigEndian.Uint64(id[8:])}
}

// cmpItem orders items by index, as strings.Compare orders their bytes. The tree calls it only
// for items whose prefixes (preItem) are equal: most of a search compares prefixes.
func cmpItem[V any](a, b item[V]) int { return strings.Compare(a.key.b, b.key.b) }

// preItem is the items' prefix for the tree (see ordtree.New): the first 8 bytes of the index,
// big-endian, with zeros after a shorter one. Where two prefixes differ, the indexes differ the
// same way: at a byte among the first 8, or one is shorter and the other has a non-zero byte
// there.
func preItem[V any](it item[V]) uint64 {
	var b [8]byte
	copy(b[:], it.key.b)
	return binary.BigEndian.Uint64(b[:])
}

// preID is the ids' prefix for the tree: the id's first half.
func preID(e idEntry) uint64 { return e.hi }

func cmpID(a, b idEntry) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// Op says what a [Transition] does.
type Op uint8

// The list operations.
const (
	OpInsert  Op = iota + 1 // insert Value with id ID at Pos; an id already present is Duplicate
	OpDelete                // delete item ID; a missing id is NotFound
	OpMove                  // move item ID to Pos; a missing id is NotFound
	OpUpdate                // apply Inner to item ID's state machine; a missing id is NotFound
	OpRespace               // give the run Pos.Respace names new indexes; a missing end is NotFound
)

// String returns the operation's name.
func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpDelete:
		return "delete"
	case OpMove:
		return "move"
	case OpUpdate:
		return "update"
	case OpRespace:
		return "respace"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Transition changes one item of a [List], or respaces a run of items. Build it with the
// List's constructor methods (Append, InsertAfter, Move, Delete, Update, Respace, ...). An insert
// or a move whose position carries a [Respace] gives that run new indexes first, in the same
// transition; an OpRespace carries only Pos.Respace (its other fields zero).
type Transition[V any, T any] struct {
	Op    Op           `json:"op" cbor:"1,keyasint"`
	ID    uuid.UUID    `json:"id" cbor:"2,keyasint"`
	Pos   ListPosition `json:"pos,omitzero" cbor:"3,keyasint,omitzero"`
	Value V            `json:"value,omitzero" cbor:"4,keyasint,omitzero"`
	Inner T            `json:"inner,omitzero" cbor:"5,keyasint,omitzero"`
}

// New returns an empty list.
func New[V aper.StateMachine[V, T], T any]() *List[V, T] {
	return &List[V, T]{}
}

func (l *List[V, T]) init() {
	if !l.ready {
		l.items = ordtree.New(cmpItem[V], preItem[V])
		l.ids = ordtree.New(cmpID, preID)
		l.ready = true
	}
}

// Len returns the number of items.
func (l *List[V, T]) Len() int {
	if l == nil {
		return 0
	}
	return l.items.Len()
}

// KeyOf returns the index of item id.
func (l *List[V, T]) KeyOf(id uuid.UUID) (ZenoIndex, bool) {
	if l == nil {
		return ZenoIndex{}, false
	}
	e := idKey(id)
	if e.hi == l.last.hi && e.lo == l.last.lo && !l.last.key.IsZero() {
		return l.last.key, true
	}
	e, ok := l.ids.Get(e)
	return e.key, ok
}

// Has reports whether the list holds item id.
func (l *List[V, T]) Has(id uuid.UUID) bool {
	_, ok := l.KeyOf(id)
	return ok
}

// Get returns the state machine of item id.
func (l *List[V, T]) Get(id uuid.UUID) (V, bool) {
	k, ok := l.KeyOf(id)
	if !ok {
		var zero V
		return zero, false
	}
	it, _ := l.items.Get(item[V]{key: k})
	return it.value, true
}

// At returns the id and state machine of the item at position i (0 is the first), or false if i
// is out of range. It costs O(log n).
func (l *List[V, T]) At(i int) (uuid.UUID, V, bool) {
	if l == nil {
		var zero V
		return uuid.UUID{}, zero, false
	}
	it, ok := l.items.At(i)
	return it.id, it.value, ok
}

// IndexOf returns the position of item id (0 is the first). It costs O(log n): the id's index,
// then one descent that adds up the counts of the subtrees to its left.
func (l *List[V, T]) IndexOf(id uuid.UUID) (int, bool) {
	k, ok := l.KeyOf(id)
	if !ok {
		return -1, false
	}
	i, _ := l.items.Rank(item[V]{key: k})
	return i, true
}

// All yields the items' ids and state machines in list order. The list may change during the
// loop (a delete, an insert, an update, even of every item): the loop goes on over the list as it
// was when it began, values included, and sees none of the changes, which the list holds once
// they are applied. Starting a loop costs no allocation, and a change during it costs what the
// first change after a Clone does.
func (l *List[V, T]) All() iter.Seq2[uuid.UUID, V] {
	return func(yield func(uuid.UUID, V) bool) {
		if l == nil {
			return
		}
		l.pin()
		for it := range l.items.All() {
			if !yield(it.id, it.value) {
				break
			}
		}
		l.unpin()
	}
}

// Backward yields the items' ids and state machines in reverse list order. Like [List.All], it
// goes on over the list as it was when it began if the list changes during the loop.
func (l *List[V, T]) Backward() iter.Seq2[uuid.UUID, V] {
	return func(yield func(uuid.UUID, V) bool) {
		if l == nil {
			return
		}
		l.pin()
		for it := range l.items.Backward() {
			if !yield(it.id, it.value) {
				break
			}
		}
		l.unpin()
	}
}

// Keys yields the items' ids and indexes in list order. Like [List.All], it goes on over the
// list as it was when it began if the list changes during the loop.
func (l *List[V, T]) Keys() iter.Seq2[uuid.UUID, ZenoIndex] {
	return func(yield func(uuid.UUID, ZenoIndex) bool) {
		if l == nil {
			return
		}
		l.pin()
		for it := range l.items.All() {
			if !yield(it.id, it.key) {
				break
			}
		}
		l.unpin()
	}
}

// pin and unpin bracket a loop over the items (see List.loops). A deferred unpin would make
// every loop allocate; without it, a loop whose body panics leaves the count up, which costs
// each later loop that writes one renewal (what a Clone costs), never a wrong result.
func (l *List[V, T]) pin() {
	l.loopOwner.Store(uint64(l.owner.Get()))
	l.loops.Add(1)
}

func (l *List[V, T]) unpin() { l.loops.Add(-1) }

// writing is called before every change to the list. If a loop is running and nothing has been
// renewed since it began, it renews the owner (values count as shared: an update clones its item
// first) and the items tree's token (a write copies the nodes on its path).
func (l *List[V, T]) writing() {
	if l.loops.Load() > 0 && cow.Owner(l.loopOwner.Load()) == l.owner.Get() {
		l.owner.Renew()
		l.items.Renew()
	}
}

// below returns the greatest index below k, or the zero ZenoIndex.
func (l *List[V, T]) below(k ZenoIndex) ZenoIndex {
	it, _ := l.items.Below(item[V]{key: k})
	return it.key
}

// above returns the least index above k, or the zero ZenoIndex.
func (l *List[V, T]) above(k ZenoIndex) ZenoIndex {
	it, _ := l.items.Above(item[V]{key: k})
	return it.key
}

// between returns a fresh index between a and b (either may be zero for an open end), close
// to a for nearLow (an insert after a) and close to b for nearHigh (an insert before b). The list
// knows which neighbour a position is anchored to, so it need not guess as [Between] does.
//
// It reports false, with the zero index, when a is not below b. A List's own indexes are
// distinct and ordered, so its neighbours never are; a [Siblings] written by a user may be
// (see [Resolve]).
func between(a, b ZenoIndex, l lean) (ZenoIndex, bool) {
	switch {
	case a.b == "" && b.b == "":
		return middle, true
	case b.b == "":
		l = nearLow // no upper neighbour: appending
	case a.b >= b.b:
		return ZenoIndex{}, false
	}
	return ZenoIndex{b: allocate(a.b, b.b, l)}, true
}

// newIndex is between for the list's own neighbours, which are always ordered.
func newIndex(a, b ZenoIndex, l lean) ZenoIndex {
	z, _ := between(a, b, l)
	return z
}

// PositionBefore returns the position just before item id, with the index it would get now as
// the fallback (and a [Respace] of the neighbourhood when that index would be too long; see
// [PositionAt]). If the list has no item id, the fallback is zero, and an insert at the position
// will conflict unless the item appears first.
func (l *List[V, T]) PositionBefore(id uuid.UUID) ListPosition {
	return PositionBefore(l.seq(), id)
}

// PositionAfter returns the position just after item id, with the index it would get now as the
// fallback (and a [Respace] when that index would be too long). If the list has no item id, the
// fallback is zero, and an insert at the position will conflict unless the item appears first.
func (l *List[V, T]) PositionAfter(id uuid.UUID) ListPosition {
	return PositionAfter(l.seq(), id)
}

// PositionAt returns the position where a new item ends up at position i (0 is the first; i is
// clamped to [0, Len]): after the item now at i-1 (before the first item for i = 0), with the
// index between the current neighbours as the fallback. At i = 0 that index leaves room above
// it, for what is typed after it; [List.Prepend] instead goes close below the first item, so
// that a run of prepends stays short. When the index would be too long, the position carries a
// [Respace] of the neighbourhood (see the package function [PositionAt]).
func (l *List[V, T]) PositionAt(i int) ListPosition {
	return PositionAt(l.seq(), i)
}

// WithRespace returns pos with the [Respace] it needs in l now (see the package function
// [WithRespace]). Insert and Move call it.
func (l *List[V, T]) WithRespace(pos ListPosition) ListPosition {
	return WithRespace(l.seq(), pos)
}

// Insert returns a new id and the transition that inserts v with that id at pos. It does not
// change l. The list keeps v and clones it before its first change, so the transition may be
// applied to several replicas. If pos would now resolve to an index that is too long, the
// transition's position carries a [Respace] of the neighbourhood ([List.WithRespace]).
func (l *List[V, T]) Insert(pos ListPosition, v V) (uuid.UUID, Transition[V, T]) {
	return l.insert(l.WithRespace(pos), v)
}

// insert is Insert at a position that has the respace it needs: one a position constructor made.
func (l *List[V, T]) insert(pos ListPosition, v V) (uuid.UUID, Transition[V, T]) {
	id := newID()
	return id, Transition[V, T]{Op: OpInsert, ID: id, Pos: pos, Value: v}
}

// randomIDs is where new ids come from: crypto/rand read 4 KiB at a time into buf, rather than
// once for each id as uuid.New does (a read for every character typed). Guarded by its mutex:
// lists on different goroutines make ids at once. uuid.EnableRandPool would do the same, but for
// every user of the uuid package in the program.
var randomIDs struct {
	sync.Mutex
	buf [4096]byte
	n   int // bytes of buf not yet handed out, at its end
}

// newID returns a random (version 4, RFC 9562 variant) UUID, as uuid.New does.
func newID() uuid.UUID {
	var id uuid.UUID
	randomIDs.Lock()
	if randomIDs.n < len(id) {
		rand.Read(randomIDs.buf[:]) // never fails (crypto/rand crashes the program instead)
		randomIDs.n = len(randomIDs.buf)
	}
	copy(id[:], randomIDs.buf[len(randomIDs.buf)-randomIDs.n:])
	randomIDs.n -= len(id)
	randomIDs.Unlock()
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // variant 10
	return id
}

// Append returns a new id and the transition that inserts v after the last item (the last at the
// time it is applied). It does not change l.
func (l *List[V, T]) Append(v V) (uuid.UUID, Transition[V, T]) { return l.Insert(End(), v) }

// Prepend returns a new id and the transition that inserts v before the first item (the first at
// the time it is applied). It does not change l.
func (l *List[V, T]) Prepend(v V) (uuid.UUID, Transition[V, T]) {
	return l.Insert(Beginning(), v)
}

// InsertBefore returns a new id and the transition that inserts v just before item anchor (see
// [List.PositionBefore]). It does not change l.
func (l *List[V, T]) InsertBefore(anchor uuid.UUID, v V) (uuid.UUID, Transition[V, T]) {
	return l.insert(l.PositionBefore(anchor), v)
}

// InsertAfter returns a new id and the transition that inserts v just after item anchor (see
// [List.PositionAfter]). It does not change l.
func (l *List[V, T]) InsertAfter(anchor uuid.UUID, v V) (uuid.UUID, Transition[V, T]) {
	return l.insert(l.PositionAfter(anchor), v)
}

// InsertAt returns a new id and the transition that inserts v so that it ends up at position i
// (clamped to [0, Len]; see [List.PositionAt]). It does not change l.
func (l *List[V, T]) InsertAt(i int, v V) (uuid.UUID, Transition[V, T]) {
	return l.insert(l.PositionAt(i), v)
}

// Move returns the transition that moves item id to pos. It does not change l. The position is
// resolved against the list without the moved item; a position anchored to the moved item
// itself leaves it about where it was. If pos would now resolve to an index that is too long,
// the transition's position carries a [Respace] of the neighbourhood (as for Insert).
func (l *List[V, T]) Move(id uuid.UUID, pos ListPosition) Transition[V, T] {
	return Transition[V, T]{Op: OpMove, ID: id, Pos: WithRespace(Without(l.seq(), id), pos)}
}

// MoveTo returns the transition that moves item id so that it ends up at position i (clamped to
// the list's positions), anchored to its neighbours there. It does not change l. For an id the
// list does not hold it returns a move to the end, which conflicts when applied unless the item
// appears first.
func (l *List[V, T]) MoveTo(id uuid.UUID, i int) Transition[V, T] {
	if !l.Has(id) {
		return Transition[V, T]{Op: OpMove, ID: id, Pos: End()}
	}
	return Transition[V, T]{Op: OpMove, ID: id, Pos: PositionAt(Without(l.seq(), id), i)}
}

// Respace returns the transition that gives the items from first to last (in either order) new,
// evenly spaced indexes (see [Respace]). It does not change l. The position constructors add
// the respaces a list needs to the positions they make, so an application need not call it.
// Applied, it is an Invalid conflict unless the run is the items of a crowded window of the
// index space (see the package doc's Respacing): a list that is not crowded is not relabelled.
func (l *List[V, T]) Respace(first, last uuid.UUID) Transition[V, T] {
	return Transition[V, T]{Op: OpRespace, Pos: ListPosition{Respace: Respace{First: first, Last: last}}}
}

// Delete returns the transition that deletes item id. It does not change l. Deleting an id that
// is not in the list (never inserted, or already deleted) is a NotFound conflict, so that a
// client learns that its delete did nothing.
func (l *List[V, T]) Delete(id uuid.UUID) Transition[V, T] {
	return Transition[V, T]{Op: OpDelete, ID: id}
}

// Update returns the transition that applies t to the state machine of item id. It does not
// change l.
func (l *List[V, T]) Update(id uuid.UUID, t T) Transition[V, T] {
	return Transition[V, T]{Op: OpUpdate, ID: id, Inner: t}
}

// Apply inserts, deletes, moves or updates one item, or respaces a run. An insert or a move
// whose position carries a [Respace] gives the run new indexes first (nothing happens to the
// run if it names an item that is gone, or is not a crowded window: see the package doc's
// Respacing), then resolves the position among them ([Place]).
// Conflicts, each leaving the list unchanged:
//
//   - Duplicate: an insert whose id is already in the list.
//   - NotFound: a delete, move or update of an id not in the list; an insert or move anchored
//     (Before, After) to a missing item with no fallback index; an OpRespace whose first or last
//     item is not in the list. The path names the id.
//   - Invalid: an unknown operation or position kind, an insert with the nil id or a nil value,
//     a position At with no index, an OpRespace with no run or with other fields set, or whose
//     run is not the items of a crowded window of the index space (package doc, Respacing).
//   - Any conflict of the item's own state machine, with the item's id put in front of its path.
func (l *List[V, T]) Apply(ev aper.Event[Transition[V, T]]) error {
	l.writing()
	t := &ev.Transition
	switch t.Op {
	case OpInsert:
		if t.ID == uuid.Nil {
			return conflict.New(conflict.Invalid, "list: insert with the nil id")
		}
		if cow.IsNil(t.Value) {
			return itemConflict(conflict.Invalid, "list: insert with a nil value", t.ID)
		}
		l.init()
		if !t.Pos.Respace.IsZero() && l.Has(t.ID) {
			// Before the respace, which would have to be undone.
			return itemConflict(conflict.Duplicate, "list: the id is already in the list", t.ID)
		}
		if l.insertBeside(t) {
			return nil
		}
		k, err := l.resolve(t.Pos)
		if err != nil {
			return err
		}
		// One search both checks for a duplicate and inserts; a duplicate is put back.
		e := idKey(t.ID)
		e.key = k
		if !l.ids.Insert(e) {
			return itemConflict(conflict.Duplicate, "list: the id is already in the list", t.ID)
		}
		// The list keeps its own copy, so that the transition's value (which other replicas may
		// hold too) or a value taken from another item never aliases an item.
		l.items.Set(item[V]{key: k, id: t.ID, value: t.Value.Clone(), owner: l.owner.Get()})
		l.last = e
		return nil
	case OpDelete:
		e, ok := l.ids.Delete(idKey(t.ID)) // one search both finds the index and removes the id
		if !ok {
			return notFound(t.ID)
		}
		l.items.Delete(item[V]{key: e.key})
		l.forget(t.ID)
		return nil
	case OpMove:
		k, ok := l.KeyOf(t.ID)
		if !ok {
			return notFound(t.ID)
		}
		it, _ := l.items.Delete(item[V]{key: k})
		if l.moveBeside(it, t) {
			return nil
		}
		nk, err := l.resolve(t.Pos)
		if err != nil {
			l.items.Set(it)
			return err
		}
		it.key = nk
		l.items.Set(it)
		e := idKey(t.ID)
		e.key = nk
		l.ids.Set(e)
		l.last = e
		return nil
	case OpUpdate:
		k, ok := l.KeyOf(t.ID)
		if !ok {
			return notFound(t.ID)
		}
		l.init()
		it, _ := l.items.Get(item[V]{key: k})
		owner := l.owner.Get()
		v, cloned := cow.Writable(it.value, it.owner, owner)
		inner := aper.Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t.Inner}
		if err := v.Apply(inner); err != nil {
			return conflict.WithPath(err, t.ID.String())
		}
		if cloned {
			it.value, it.owner = v, owner
			l.items.Set(it)
		}
		return nil
	case OpRespace:
		r := t.Pos.Respace
		if r.IsZero() || t.Pos != (ListPosition{Respace: r}) || t.ID != uuid.Nil || !cow.IsNil(t.Value) {
			return conflict.New(conflict.Invalid, "list: a respace carries its run in Pos.Respace and nothing else")
		}
		for _, id := range [2]uuid.UUID{r.First, r.Last} {
			if !l.Has(id) {
				return notFound(id)
			}
		}
		s := items[V, T]{l}
		run, ok := plan(r, s)
		if !ok {
			return conflict.New(conflict.Invalid, "list: the respace's run is not the items of a crowded window of the index space")
		}
		s.Rekey(run.ids, run.from, run.to)
		return nil
	default:
		return conflict.New(conflict.Invalid, fmt.Sprintf("list: unknown operation %d", t.Op))
	}
}

// resolve turns a position into a free index among l's items, after the respace it carries (see
// [Place]).
func (l *List[V, T]) resolve(p ListPosition) (ZenoIndex, error) {
	return Place(p, items[V, T]{l})
}

// items presents a List's items as [Siblings].
type items[V aper.StateMachine[V, T], T any] struct{ l *List[V, T] }

// seq presents l's items for the constructors of transitions, which a nil List also has (it reads
// as empty).
func (l *List[V, T]) seq() items[V, T] {
	if l == nil {
		return items[V, T]{New[V, T]()}
	}
	return items[V, T]{l}
}

func (s items[V, T]) KeyOf(id uuid.UUID) (ZenoIndex, bool) { return s.l.KeyOf(id) }

func (s items[V, T]) Below(k ZenoIndex) ZenoIndex {
	if k.IsZero() {
		last, _ := s.l.items.Max()
		return last.key
	}
	return s.l.below(k)
}

func (s items[V, T]) Above(k ZenoIndex) ZenoIndex {
	if k.IsZero() {
		first, _ := s.l.items.Min()
		return first.key
	}
	return s.l.above(k)
}

func (s items[V, T]) Taken(k ZenoIndex) bool {
	_, taken := s.l.items.Get(item[V]{key: k})
	return taken
}

func (s items[V, T]) Len() int { return s.l.items.Len() }

func (s items[V, T]) At(i int) (uuid.UUID, ZenoIndex) {
	it, _ := s.l.items.At(i)
	return it.id, it.key
}

func (s items[V, T]) Rank(k ZenoIndex) int {
	if k.IsZero() {
		return 0
	}
	r, _ := s.l.items.Rank(item[V]{key: k})
	return r
}

// Rekey gives the run its new indexes: in place in the items tree (the order does not change),
// and each id's entry updated.
func (s items[V, T]) Rekey(ids []uuid.UUID, from, to []ZenoIndex) {
	l := s.l
	r0 := s.Rank(from[0])
	l.items.ReplaceRange(r0, r0+len(ids), func(p int, it item[V]) item[V] {
		it.key = to[p-r0]
		return it
	})
	for j, id := range ids {
		e := idKey(id)
		e.key = to[j]
		l.ids.Set(e)
		if e.hi == l.last.hi && e.lo == l.last.lo {
			l.last = e
		}
	}
}

// forget clears l.last if it is item id, which is gone or moving.
func (l *List[V, T]) forget(id uuid.UUID) {
	if e := idKey(id); e.hi == l.last.hi && e.lo == l.last.lo {
		l.last = idEntry{}
	}
}

func itemConflict(kind conflict.Kind, msg string, id uuid.UUID) error {
	return conflict.WithPath(conflict.New(kind, msg), id.String())
}

func notFound(id uuid.UUID) error {
	return itemConflict(conflict.NotFound, "list: no such item", id)
}

// Clone returns an independent copy in O(1); the two share their B-tree nodes and values until
// either changes them.
func (l *List[V, T]) Clone() *List[V, T] {
	if !l.ready {
		return &List[V, T]{}
	}
	l.owner.Renew() // the values l owned are now shared with the clone
	return &List[V, T]{items: l.items.Clone(), ids: l.ids.Clone(), ready: true, last: l.last}
}

var _ aper.StateMachine[*List[*aper.Counter, aper.CounterTransition], Transition[*aper.Counter, aper.CounterTransition]] = (*List[*aper.Counter, aper.CounterTransition])(nil)
