package undo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/undo"
)

// clock is a fake clock that the test moves.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }
func newClock() *clock                   { return &clock{now: time.Unix(1000, 0)} }
func add(n int64) aper.CounterTransition {
	return aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n}
}
func set(v string) aper.AtomTransition[string] { return aper.AtomTransition[string]{Value: v} }

// do applies t to c as an own transition and records its inverse.
func do(t *testing.T, m *undo.Manager[aper.CounterTransition], c *aper.Counter, n int64) undo.Ref {
	t.Helper()
	inv, err := c.ApplyInverse(aper.On(add(n)))
	if err != nil {
		t.Fatal(err)
	}
	return m.Record(inv)
}

func TestGroupingByInterval(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m := undo.New[aper.CounterTransition](&undo.Options{Now: clk.Now})
	c := aper.NewCounter(0)
	do(t, m, c, 1)
	clk.advance(400 * time.Millisecond)
	do(t, m, c, 2) // within 500 ms of the one before: the same step
	clk.advance(400 * time.Millisecond)
	do(t, m, c, 4) // within 500 ms of the one before, though not of the first
	clk.advance(501 * time.Millisecond)
	do(t, m, c, 8) // a step of its own
	apply := undo.Applier[aper.CounterTransition](c, m, nil)
	for _, want := range []int64{7, 0} {
		r, err := m.Undo(apply)
		if err != nil || c.Value() != want || r.Steps != 1 {
			t.Fatalf("undo: value %d, %+v, %v; want %d", c.Value(), r, err, want)
		}
	}
	if m.CanUndo() {
		t.Error("CanUndo after undoing everything")
	}
	if r, err := m.Undo(apply); err != nil || len(r.Applied) != 0 || r.Steps != 0 {
		t.Errorf("undo with nothing to undo: %+v, %v", r, err)
	}
}

func TestGroupAndBreak(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m := undo.New[aper.CounterTransition](&undo.Options{Interval: -1, Now: clk.Now})
	c := aper.NewCounter(0)
	m.Group(func() {
		do(t, m, c, 1)
		clk.advance(time.Hour)
		do(t, m, c, 2)
	})
	do(t, m, c, 4) // no interval grouping: a step of its own
	clk2 := newClock()
	m2 := undo.New[aper.CounterTransition](&undo.Options{Now: clk2.Now})
	c2 := aper.NewCounter(0)
	do(t, m2, c2, 1)
	m2.Break()
	do(t, m2, c2, 2) // at the same instant, but after a Break
	for _, tc := range []struct {
		m     *undo.Manager[aper.CounterTransition]
		c     *aper.Counter
		wants []int64
	}{{m, c, []int64{3, 0}}, {m2, c2, []int64{1, 0}}} {
		for _, want := range tc.wants {
			if _, err := tc.m.Undo(undo.Applier[aper.CounterTransition](tc.c, tc.m, nil)); err != nil || tc.c.Value() != want {
				t.Fatalf("undo: %d, %v; want %d", tc.c.Value(), err, want)
			}
		}
	}
}

func TestRedoAndNewChange(t *testing.T) {
	t.Parallel()
	m := undo.New[aper.CounterTransition](&undo.Options{Interval: -1})
	c := aper.NewCounter(0)
	apply := undo.Applier[aper.CounterTransition](c, m, nil)
	do(t, m, c, 1)
	do(t, m, c, 2)
	m.Undo(apply)
	m.Undo(apply)
	if c.Value() != 0 || !m.CanRedo() {
		t.Fatalf("after two undos: %d, CanRedo %v", c.Value(), m.CanRedo())
	}
	if _, err := m.Redo(apply); err != nil || c.Value() != 1 {
		t.Fatalf("redo: %d, %v", c.Value(), err)
	}
	do(t, m, c, 10) // a new change clears the redo stack
	if m.CanRedo() {
		t.Error("CanRedo after a new change")
	}
	if r, err := m.Redo(apply); err != nil || len(r.Applied) != 0 || c.Value() != 11 {
		t.Errorf("redo after a new change: %+v, %v, value %d", r, err, c.Value())
	}
	for m.CanUndo() {
		m.Undo(apply)
	}
	if c.Value() != 0 {
		t.Errorf("after undoing everything: %d", c.Value())
	}
}

