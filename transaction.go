package aper

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
)

// Transaction is a transition made of several transitions of one state machine, applied in order
// and all-or-nothing: if one conflicts, the state is as it was before the first.
type Transaction[T any] []T

// ApplyTransaction applies the transitions of ev to a clone of s and returns the clone. If one
// conflicts it returns s itself, untouched, and the conflict (its message names the step). Every
// step sees ev's Seq, Client and Time.
//
// Its cost is one Clone (O(1) for the library's structures) plus the steps.
func ApplyTransaction[S StateMachine[S, T], T any](s S, ev Event[Transaction[T]]) (S, error) {
	next := s.Clone()
	for i, t := range ev.Transition {
		step := Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t}
		if err := next.Apply(step); err != nil {
			return s, fmt.Errorf("aper: transaction step %d of %d: %w", i+1, len(ev.Transition), err)
		}
	}
	return next, nil
}

// Transactional wraps a state machine so that its transitions are Transactions: use it as the
// state of a room whose clients change several things at once. Make one with NewTransactional, or
// decode one.
//
// The zero Transactional holds no state (State returns S's zero value, nil for a pointer). It is
// safe to use, but does nothing: Apply returns an Invalid conflict, Clone returns another zero
// Transactional, Marshal returns an error rather than a null that no decoder accepts, and decoding
// a state into it gives it that state.
type Transactional[S StateMachine[S, T], T any] struct {
	state S
}

// NewTransactional wraps s.
func NewTransactional[S StateMachine[S, T], T any](s S) *Transactional[S, T] {
	return &Transactional[S, T]{state: s}
}

// State returns the wrapped state machine (read it; change it only through Apply).
func (x *Transactional[S, T]) State() S { return x.state }

// Apply applies every transition of the transaction, or none.
func (x *Transactional[S, T]) Apply(ev Event[Transaction[T]]) error {
	if cow.IsNil(x.state) {
		return conflict.New(conflict.Invalid, "transactional: no state (make it with NewTransactional)")
	}
	next, err := ApplyTransaction(x.state, ev)
	if err != nil {
		return err
	}
	x.state = next
	return nil
}

// Clone returns an independent copy. The clone of a zero Transactional is a zero Transactional.
func (x *Transactional[S, T]) Clone() *Transactional[S, T] {
	if cow.IsNil(x.state) {
		return &Transactional[S, T]{}
	}
	return &Transactional[S, T]{state: x.state.Clone()}
}

// errNoState is what encoding a zero Transactional returns: it has no state to write, and the
// null it would otherwise write is refused by its own decoder.
var errNoState = errors.New("aper: transactional: no state to encode (make it with NewTransactional)")

// MarshalJSON encodes the wrapped state. A zero Transactional is an error.
func (x *Transactional[S, T]) MarshalJSON() ([]byte, error) {
	if cow.IsNil(x.state) {
		return nil, errNoState
	}
	return json.Marshal(x.state)
}

// UnmarshalJSON decodes the wrapped state.
func (x *Transactional[S, T]) UnmarshalJSON(b []byte) error {
	var s S
	if err := json.Unmarshal(b, &s); err != nil {
		return malformed("transactional", err)
	}
	if cow.IsNil(s) {
		return fmt.Errorf("%w: transactional: null state", ErrMalformed)
	}
	x.state = s
	return nil
}

// MarshalCBOR encodes the wrapped state. A zero Transactional is an error.
func (x *Transactional[S, T]) MarshalCBOR() ([]byte, error) {
	if cow.IsNil(x.state) {
		return nil, errNoState
	}
	return CBOR.Marshal(x.state)
}

// UnmarshalCBOR decodes the wrapped state.
func (x *Transactional[S, T]) UnmarshalCBOR(b []byte) error {
	var s S
	if err := cborDecode(b, &s); err != nil {
		return malformed("transactional", err)
	}
	if cow.IsNil(s) {
		return fmt.Errorf("%w: transactional: null state", ErrMalformed)
	}
	x.state = s
	return nil
}
