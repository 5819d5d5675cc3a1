package aper

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/aper-go/aper/conflict"
)

// Counter is an int64 that transitions add to or set. A sum that would overflow int64 is an
// OutOfRange conflict, never a wrap. Its zero value is a counter at 0, ready to use.
type Counter struct {
	value int64
}

// CounterOp says what a CounterTransition does.
type CounterOp uint8

// The counter operations.
const (
	CounterOpAdd CounterOp = iota + 1 // add Amount (which may be negative)
	CounterOpSet                      // set the value to Amount
)

// CounterTransition adds to or sets a Counter.
type CounterTransition struct {
	// Op says whether to add or set.
	Op CounterOp `json:"op" cbor:"1,keyasint"`
	// Amount is what to add (or subtract, if negative), or the value to set.
	Amount int64 `json:"n" cbor:"2,keyasint"`
}

// String describes the transition for logs: "add 3", "add -1" or "set 0".
func (t CounterTransition) String() string {
	switch t.Op {
	case CounterOpAdd:
		return fmt.Sprintf("add %d", t.Amount)
	case CounterOpSet:
		return fmt.Sprintf("set %d", t.Amount)
	}
	return fmt.Sprintf("CounterOp(%d) %d", t.Op, t.Amount)
}

// NewCounter returns a counter holding v.
func NewCounter(v int64) *Counter { return &Counter{value: v} }

// Value returns the current value; a nil *Counter (a nil field of a struct that aper-gen makes a
// state machine) holds 0.
func (c *Counter) Value() int64 {
	if c == nil {
		return 0
	}
	return c.value
}

// Add returns the transition that adds n (negative n subtracts). It does not read or change c,
// which may be nil.
func (c *Counter) Add(n int64) CounterTransition {
	return CounterTransition{Op: CounterOpAdd, Amount: n}
}

// Set returns the transition that sets the value to n. It does not read or change c, which may
// be nil.
func (c *Counter) Set(n int64) CounterTransition {
	return CounterTransition{Op: CounterOpSet, Amount: n}
}

// Apply adds or sets. An overflowing sum is an OutOfRange conflict; an unknown operation is an
// Invalid conflict. Neither changes the counter.
func (c *Counter) Apply(ev Event[CounterTransition]) error {
	t := ev.Transition
	switch t.Op {
	case CounterOpAdd:
		n := t.Amount
		if (n > 0 && c.value > math.MaxInt64-n) || (n < 0 && c.value < math.MinInt64-n) {
			return conflict.New(conflict.OutOfRange, "counter: the sum overflows int64")
		}
		c.value += n
	case CounterOpSet:
		c.value = t.Amount
	default:
		return conflict.New(conflict.Invalid, "counter: unknown operation")
	}
	return nil
}

// Clone returns a counter with the same value.
func (c *Counter) Clone() *Counter { return &Counter{value: c.value} }

// MarshalJSON encodes the counter as its value.
func (c *Counter) MarshalJSON() ([]byte, error) { return json.Marshal(c.value) }

// UnmarshalJSON decodes the counter from its value.
func (c *Counter) UnmarshalJSON(b []byte) error {
	if IsNull(b) {
		return fmt.Errorf("%w: counter: null", ErrMalformed)
	}
	if err := json.Unmarshal(b, &c.value); err != nil {
		return malformed("counter", err)
	}
	return nil
}

// MarshalCBOR encodes the counter as its value.
func (c *Counter) MarshalCBOR() ([]byte, error) { return CBOR.Marshal(c.value) }

// UnmarshalCBOR decodes the counter from its value.
func (c *Counter) UnmarshalCBOR(b []byte) error {
	if IsNull(b) {
		return fmt.Errorf("%w: counter: null", ErrMalformed)
	}
	if err := cborDecode(b, &c.value); err != nil {
		return malformed("counter", err)
	}
	return nil
}

var _ StateMachine[*Counter, CounterTransition] = (*Counter)(nil)
