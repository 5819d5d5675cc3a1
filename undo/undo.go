// Package undo is selective undo and redo of the local user's own transitions: a deterministic
// core, with no I/O, no goroutines and an injected clock, that a sync client owns.
//
// A [Manager] records the inverse of each own transition as it is applied (a state that is an
// [aper.Inverter] gives it: every built-in structure is one). Undo applies the inverses of the
// latest step as new transitions, which go through the server like any other, so only the
// user's own changes are undone, never another user's; Redo applies the inverses of those.
// Transitions recorded within an interval of the one before (500 ms by default) are one step; a
// [aper.Transaction] is one transition, so it is always in one step.
//
// An inverse is applied later than it was made, after others' transitions. The structures make
// it still mean the same: list, tree and board inverses name items by id and anchor positions to
// neighbours (falling back to captured indexes); a text inverse is re-expressed, just before it
// is applied, over the edits applied since it was made, an undone edit and its undo counting as
// neither ([Forwarder]: text.Text's Forward, given [Manager.Reverted]). Where it cannot mean the
// same (the item it restores next to is gone with no fallback, the move back would make a
// cycle, someone set the value since), applying it is a conflict: Undo skips that transition,
// reports the conflict, applies the rest of the step, and if nothing of the step applied, goes
// on to the step below it. A remote transition needs nothing from the Manager.
//
// # Use from a sync client
//
//   - When the user applies a transition t: apply it to the optimistic view with
//     [aper.ApplyInverse] and call [Manager.Record] with the inverse; keep the returned [Ref]
//     with the pending transition. A transition with no inverse ([aper.ErrNoInverse]) is applied
//     with Apply and not recorded.
//   - When the view is rebuilt (a rebase) or the server confirms t, the inverse made on the old
//     view may be based on another state (a text's version numbers are the view's): apply t
//     again with ApplyInverse where it is applied now and call [Manager.Replace] with the new
//     inverse. When the server rejects t, call [Manager.Forget].
//   - Undo and Redo take the function that applies one transition as the user's own (to the
//     view, queued for the server) and returns its inverse, as the client's Apply does, after
//     re-expressing it with Forward(t, m.Reverted()) when the view is a [Forwarder] (as
//     [Applier] does); they return the refs of what they applied, for Replace and Forget as
//     above.
//
// A Manager is not safe for concurrent use: its owner (the client's loop) calls it.
package undo

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// DefaultInterval is the interval within which own transitions are grouped into one step when
// [Options] leaves it zero.
const DefaultInterval = 500 * time.Millisecond

// Options configures a [Manager]. A nil *Options, and every zero field, means the default.
type Options struct {
	// Interval groups a transition recorded less than Interval after the one before into that
	// one's step. Zero means [DefaultInterval]; a negative Interval groups none (each
	// transition is a step, unless grouped with [Manager.Group]).
	Interval time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Limit is the most steps the undo stack holds; the oldest go first. Zero means no limit.
	Limit int
}

// Ref names a recorded transition, for [Manager.Replace] and [Manager.Forget]. Refs are never
// reused by one Manager; the zero Ref names nothing.
type Ref uint64

// ApplyFunc applies t as a new transition of the local user and returns its inverse, as
// [aper.Inverter.ApplyInverse] does. Its error is a conflict (wrapping a *conflict.Conflict)
// when t no longer applies; any other error stops Undo or Redo.
type ApplyFunc[T any] func(t T) (inverse T, err error)

// Result is what an Undo or a Redo did.
type Result[T any] struct {
	// Applied are the transitions applied, in order, as given to the ApplyFunc.
	Applied []T
	// Refs are the refs under which their inverses are recorded (for the other stack), in the
	// same order.
	Refs []Ref
	// Conflicts are the conflicts of the transitions skipped, in order.
	Conflicts []error
	// Steps is the number of steps taken off the stack: more than one when every transition
	// of a step conflicted and the next was tried.
	Steps int
}

// Manager is the undo and redo stacks of one user's own transitions (see the package doc). Make
// one with [New]; the zero Manager is not ready to use.
type Manager[T any] struct {
	interval time.Duration
	now      func() time.Time
	limit    int
	undo     []step[T]
	redo     []step[T]
	open     bool      // the top undo step takes the next Record within the interval
	last     time.Time // when the latest Record was
	group    int       // Group calls running
	next     Ref
	reverted []Reverted[T]
	backRefs []Ref // the ref of each reverted's Back, for Replace
}

