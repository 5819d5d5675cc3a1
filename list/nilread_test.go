package list_test

import (
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
)

// A nil *List, an unset field of a generated struct, reads as empty.
func TestNilListReads(t *testing.T) {
	var l *list.List[*aper.Counter, aper.CounterTransition]
	id := uuid.New()
	if l.Len() != 0 || l.Has(id) {
		t.Fatalf("nil list: Len %d, Has %v", l.Len(), l.Has(id))
	}
	if _, ok := l.KeyOf(id); ok {
		t.Fatal("nil list: KeyOf found an item")
	}
	if v, ok := l.Get(id); ok || v != nil {
		t.Fatalf("nil list: Get = %v, %v", v, ok)
	}
	if _, v, ok := l.At(0); ok || v != nil {
		t.Fatalf("nil list: At(0) = %v, %v", v, ok)
	}
	if i, ok := l.IndexOf(id); ok || i != -1 {
		t.Fatalf("nil list: IndexOf = %d, %v", i, ok)
	}
	for range l.All() {
		t.Fatal("nil list: All yields an item")
	}
	for range l.Backward() {
		t.Fatal("nil list: Backward yields an item")
	}
	for range l.Keys() {
		t.Fatal("nil list: Keys yields an item")
	}
}

// A nil *List builds transitions as an empty list does (the way `var c *aper.Counter; c.Add(1)`
// builds a counter's): each one, applied to an empty list, does what it says.
func TestNilListBuildsTransitions(t *testing.T) {
	var nl *list.List[*aper.Counter, aper.CounterTransition]
	var c *aper.Counter
	for name, build := range map[string]func() list.Transition[*aper.Counter, aper.CounterTransition]{
		"InsertAt": func() list.Transition[*aper.Counter, aper.CounterTransition] {
			_, t := nl.InsertAt(3, aper.NewCounter(1))
			return t
		},
		"Append": func() list.Transition[*aper.Counter, aper.CounterTransition] {
			_, t := nl.Append(aper.NewCounter(1))
			return t
		},
		"Prepend": func() list.Transition[*aper.Counter, aper.CounterTransition] {
			_, t := nl.Prepend(aper.NewCounter(1))
			return t
		},
		"Insert": func() list.Transition[*aper.Counter, aper.CounterTransition] {
			_, t := nl.Insert(nl.PositionAt(0), aper.NewCounter(1))
			return t
		},
		"InsertBefore": func() list.Transition[*aper.Counter, aper.CounterTransition] {
			_, t := nl.InsertBefore(uuid.New(), aper.NewCounter(1))
			return t
		},
	} {
		l := list.New[*aper.Counter, aper.CounterTransition]()
		err := l.Apply(aper.On(build()))
		if name == "InsertBefore" {
			// Anchored to an item the list does not have, with no fallback: NotFound.
			if !errors.Is(err, conflict.ErrNotFound) || l.Len() != 0 {
				t.Errorf("%s: %v, %d items; want NotFound and none", name, err, l.Len())
			}
			continue
		}
		if err != nil || l.Len() != 1 {
			t.Errorf("%s: %v, %d items; want one", name, err, l.Len())
		}
	}
	id := uuid.New()
	for name, tr := range map[string]list.Transition[*aper.Counter, aper.CounterTransition]{
		"MoveTo": nl.MoveTo(id, 2), "Move": nl.Move(id, list.End()), "Delete": nl.Delete(id), "Update": nl.Update(id, c.Add(1)),
	} {
		l := list.New[*aper.Counter, aper.CounterTransition]()
		if err := l.Apply(aper.On(tr)); !errors.Is(err, conflict.ErrNotFound) {
			t.Errorf("%s of an id no list has: %v, want NotFound", name, err)
		}
	}
}
