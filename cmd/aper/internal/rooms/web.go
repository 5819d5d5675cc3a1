package rooms

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/aper-go/aper"
)

// Action is what a web page sends to change a room: an operation and its arguments, in JSON.
//
//	counter: {"op": "add", "n": 5}, {"op": "set", "n": 0}
//	todo:    {"op": "add", "text": "milk"}, {"op": "edit", "id": ID, "text": "oat milk"},
//	         {"op": "delete", "id": ID}, {"op": "move", "id": ID, "to": 0}
//	text:    {"op": "replace", "pos": 3, "n": 2, "text": "xy"} (positions in code points)
type Action struct {
	Op   string `json:"op"`
	N    int64  `json:"n,omitempty"`
	Text string `json:"text,omitempty"`
	ID   string `json:"id,omitempty"`
	To   int    `json:"to,omitempty"`
	Pos  int    `json:"pos,omitempty"`
}

// FromAction turns a page's action (see [Action]) into a transition of the room s. Ids and
// positions are checked against s here only as far as building the transition needs: an item
// that s no longer holds makes a transition that conflicts when applied, as it should.
func FromAction(s *Room, raw json.RawMessage) (RoomTransition, error) {
	var a Action
	if err := json.Unmarshal(raw, &a); err != nil {
		return RoomTransition{}, fmt.Errorf("%w: action: %w", ErrUsage, err)
	}
	switch {
	case s.Counter != nil:
		switch a.Op {
		case "add":
			return s.UpdateCounter(s.Counter.Add(a.N)), nil
		case "set":
			return s.UpdateCounter(s.Counter.Set(a.N)), nil
		}
	case s.Todo != nil:
		l := s.Todo
		id, idErr := uuid.Parse(a.ID)
		if a.Op != "add" && idErr != nil {
			return RoomTransition{}, fmt.Errorf("%w: action %q: id %q: %w", ErrUsage, a.Op, a.ID, idErr)
		}
		switch a.Op {
		case "add":
			_, t := l.Append(aper.NewAtom(a.Text))
			return s.UpdateTodo(t), nil
		case "edit":
			var v *aper.Atom[string] // builds the transition; the item may be gone
			return s.UpdateTodo(l.Update(id, v.Set(a.Text))), nil
		case "delete":
			return s.UpdateTodo(l.Delete(id)), nil
		case "move":
			if a.To < 0 || a.To >= l.Len() {
				return RoomTransition{}, fmt.Errorf("%w: move to %d: places go from 0 to %d", ErrUsage, a.To, l.Len()-1)
			}
			return s.UpdateTodo(l.MoveTo(id, a.To)), nil
		}
	case s.Text != nil:
		t := s.Text
		if a.Op == "replace" {
			if a.Pos < 0 || a.N < 0 || int64(a.Pos)+a.N > int64(t.Len()) {
				return RoomTransition{}, fmt.Errorf("%w: replace %d code points at %d: the text has %d", ErrUsage, a.N, a.Pos, t.Len())
			}
			return s.UpdateText(t.Replace(a.Pos, int(a.N), a.Text)), nil
		}
	}
	return RoomTransition{}, fmt.Errorf("%w: no action %q for this room", ErrUsage, a.Op)
}

// TodoItem is one item of a todo room as a page reads it.
type TodoItem struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// View is a room as a page reads it: {"kind": "counter", "value": 3}, {"kind": "todo",
// "items": [{"id", "text"}, ...]} or {"kind": "text", "text": "..."}.
type View struct {
	Kind  Kind       `json:"kind"`
	Value int64      `json:"value"`
	Items []TodoItem `json:"items,omitempty"`
	Text  string     `json:"text"`
}

// ViewOf returns the page's view of s.
func ViewOf(s *Room) any {
	switch {
	case s.Counter != nil:
		return View{Kind: Counter, Value: s.Counter.Value()}
	case s.Todo != nil:
		v := View{Kind: TodoKind, Items: make([]TodoItem, 0, s.Todo.Len())}
		for id, a := range s.Todo.All() {
			v.Items = append(v.Items, TodoItem{ID: id.String(), Text: a.Get()})
		}
		return v
	case s.Text != nil:
		return View{Kind: Text, Text: s.Text.String()}
	}
	return View{}
}
