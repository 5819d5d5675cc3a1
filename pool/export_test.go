package pool

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
)

// KeysOf returns the indexes of list l's objects, in order, for the tests of key lengths.
func KeysOf[V aper.StateMachine[V, T], T any](b *Board[V, T], l uuid.UUID) []list.ZenoIndex {
	c, ok := b.column(l)
	if !ok {
		return nil
	}
	var out []list.ZenoIndex
	for _, k := range c.items.Keys() {
		out = append(out, k)
	}
	return out
}
