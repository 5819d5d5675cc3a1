package rooms

import (
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/text"
)

// Only a room that holds a text and nothing else rebases or catches up its transitions, and only
// edits: anything else is an Invalid conflict, and the transitions are left as they were.
func TestRebaseAndCatchUpOnlyInATextRoom(t *testing.T) {
	edit := RoomTransition{Text: &text.Edit{Op: text.MustOp(text.Insert("a"))}}
	counter := transitionOf(t, Counter)
	cases := []struct {
		name    string
		room    *Room
		old     *Room
		pending []RoomTransition
	}{
		{"a counter room", Empty(Counter), Empty(Counter), []RoomTransition{counter}},
		{"a todo room", Empty(TodoKind), Empty(TodoKind), nil},
		{"a text room with a counter's transition", Empty(Text), Empty(Text), []RoomTransition{edit, counter}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kept := append([]RoomTransition(nil), c.pending...)
			var cf *conflict.Conflict
			if err := c.room.Rebase(c.pending, 0, 1); !errors.As(err, &cf) || cf.Kind != conflict.Invalid {
				t.Errorf("Rebase: %v, want an Invalid conflict", err)
			}
			if _, err := c.room.CatchUp(c.old, "ann", c.pending); !errors.As(err, &cf) || cf.Kind != conflict.Invalid {
				t.Errorf("CatchUp: %v, want an Invalid conflict", err)
			}
			for i := range kept {
				if c.pending[i] != kept[i] {
					t.Errorf("pending[%d] changed to %v", i, c.pending[i])
				}
			}
		})
	}
	if _, err := Empty(Text).CatchUp(nil, "ann", []RoomTransition{edit}); err == nil {
		t.Error("CatchUp from no room: no error")
	}
}

// In a text room, Rebase rewrites a pending edit over another author's, as the text does.
func TestRebaseInATextRoom(t *testing.T) {
	s := Empty(Text)
	bob := text.Edit{Base: 0, Op: text.MustOp(text.Insert("b"))}
	if err := s.Apply(aper.Event[RoomTransition]{Seq: 1, Client: "bob", Transition: RoomTransition{Text: &bob}}); err != nil {
		t.Fatal(err)
	}
	pending := []RoomTransition{{Text: &text.Edit{Base: 0, Op: text.MustOp(text.Insert("a"))}}}
	if err := s.Rebase(pending, 0, 1); err != nil {
		t.Fatal(err)
	}
	if got := pending[0].Text; got.Base != 1 || got.Op.InLen() != 1 {
		t.Errorf("rebased to %+v, want an edit on version 1 of a text of 1 code point", got)
	}
}
