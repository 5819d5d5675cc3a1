package aper_test

import (
	"errors"
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

func Example() {
	// A scoreboard: a map from player to counter.
	board := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
	var c *aper.Counter // only used to build transitions

	// Transitions are values: build them, then apply them (a sync.Client sends them to the
	// server, which orders them for every replica).
	_ = board.Apply(aper.On(board.Set("ann", aper.NewCounter(0))))
	_ = board.Apply(aper.On(board.Update("ann", c.Add(3))))

	// A replica cloned before a change does not see it.
	snapshot := board.Clone()
	_ = board.Apply(aper.On(board.Update("ann", c.Add(1))))

	// A transition that makes no sense is a conflict and changes nothing.
	err := board.Apply(aper.On(board.Update("bob", c.Add(1))))
	fmt.Println(err, errors.Is(err, conflict.ErrNotFound))

	for name, score := range board.All() {
		fmt.Println(name, score.Value())
	}
	ann, _ := snapshot.Get("ann")
	fmt.Println("snapshot:", ann.Value())
	// Output:
	// not found conflict at bob: map: no such key true
	// ann 4
	// snapshot: 3
}