// TestConflictSkipped: an undo whose transition conflicts is skipped and reported, the rest of
// its step applies, and a step of which nothing applies gives way to the one below it.
func TestConflictSkipped(t *testing.T) {
	t.Parallel()
	m := undo.New[aper.AtomTransition[string]](&undo.Options{Interval: -1})
	a := aper.NewAtom("a")
	b := aper.NewAtom("x")
	record := func(x *aper.Atom[string], v string) {
		inv, err := x.ApplyInverse(aper.On(set(v)))
		if err != nil {
			t.Fatal(err)
		}
		m.Record(inv)
	}
	record(a, "b")                                     // step 1, on a
	record(b, "y")                                     // step 2, on b
	m.Group(func() { record(a, "c"); record(b, "z") }) // step 3, on both
	_ = b.Apply(aper.On(set("other")))                 // someone else sets b since
	_ = a.Apply(aper.On(set("c2")))                    // and a
	_ = a.Apply(aper.On(set("c")))                     // and back
	// One function applies to whichever atom the transition fits (a test's two states).
	apply := func(t aper.AtomTransition[string]) (aper.AtomTransition[string], error) {
		for _, x := range []*aper.Atom[string]{a, b} {
			if x.Get() == t.Expect {
				return x.ApplyInverse(aper.On(t))
			}
		}
		return a.ApplyInverse(aper.On(t))
	}
	r, err := m.Undo(apply) // step 3: a's undo applies, b's conflicts
	if err != nil || len(r.Applied) != 1 || len(r.Conflicts) != 1 || !errors.Is(r.Conflicts[0], conflict.ErrMismatch) || a.Get() != "b" {
		t.Fatalf("undo of step 3: %+v, %v, a = %q", r, err, a.Get())
	}
	r, err = m.Undo(apply) // step 2 conflicts whole: step 1 is undone in the same call
	if err != nil || r.Steps != 2 || len(r.Conflicts) != 1 || len(r.Applied) != 1 || a.Get() != "a" {
		t.Fatalf("undo of steps 2 and 1: %+v, %v, a = %q", r, err, a.Get())
	}
	if m.CanUndo() {
		t.Error("CanUndo after the stack is gone through")
	}
	if r, err := m.Redo(apply); err != nil || a.Get() != "b" || len(r.Applied) != 1 {
		t.Errorf("redo: %+v, %v, a = %q", r, err, a.Get())
	}
}

// TestOtherErrorStops: an error that is no conflict stops the undo and keeps what was not tried.
func TestOtherErrorStops(t *testing.T) {
	t.Parallel()
	m := undo.New[aper.CounterTransition](&undo.Options{Interval: -1})
	c := aper.NewCounter(0)
	m.Group(func() { do(t, m, c, 1); do(t, m, c, 2); do(t, m, c, 4) })
	broken := errors.New("connection closed")
	calls := 0
	apply := func(tr aper.CounterTransition) (aper.CounterTransition, error) {
		if calls++; calls == 2 {
			return aper.CounterTransition{}, broken
		}
		return c.ApplyInverse(aper.On(tr))
	}
	r, err := m.Undo(apply)
	if !errors.Is(err, broken) || len(r.Applied) != 1 || c.Value() != 3 {
		t.Fatalf("undo: %+v, %v, value %d", r, err, c.Value())
	}
	if r, err := m.Undo(apply); err != nil || len(r.Applied) != 2 || c.Value() != 0 {
		t.Fatalf("undo again: %+v, %v, value %d", r, err, c.Value())
	}
	for _, want := range []int64{3, 7} { // the two undone parts, one redo step each, latest first
		if _, err := m.Redo(apply); err != nil || c.Value() != want {
			t.Fatalf("redo: %d, %v; want %d", c.Value(), err, want)
		}
	}
}

func TestReplaceForgetLimit(t *testing.T) {
	t.Parallel()
	m := undo.New[aper.CounterTransition](&undo.Options{Interval: -1, Limit: 2})
	c := aper.NewCounter(0)
	apply := undo.Applier[aper.CounterTransition](c, m, nil)
	r1 := do(t, m, c, 1)
	r2 := do(t, m, c, 2)
	r3 := do(t, m, c, 4) // the limit drops step 1
	if m.Replace(r1, add(-100)) || m.Forget(r1) {
		t.Error("ref 1 is still held past the limit")
	}
	if !m.Replace(r3, add(-40)) || !m.Forget(r2) || m.Forget(r2) {
		t.Error("Replace or Forget of held refs")
	}
	if _, err := m.Undo(apply); err != nil || c.Value() != 7-40 {
		t.Fatalf("undo of the replaced inverse: %d, %v", c.Value(), err)
	}
	if m.CanUndo() {
		t.Error("the forgotten step is still there")
	}
	if m.Replace(r3, add(1)) {
		t.Error("a ref applied by Undo is still held")
	}
}

// TestReverted: what Undo and Redo applied is kept for a Forwarder, and Replace of an applied
// transition's ref updates it there too.
func TestReverted(t *testing.T) {
	t.Parallel()
	m := undo.New[aper.CounterTransition](&undo.Options{Interval: -1})
	c := aper.NewCounter(0)
	do(t, m, c, 5)
	r, err := m.Undo(undo.Applier[aper.CounterTransition](c, m, nil))
	if err != nil || len(r.Refs) != 1 {
		t.Fatal(r, err)
	}
	want := []undo.Reverted[aper.CounterTransition]{{Inverse: add(-5), Back: add(5)}}
	if got := m.Reverted(); len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Reverted = %+v, want %+v", got, want)
	}
	if !m.Replace(r.Refs[0], add(6)) || m.Reverted()[0].Back != add(6) {
		t.Errorf("Replace did not reach Reverted: %+v", m.Reverted())
	}
	if _, err := m.Redo(undo.Applier[aper.CounterTransition](c, m, nil)); err != nil || c.Value() != 6 {
		t.Errorf("redo of the replaced inverse: %d, %v", c.Value(), err)
	}
}
