// Package example is a state machine made by aper-gen: the generator's golden test compares a
// fresh run with scoreboard_aper.go, and the tests here check that the generated code works.
package example

import "github.com/aper-go/aper"

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -type Scoreboard

// Scoreboard is a game's shared state.
type Scoreboard struct {
	Title  *aper.Atom[string] `json:"title"`
	Scores *aper.Map[string, *aper.Counter, aper.CounterTransition]
	Round  *aper.Counter `json:"round"`
}
