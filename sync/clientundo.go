package sync

import (
	"errors"
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/undo"
)

// applyTo applies ev to s. With an undo stack it applies it with aper.ApplyInverse and returns
// the inverse (ok true); a transition with no inverse is applied with Apply (ok false).
func (c *clientCore[S, T]) applyTo(s S, ev aper.Event[T]) (inv T, ok bool, err error) {
	if c.undo == nil {
		return inv, false, s.Apply(ev)
	}
	inv, err = aper.ApplyInverse[T](s, ev)
	if errors.Is(err, aper.ErrNoInverse) {
		return inv, false, s.Apply(ev)
	}
	return inv, err == nil, err
}

// applyOrdered applies ev, a transition the server confirmed, to confirmed; own says it is the
// client's own. A state that is an aper.Orderer applies the client's own transitions in the form
// its author sent them (see there), or in the ordered form if that conflicts, when the client may
// have to apply its pending transitions again as they are: it is no aper.Rebaser, or its rebase
// failed (replay). A Rebaser keeps them made on confirmed as it is, and needs nothing more.
func (c *clientCore[S, T]) applyOrdered(ev aper.Event[T], ref undo.Ref, own bool) error {
	if !own {
		return c.applyConfirmed(ev, ref)
	}
	if _, ok := any(c.confirmed).(aper.Rebaser[T]); ok && !c.replay {
		return c.applyConfirmed(ev, ref)
	}
	if o, ok := any(c.confirmed).(aper.Orderer[T]); ok {
		sent := ev
		sent.Transition = o.Sent(ev.Transition)
		if c.applyConfirmed(sent, ref) == nil {
			return nil
		}
	}
	return c.applyConfirmed(ev, ref)
}

// applyConfirmed applies ev to the confirmed state. ref is the undo stack's entry of an own
// transition: its inverse is made anew on the confirmed state, which every later view is built
// on.
func (c *clientCore[S, T]) applyConfirmed(ev aper.Event[T], ref undo.Ref) error {
	if ref == 0 {
		return c.confirmed.Apply(ev)
	}
	inv, ok, err := c.applyTo(c.confirmed, ev)
	if ok {
		c.undo.Replace(ref, inv)
	}
	return err
}

// ErrNoUndo is returned by Undo and Redo of a client made without WithUndo.
var ErrNoUndo = errors.New("aper/sync: the client keeps no undo stack (WithUndo)")

// WithUndo gives the client an undo stack of its own transitions (see [Client.Undo]). opts
// configures it as it does an undo.Manager: nil, or a zero Interval, groups the transitions
// applied within undo.DefaultInterval (500 ms) of each other into one step. The state must be an
// aper.Inverter (every built-in structure and aper-gen struct is): Dial returns an error
// matching ErrInvalidOption if it is not.
//
// With an undo stack, Apply uses the state's ApplyInverse instead of Apply, and the inverse of
// each own transition is made again when the view is rebuilt and when the server confirms it.
func WithUndo(opts *undo.Options) ClientOption {
	return func(c *clientConfig) error {
		if opts != nil && opts.Limit < 0 {
			return fmt.Errorf("%w: undo limit %d", ErrInvalidOption, opts.Limit)
		}
		c.undo, c.undoOpts = true, opts
		return nil
	}
}

// canUndo says whether a state of type S can keep an undo stack.
func canUndo[S aper.StateMachine[S, T], T any]() error {
	var s S
	if _, ok := any(s).(aper.Inverter[T]); !ok {
		return fmt.Errorf("%w: WithUndo: %T is no aper.Inverter", ErrInvalidOption, s)
	}
	return nil
}

// UndoResult is what an Undo or a Redo did.
type UndoResult[T any] struct {
	// Applied are the transitions applied, in order, as new transitions of this client, as
	// they were applied and sent (re-expressed over what came since when the state is an
	// undo.Forwarder: not the inverses as recorded): each goes to the server like any other,
	// and may still be rejected there.
	Applied []T
	// Handles are their handles, in the same order.
	Handles []*Handle
	// Conflicts are the conflicts of the transitions skipped, in order: each is an error that
	// errors.As finds a *conflict.Conflict in (the item to restore is gone, the move back would
	// make a cycle, someone set another value since).
	Conflicts []error
	// Steps is the number of steps taken off the stack: more than one when every transition of
	// a step conflicted and the step below was tried.
	Steps int
}

