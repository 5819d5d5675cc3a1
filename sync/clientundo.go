package sync

import (
	"errors"

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
