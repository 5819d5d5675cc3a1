package pool

import (
	"encoding/json"
	"errors"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/cow"
)

// slot holds one object's state machine in a column's list. It is what lets an object move from
// one list to another without a deep copy of its value.
//
// package list keeps its items copy-on-write with owner tokens, and its insert stores a Clone
// of the value it is given, so that a list never aliases a transition's value or another item.
// Were the columns' items the objects' values themselves, every move between lists (an insert
// into one list and a delete from the other) would clone the value: O(value size) for a value
// that is not copy-on-write. The slot's Clone instead shares the value, in O(1), and the slot
// keeps the copy-on-write of the value itself, against the board's owner token rather than the
// list's: owner is the Board Owner under which v is the board's alone (see package
// internal/cow). The board renews its token on every Clone, so a value that a Clone of the
// board may see is cloned before its first change; the copies of slots that a list makes (on a
// move, a list transaction or an iteration's snapshot) keep the stamp, so a moved object is
// still changed in place.
//
// This relies on two things the board ensures: after an Apply, at most one live slot of the
// board holds a value under its owner (a move inserts the slot's copy, then deletes the slot);
// and a slot is updated only by a single-step column transition, so that a list transaction
// that fails, whose changes are dropped, never changed a value in place.
type slot[V aper.StateMachine[V, T], T any] struct {
	v     V
	owner cow.Owner
}

// slotOp is a slot's transition: the object's own transition, and the Owner of the board that
// applies it.
type slotOp[T any] struct {
	inner T
	owner cow.Owner
}

// Apply applies the object's transition to its value, cloning the value first unless it is the
// board's alone.
func (s *slot[V, T]) Apply(ev aper.Event[slotOp[T]]) error {
	op := &ev.Transition
	v, cloned := cow.Writable(s.v, s.owner, op.owner)
	if err := v.Apply(aper.Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: op.inner}); err != nil {
		return err
	}
	if cloned {
		s.v, s.owner = v, op.owner
	}
	return nil
}

// Clone returns a slot that shares the value, in O(1).
func (s *slot[V, T]) Clone() *slot[V, T] { return &slot[V, T]{v: s.v, owner: s.owner} }

// A slot is its value on the wire.

func (s *slot[V, T]) MarshalJSON() ([]byte, error) { return json.Marshal(s.v) }

func (s *slot[V, T]) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &s.v); err != nil {
		return err
	}
	return s.check()
}

func (s *slot[V, T]) MarshalCBOR() ([]byte, error) { return aper.CBOR.Marshal(s.v) }

func (s *slot[V, T]) UnmarshalCBOR(b []byte) error {
	if err := aper.CBOR.Unmarshal(b, &s.v); err != nil {
		return err
	}
	return s.check()
}

func (s *slot[V, T]) check() error {
	if cow.IsNil(s.v) {
		return errors.New("a null object")
	}
	return nil
}
