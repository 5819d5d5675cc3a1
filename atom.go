package aper

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
)

// Atom is a value that is replaced whole: the last transition in the server's order wins. Its zero
// value holds V's zero value and is ready to use.
//
// V must be a concrete type that encodes alike in JSON and CBOR (not an interface type: a number
// in an Atom[any] decodes as float64 from JSON but as an integer from CBOR, and replicas that
// heard different codecs would differ).
//
// The value is shared, not copied: treat what Get returns and what a transition carries as
// read-only.
type Atom[V any] struct {
	value V
}

// AtomTransition sets an Atom's value. With CAS set it is a compare-and-set: it conflicts (kind
// Mismatch) unless the current value equals Expect (by reflect.DeepEqual). Expect may be nil or
// zero: CAS, not Expect, says whether to compare.
type AtomTransition[V any] struct {
	// Value is the new value.
	Value V `json:"value" cbor:"1,keyasint"`
	// CAS makes the transition a compare-and-set against Expect.
	CAS bool `json:"cas,omitempty" cbor:"2,keyasint,omitempty"`
	// Expect is the value a compare-and-set requires; ignored unless CAS is set.
	Expect V `json:"expect,omitzero" cbor:"3,keyasint,omitzero"`
}

// String describes the transition for logs: set "x", or set "x" if "old" for a compare-and-set.
// Strings are quoted; other values print as fmt's %v does.
func (t AtomTransition[V]) String() string {
	if t.CAS {
		return "set " + show(t.Value) + " if " + show(t.Expect)
	}
	return "set " + show(t.Value)
}

// show formats a value of a transition for its String: a string quoted, others with %v.
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// NewAtom returns an Atom holding v.
func NewAtom[V any](v V) *Atom[V] { return &Atom[V]{value: v} }

// Get returns the current value. A nil *Atom holds V's zero value, as a nil field of a struct
// that aper-gen makes a state machine does: Get on it returns the zero value.
func (a *Atom[V]) Get() V {
	if a == nil {
		var zero V
		return zero
	}
	return a.value
}

// Set returns the transition that replaces the value with v. It does not read or change a, which
// may be nil.
func (a *Atom[V]) Set(v V) AtomTransition[V] { return AtomTransition[V]{Value: v} }

// SetAtom returns the transition that replaces an Atom's value with v, as [Atom.Set] does, with
// no Atom at hand: tr.Update(id, aper.SetAtom("new")) for a node of a tree of atoms.
func SetAtom[V any](v V) AtomTransition[V] { return AtomTransition[V]{Value: v} }

// CompareAndSet returns the transition that replaces the value with v if it still equals old at
// the time the transition is applied, and conflicts otherwise. It does not read or change a,
// which may be nil.
func (a *Atom[V]) CompareAndSet(old, v V) AtomTransition[V] {
	return AtomTransition[V]{Value: v, CAS: true, Expect: old}
}

// Apply sets the value, or returns a Mismatch conflict for a compare-and-set whose expectation no
// longer holds.
func (a *Atom[V]) Apply(ev Event[AtomTransition[V]]) error {
	t := ev.Transition
	if t.CAS && !reflect.DeepEqual(a.value, t.Expect) {
		return conflict.New(conflict.Mismatch, "compare-and-set: the current value differs from the expected one")
	}
	a.value = t.Value
	return nil
}

// Clone returns an Atom holding the same value.
func (a *Atom[V]) Clone() *Atom[V] { return &Atom[V]{value: a.value} }

// MarshalJSON encodes the Atom as its value.
func (a *Atom[V]) MarshalJSON() ([]byte, error) { return json.Marshal(a.value) }

// UnmarshalJSON decodes the Atom from its value.
func (a *Atom[V]) UnmarshalJSON(b []byte) error {
	var v V
	if IsNull(b) && !cow.IsNil(v) {
		return fmt.Errorf("%w: atom: null for a %T", ErrMalformed, v)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return malformed("atom", err)
	}
	a.value = v
	return nil
}

// MarshalCBOR encodes the Atom as its value.
func (a *Atom[V]) MarshalCBOR() ([]byte, error) { return CBOR.Marshal(a.value) }

// UnmarshalCBOR decodes the Atom from its value.
func (a *Atom[V]) UnmarshalCBOR(b []byte) error {
	var v V
	if IsNull(b) && !cow.IsNil(v) {
		return fmt.Errorf("%w: atom: null for a %T", ErrMalformed, v)
	}
	if err := cborDecode(b, &v); err != nil {
		return malformed("atom", err)
	}
	a.value = v
	return nil
}

var _ StateMachine[*Atom[int], AtomTransition[int]] = (*Atom[int])(nil)
