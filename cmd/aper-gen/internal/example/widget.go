package example

import "github.com/aper-go/aper"

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -oneof Widget

// Widget is a one-of: a widget on a shared dashboard is a poll, a note or a click counter, and
// stays what it was made as. NewPoll, NewNote and NewClicks make one of each; a zero Widget
// becomes what its first transition applies to.
type Widget struct {
	Poll   *aper.Map[string, *aper.Counter, aper.CounterTransition] `json:"poll,omitempty"`
	Note   *aper.Atom[string]                                       `json:"note,omitempty"`
	Clicks *aper.Counter                                            `json:"clicks,omitempty"`
}

// NewPoll returns a widget that is a poll with no votes.
func NewPoll() *Widget {
	return &Widget{Poll: aper.NewMap[string, *aper.Counter, aper.CounterTransition]()}
}

// NewNote returns a widget that is a note holding text.
func NewNote(text string) *Widget { return &Widget{Note: aper.NewAtom(text)} }
