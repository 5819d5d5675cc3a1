package aper_test

import (
	"fmt"
	"testing"

	"github.com/aper-go/aper"
	"github.com/stretchr/testify/assert"
)

// A nil pointer to a root structure reads as its zero value (an unset field of a struct that
// aper-gen makes a state machine), and its transition constructors work on it.
func TestNilReads(t *testing.T) {
	var a *aper.Atom[string]
	assert.Equal(t, "", a.Get())
	assert.Equal(t, "x", a.Set("x").Value)
	var c *aper.Counter
	assert.Equal(t, int64(0), c.Value())
	assert.Equal(t, int64(3), c.Add(3).Amount)
	var m *aper.Map[string, *aper.Counter, aper.CounterTransition]
	assert.Equal(t, 0, m.Len())
	v, ok := m.Get("k")
	assert.False(t, ok)
	assert.Nil(t, v)
	assert.False(t, m.Has("k"))
	for range m.All() {
		t.Fatal("a nil map yields an entry")
	}
	for range m.Keys() {
		t.Fatal("a nil map yields a key")
	}
	assert.Equal(t, "k", m.Update("k", c.Add(1)).Key)
}

func TestTransitionStrings(t *testing.T) {
	var a *aper.Atom[string]
	var n *aper.Atom[int]
	var c *aper.Counter
	var m *aper.Map[string, *aper.Counter, aper.CounterTransition]
	for _, tt := range []struct {
		t    fmt.Stringer
		want string
	}{
		{a.Set("Buy milk"), `set "Buy milk"`},
		{a.CompareAndSet("old", "new"), `set "new" if "old"`},
		{n.Set(7), "set 7"},
		{c.Add(-2), "add -2"},
		{c.Set(5), "set 5"},
		{aper.CounterTransition{Op: 9, Amount: 1}, "CounterOp(9) 1"},
		{m.Set("ann", aper.NewCounter(1)), `set "ann"`},
		{m.Delete("ann"), `delete "ann"`},
		{m.Update("ann", c.Add(1)), `update "ann": add 1`},
	} {
		assert.Equal(t, tt.want, tt.t.String())
		assert.Equal(t, tt.want, fmt.Sprint(tt.t), "fmt uses String on the value")
	}
}
