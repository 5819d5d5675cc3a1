package example

import "github.com/aper-go/aper"

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -type ScoreboardV2

// ScoreboardV2 is a later version of Scoreboard: its fields are reordered and a new one, Bonus,
// stands between them. Its transitions encode as Scoreboard's do, so a journal written by the
// first version replays into the right fields of the second (the tests check it).
type ScoreboardV2 struct {
	Round  *aper.Counter `json:"round"`
	Bonus  *aper.Counter `json:"bonus"`
	Scores *aper.Map[string, *aper.Counter, aper.CounterTransition]
	Title  *aper.Atom[string] `json:"title"`
}
