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

// Rebaser is an optional power of a state machine, checked at run time like [io.WriterTo]: it
// rebases a client's pending transitions over transitions of others that the server ordered
// before them, by transforming the transitions themselves (operational transformation), in
// time linear in the pending ones. Without it, a client rebases by applying its pending
// transitions again to a Clone of its confirmed state, which costs, for a state such as a text
// that transforms each over everything ordered since it was made, O(pending × concurrent).
// Package text's Text implements it.
//
// A client (package sync) calls Rebase on its confirmed state just after that state applied n ≥ 1
// transitions of others, none of the client's own in between. Before the call, pending[0] was made
// on the confirmed state as it was before those n, and each pending[i] on that state plus
// pending[:i]. Rebase rewrites each pending[i] in place so that it is made on the state as it is
// now plus pending[:i], with the same intent. Transitions the client makes later are made on that
// state too, and the client sends a rebased transition, not the original, if it has not sent it
// yet.
//
// The first exact of the pending transitions may already be with the server as they were: the
// server will apply them after the n, transforming them itself. Rebase must give each of them
// exactly the transition that the server's Apply will have applied (so that the client's later
// pending transitions, made on the client's form of it, fit the server's): for a text, transform
// it over the n one at a time, as Apply does, with the same tie-breaking. The others the server
// has not seen: it will apply the rebased forms as they are sent, so Rebase may transform them by
// any method that keeps their intent (for a text, over the n composed into one).
//
// Convergence needs:
//
//   - Apply on the rebased transitions, in order, on a Clone of the state succeeds (unless the
//     original would have conflicted there), and gives the state that the server's order gives
//     for the exact ones.
//   - Rebase is deterministic and changes neither the state nor anything else the client holds.
//   - On an error Rebase leaves pending as they were, and the client goes back to re-applying
//     them (for as long as it has pending transitions). An error is how a state says it cannot
//     (for example, the n are older than the history it keeps).
//
// The sync client passes n up to 256, so a state keeping fewer of its latest transitions than
// that fails Rebase in a busy room and falls back to re-applying.
type Rebaser[T any] interface {
	// Rebase rewrites pending, made before the state's last n transitions (others'), as made on
	// the state now; the first exact of them as the state's Apply will transform them.
	Rebase(pending []T, exact, n int) error
}

// CatchUpper is an optional power of a state machine, checked at run time like [Rebaser]: a client
// (package sync) whose confirmed state old is replaced by a snapshot, a later state of its room,
// calls CatchUp on the snapshot with its pending transitions, made on old (plus the pending ones
// before each). The snapshot may hold the first of them, applied by the server as author's;
// CatchUp says how many, and rewrites the others in place as made on the snapshot, as Rebaser
// does over transitions that arrive one by one. The client then sends those forms, which any
// server can apply, and shows them on the snapshot. On an error pending is left as it was, and the
// client re-applies and sends its pending transitions as they are. Package text's Text implements
// it.
type CatchUpper[S any, T any] interface {
	// CatchUp rewrites pending, made on old, as made on the state, and returns how many of their
	// first ones the state holds already.
	CatchUp(old S, author ClientID, pending []T) (int, error)
}

// Orderer is an optional power of a state machine, checked at run time like [Rebaser]: the server
// calls Ordered just after its state applied a transition, and sends and logs what it returns in
// place of the transition as its author sent it. A state whose Apply transforms a transition over
// what was ordered since it was made (a text) returns the transition with the result of that
// work attached, so that every replica applies it as it is instead of doing the work again.
// Package text's Text implements it (see text.Edit's Version and Applied).
//
// A client applies its own transitions, when the server confirms them, in the form Sent returns
// (falling back to the ordered form if that conflicts): the state keeps what its author's next
// transitions need (a text, the author's Jupiter queue) for the one author whose pending
// transitions it may have to apply again, at the cost of that author's transitions only.
//
// Convergence needs: applying the ordered form to a replica in the state the server was in before
// the transition gives the state the server has after it, compared by encoding, and so does
// applying the form Sent returns when it does not conflict; and the ordered form applied anywhere
// else (a replica in another state, or the client's own view) behaves as the transition as sent.
type Orderer[T any] interface {
	// Ordered returns the form of t, the transition the state has just applied, to send to
	// replicas.
	Ordered(t T) T
	// Sent returns t, an ordered form or not, as its author sent it.
	Sent(t T) T
}
