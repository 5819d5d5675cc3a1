package rooms

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/text"
)

// Rebase lets a client of a text room rebase its pending edits by the text's own Rebase (see
// [aper.Rebaser]) instead of applying them again. Only a room that holds a text and nothing
// else can: in it, every transition applied was a text edit. For any other room it is an error,
// and the client re-applies.
func (s *Room) Rebase(pending []RoomTransition, exact, n int) error {
	edits, err := s.textEdits(pending, "rebases")
	if err != nil {
		return err
	}
	if err := s.Text.Rebase(edits, exact, n); err != nil {
		return conflict.WithPath(err, "Text")
	}
	setEdits(pending, edits, 0)
	return nil
}

var _ aper.Rebaser[RoomTransition] = (*Room)(nil)

// CatchUp lets a client of a text room rewrite its pending edits as made on a snapshot that
// replaces its confirmed room (see [aper.CatchUpper]), by the text's own CatchUp. Only a room that
// holds a text and nothing else can, as for Rebase.
func (s *Room) CatchUp(old *Room, author aper.ClientID, pending []RoomTransition) (int, error) {
	if old == nil || old.Text == nil {
		return 0, conflict.New(conflict.Invalid, "rooms: only a text room catches up its transitions")
	}
	edits, err := s.textEdits(pending, "catches up")
	if err != nil {
		return 0, err
	}
	held, err := s.Text.CatchUp(old.Text, author, edits)
	if err != nil {
		return 0, conflict.WithPath(err, "Text")
	}
	setEdits(pending, edits, held)
	return held, nil
}

var _ aper.CatchUpper[*Room, RoomTransition] = (*Room)(nil)

// textEdits returns the edits of pending, the transitions of a room that holds a text and
// nothing else; for any other room, or a transition that is not an edit, an Invalid conflict
// saying the room cannot do what (its transitions).
func (s *Room) textEdits(pending []RoomTransition, what string) ([]text.Edit, error) {
	if s.Text == nil || s.Counter != nil || s.Todo != nil || s.Kanban != nil || s.Game != nil {
		return nil, conflict.New(conflict.Invalid, "rooms: only a text room "+what+" its transitions")
	}
	edits := make([]text.Edit, len(pending))
	for i := range pending {
		if pending[i].Text == nil {
			return nil, conflict.New(conflict.Invalid, "rooms: a pending transition of a text room is not an edit")
		}
		edits[i] = *pending[i].Text
	}
	return edits, nil
}

// setEdits puts edits[from:] back into pending[from:], as room transitions.
func setEdits(pending []RoomTransition, edits []text.Edit, from int) {
	for i := from; i < len(pending); i++ {
		pending[i] = RoomTransition{Text: &edits[i]}
	}
}
