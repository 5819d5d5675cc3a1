// Package aper is the core of aper for Go: replicated state written as deterministic state
// machines.
//
// An application's shared state is a [StateMachine]: a value plus a set of transitions. Apply is
// deterministic, so replicas that apply the same transitions in the same order hold the same state.
// A server (package sync) puts every transition of a room in one total order and broadcasts it;
// each client applies its own transitions at once and rebases them when the server's order
// differs. A transition that no longer makes sense is a conflict (package conflict): Apply returns
// it and changes nothing.
//
// This package holds the contract ([StateMachine], [Event], [ClientID]), the small structures
// ([Atom], [Counter], [Map]), all-or-nothing [Transaction]s, and the wire codecs ([JSON], [CBOR]).
// The larger structures live in list, tree, text and pool.
//
// # Concurrency
//
// A state machine is a plain value: one goroutine at a time may use it (Apply, Clone, reads). Clone
// gives an independent value that another goroutine may own; the two share unchanged nodes, and
// the library's structures make that sharing safe (shared nodes are never written, and the
// bookkeeping on them is atomic or locked). Clone counts as a write to the value it copies.
//
// # Numbers in JSON
//
// The JSON codec writes int64 and uint64 values (Counter values, Seq) as JSON numbers. Go decodes
// them exactly; a JavaScript client loses precision above 2^53, so such clients should use CBOR
// or keep their numbers small.
package aper

import (
	"time"
)

// ClientID names a client of a room. The server assigns it (from the authentication hook, or a
// fresh random id) and stamps it on every event; a state machine may use it, for example to know
// whose turn it is. The zero ClientID marks events the server made itself (timers, joins).
type ClientID string

// Event is what Apply receives: a transition and where it came from.
type Event[T any] struct {
	// Seq is the transition's position in the room's total order, starting at 1. It is 0 while
	// the transition is applied optimistically on a client, before the server orders it.
	Seq uint64 `json:"seq,omitempty" cbor:"1,keyasint,omitempty"`
	// Client is the sender, stamped by the server (never trusted from the client). It is empty
	// for the server's own events.
	Client ClientID `json:"client,omitempty" cbor:"2,keyasint,omitempty"`
	// Time is the server's clock when it ordered the transition, the only clock a state machine
	// may read. On a client's optimistic apply it is the client's estimate of the server's clock.
	Time time.Time `json:"time,omitzero" cbor:"3,keyasint,omitzero"`
	// Transition is what the sender asked for.
	Transition T `json:"transition" cbor:"4,keyasint"`
}

// StateMachine is the contract of every replicated state. S is the state type itself (usually a
// pointer such as *Counter) and T its transition type.
//
// Rules a state machine must follow; replicas diverge when one is broken:
//
//   - Apply is deterministic: its result depends only on the state and the event. It reads no
//     clock but ev.Time, no randomness, no map iteration order, no environment or network.
//   - Apply returns nil, or an error that wraps a *conflict.Conflict; on a conflict the state is
//     exactly as it was before the call (compared by encoding).
//   - Clone returns an independent deep copy: applying transitions to either never changes the
//     other. Clone should be cheap: the library's structures share unchanged nodes and copy on the
//     first write, so cloning a large list or map is O(1).
//   - The state and its transitions round-trip through every codec (JSON and CBOR): decoding the
//     encoding of a value gives a value with the same encoding.
//   - Apply does not keep a reference to anything reachable from the event's transition that it
//     later mutates: the same transition value may be applied to several replicas.
type StateMachine[S any, T any] interface {
	// Apply applies ev.Transition: it returns nil, or a conflict and leaves the state as it was.
	Apply(ev Event[T]) error
	// Clone returns an independent deep copy, cheaply (see above).
	Clone() S
}

// On wraps a transition in an Event with no sequence number, sender or time, for applying it
// directly (in tests, or to a state that no server orders).
func On[T any](t T) Event[T] {
	return Event[T]{Transition: t}
}