// step is transitions in the order they were applied; undone in the reverse order.
type step[T any] []entry[T]

type entry[T any] struct {
	ref Ref
	inv T
}

// New returns an empty Manager. opts may be nil.
func New[T any](opts *Options) *Manager[T] {
	m := &Manager[T]{interval: DefaultInterval, now: time.Now}
	if opts != nil {
		if opts.Interval != 0 {
			m.interval = opts.Interval
		}
		if opts.Now != nil {
			m.now = opts.Now
		}
		m.limit = max(opts.Limit, 0)
	}
	return m
}

// Record records the inverse of an own transition that was just applied, and returns its ref.
// It clears the redo stack: a new change ends what can be redone. The transition joins the
// latest step if it comes within the interval of the one recorded before it (or inside a
// [Manager.Group]) and no Undo, Redo or Break came between.
func (m *Manager[T]) Record(inverse T) Ref {
	now := m.now()
	m.redo = nil
	m.next++
	e := entry[T]{ref: m.next, inv: inverse}
	joins := m.open && len(m.undo) > 0 &&
		(m.group > 0 || m.interval > 0 && now.Sub(m.last) < m.interval && !now.Before(m.last))
	if joins {
		m.undo[len(m.undo)-1] = append(m.undo[len(m.undo)-1], e)
	} else {
		m.push(&m.undo, step[T]{e})
	}
	m.open, m.last = true, now
	return e.ref
}

// Group calls f, and every transition recorded while it runs joins one step, whatever the
// interval.
func (m *Manager[T]) Group(f func()) {
	m.Break()
	m.group++
	defer func() { m.group--; m.Break() }()
	f()
}

// Break ends the latest step: the next transition recorded starts a new one.
func (m *Manager[T]) Break() { m.open = false }

// Replace replaces the inverse recorded under ref, on either stack and in [Manager.Reverted],
// and reports whether ref is still there. A client calls it when it has made the inverse again
// on another state (see the package doc).
func (m *Manager[T]) Replace(ref Ref, inverse T) bool {
	found := false
	if i := slices.Index(m.backRefs, ref); i >= 0 {
		m.reverted[i].Back, found = inverse, true
	}
	if e := m.find(ref); e != nil {
		e.inv, found = inverse, true
	}
	return found
}

// Forget drops the transition recorded under ref (its transition was rejected, so there is
// nothing to undo), and reports whether ref was there. A step left empty is dropped.
func (m *Manager[T]) Forget(ref Ref) bool {
	for _, s := range [2]*[]step[T]{&m.undo, &m.redo} {
		for i, st := range *s {
			for j, e := range st {
				if e.ref == ref {
					st = append(st[:j:j], st[j+1:]...)
					if len(st) == 0 {
						*s = append((*s)[:i:i], (*s)[i+1:]...)
					} else {
						(*s)[i] = st
					}
					return true
				}
			}
		}
	}
	return false
}

func (m *Manager[T]) find(ref Ref) *entry[T] {
	for _, s := range [2][]step[T]{m.undo, m.redo} {
		for i := len(s) - 1; i >= 0; i-- {
			for j := range s[i] {
				if s[i][j].ref == ref {
					return &s[i][j]
				}
			}
		}
	}
	return nil
}

// CanUndo reports whether the undo stack holds a step.
func (m *Manager[T]) CanUndo() bool { return len(m.undo) > 0 }

// CanRedo reports whether the redo stack holds a step.
func (m *Manager[T]) CanRedo() bool { return len(m.redo) > 0 }

// Undo undoes the latest step: it applies the inverses of its transitions, the latest first,
// with apply, and records their inverses as a step of the redo stack. A transition whose apply
// conflicts is skipped and its conflict reported in the Result; when none of a step applies, the
// step below is tried, and so on. With nothing to undo it does nothing.
//
// Any other error from apply stops Undo: the transitions applied so far stay done (their
// inverses on the redo stack), those not tried stay on the undo stack, and the error is
// returned with the Result so far.
func (m *Manager[T]) Undo(apply ApplyFunc[T]) (Result[T], error) {
	return m.pop(&m.undo, &m.redo, apply)
}