// Undo undoes the latest step of this client's own transitions, never another client's: it
// applies the inverses of the step's transitions, the latest first, as new transitions (Apply)
// that go through the server like any other, and puts what redoes them on the redo stack. A
// step is the transitions applied within the interval of WithUndo of each other, or one
// transaction. An inverse is re-expressed over everything applied since it was made (a text's
// edit keeps others' typing after it where it is). An inverse that conflicts with what others
// did since is skipped and reported in Conflicts; if the whole step conflicts, the step below it
// is tried. With nothing to undo it does nothing.
//
// The error is ErrNoUndo without WithUndo, one matching ErrClosed after Close, or the error of
// an Apply that failed otherwise than by a conflict, with what was done before it.
func (c *Client[S, T]) Undo() (UndoResult[T], error) {
	return c.undoRedo("undo", (*undo.Manager[T]).Undo)
}

// Redo redoes the latest step that Undo undid, as Undo does with the stacks swapped. Any Apply
// since that Undo has cleared the redo stack.
func (c *Client[S, T]) Redo() (UndoResult[T], error) {
	return c.undoRedo("redo", (*undo.Manager[T]).Redo)
}

// CanUndo reports whether Undo has a step to undo.
func (c *Client[S, T]) CanUndo() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.undo != nil && c.core.undo.CanUndo()
}

// CanRedo reports whether Redo has a step to redo.
func (c *Client[S, T]) CanRedo() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.undo != nil && c.core.undo.CanRedo()
}

func (c *Client[S, T]) undoRedo(op string, pop func(*undo.Manager[T], undo.ApplyFunc[T]) (undo.Result[T], error)) (UndoResult[T], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		return UndoResult[T]{}, wrap(ErrClosed, "%s", op)
	}
	m := c.core.undo
	if m == nil {
		return UndoResult[T]{}, wrap(ErrNoUndo, "%s", op)
	}
	if !c.core.hasState {
		return UndoResult[T]{}, wrap(errors.New("no state yet"), "%s", op)
	}
	// The view is rebuilt on the confirmed state, with the inverses of the pending transitions
	// made anew: the stored inverses are based on the confirmed state's history.
	c.core.dirty = true
	c.core.rebase()
	var res UndoResult[T]
	r, err := pop(m, func(t T) (T, error) {
		var zero T
		if f, ok := any(c.core.view).(undo.Forwarder[T]); ok {
			ft, err := f.Forward(t, m.Reverted())
			if err != nil {
				return zero, err
			}
			t = ft
		}
		if c.cfg.maxPending > 0 && len(c.core.pending) >= c.cfg.maxPending {
			return zero, fmt.Errorf("%w: %d transitions wait for the server", ErrLimit, c.cfg.maxPending)
		}
		h, inv, ok, err := c.applyLocked(t, false)
		if err != nil {
			return zero, err
		}
		res.Applied = append(res.Applied, t) // as applied: re-expressed by Forward
		if !ok {
			// Applied, but with no inverse to redo it by: nothing goes on the redo stack.
			inv = zero
		}
		res.Handles = append(res.Handles, h)
		return inv, nil
	})
	res.Conflicts, res.Steps = r.Conflicts, r.Steps
	// The refs of the inverses the Manager recorded go with the pending transitions, so that
	// they are made again on confirmation and forgotten on rejection.
	for i, ref := range r.Refs {
		local := res.Handles[i].local
		for j := len(c.core.pending) - 1; j >= 0; j-- {
			if c.core.pending[j].local == local {
				c.core.pending[j].ref = ref
				break
			}
		}
	}
	if err != nil {
		return res, wrap(err, "%s", op)
	}
	return res, nil
}