// Redo redoes the latest undone step, as Undo does with the stacks swapped. A Record since the
// Undo has cleared the redo stack.
func (m *Manager[T]) Redo(apply ApplyFunc[T]) (Result[T], error) {
	return m.pop(&m.redo, &m.undo, apply)
}

func (m *Manager[T]) pop(from, to *[]step[T], apply ApplyFunc[T]) (Result[T], error) {
	m.open = false
	var r Result[T]
	for len(*from) > 0 && len(r.Applied) == 0 {
		top := (*from)[len(*from)-1]
		*from = (*from)[:len(*from)-1]
		r.Steps++
		var done step[T]
		for i := len(top) - 1; i >= 0; i-- {
			inv, err := apply(top[i].inv)
			var c *conflict.Conflict
			switch {
			case err == nil:
				if len(m.reverted) == maxReverted {
					m.reverted = append(m.reverted[:0], m.reverted[1:]...)
					m.backRefs = append(m.backRefs[:0], m.backRefs[1:]...)
				}
				m.next++
				m.reverted = append(m.reverted, Reverted[T]{Inverse: top[i].inv, Back: inv})
				m.backRefs = append(m.backRefs, m.next)
				done = append(done, entry[T]{ref: m.next, inv: inv})
				r.Applied = append(r.Applied, top[i].inv)
				r.Refs = append(r.Refs, m.next)
			case errors.As(err, &c):
				r.Conflicts = append(r.Conflicts, err)
			default:
				m.push(from, top[:i+1])
				if len(done) > 0 {
					m.push(to, done)
				}
				return r, fmt.Errorf("aper/undo: %w", err)
			}
		}
		if len(done) > 0 {
			m.push(to, done)
		}
	}
	return r, nil
}

// push puts s on top of the stack, dropping the oldest step past the limit.
func (m *Manager[T]) push(stack *[]step[T], s step[T]) {
	*stack = append(*stack, s)
	if m.limit > 0 && len(*stack) > m.limit {
		*stack = append((*stack)[:0], (*stack)[1:]...)
	}
}

// Reverted is one transition that Undo or Redo applied: Inverse, the inverse of an earlier
// transition as it was recorded (so Inverse took that transition back), and Back, the inverse
// that applying it gave (which would take it back in turn). A [Forwarder] reads them to see
// which of the transitions since a stored inverse was made have been taken back.
type Reverted[T any] struct {
	Inverse, Back T
}

// Forwarder is an optional power of a state, checked at run time: it re-expresses a transition
// made against an earlier state of its own (a stored inverse) over everything applied since, as
// a transition made against the state now. reverted are the transitions an undo manager applied
// (oldest first): a transition and the undo that took it back count as if neither had happened,
// which a plain transformation over both does not give (text deleted and put back would lose
// where things inside it were). text.Text has it. [Applier] calls it before it applies an
// inverse.
type Forwarder[T any] interface {
	// Forward returns t as made against the state now.
	Forward(t T, reverted []Reverted[T]) (T, error)
}

// maxReverted is how many of the latest Reverted a Manager keeps for Forward: as many as a
// text keeps edits by default, more than a Forward can use.
const maxReverted = 1024

// Reverted returns the transitions Undo and Redo applied, oldest first, up to the latest 1,024,
// for a [Forwarder]. The slice is the Manager's: read it, and do not keep it past the next Undo
// or Redo.
func (m *Manager[T]) Reverted() []Reverted[T] { return m.reverted }

// Applier returns an [ApplyFunc] that applies to s directly: it re-expresses each transition
// with s's Forward if s is a [Forwarder] (with m's Reverted), then applies it with
// [aper.ApplyInverse] in the event that event makes (aper.On if event is nil). It is for a
// state that the Manager's owner applies to itself (a server-side agent, a test, a state with
// no server); a sync client passes its own Apply, which does the same to its view and queues
// the transition for the server.
func Applier[T any](s interface{ Apply(aper.Event[T]) error }, m *Manager[T], event func(T) aper.Event[T]) ApplyFunc[T] {
	if event == nil {
		event = aper.On[T]
	}
	return func(t T) (T, error) {
		if f, ok := s.(Forwarder[T]); ok {
			var err error
			if t, err = f.Forward(t, m.Reverted()); err != nil {
				var zero T
				return zero, err
			}
		}
		return aper.ApplyInverse(s, event(t))
	}
}
