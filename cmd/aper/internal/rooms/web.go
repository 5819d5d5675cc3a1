package rooms

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/examples/drop-four/dropfour"
	"github.com/aper-go/aper/list"
)

// Action is what a web page sends to change a room: an operation and its arguments, in JSON.
//
//	counter: {"op": "add", "n": 5}, {"op": "set", "n": 0}
//	todo:    {"op": "add", "text": "milk"}, {"op": "edit", "id": ID, "text": "oat milk"},
//	         {"op": "delete", "id": ID}, {"op": "move", "id": ID, "to": 0}
//	text:    {"op": "replace", "pos": 3, "n": 2, "text": "xy"} (positions in code points)
//	kanban:  {"op": "addList", "text": "Doing"}, {"op": "addCard", "list": ID, "text": "plan"},
//	         {"op": "moveCard", "id": ID, "list": ID, "before": ID or ""}, {"op": "editCard",
//	         "id": ID, "text": "plan it"}, {"op": "deleteCard", "id": ID}
//	drop-four: {"op": "join"}, {"op": "drop", "col": 3}
type Action struct {
	Op     string `json:"op"`
	N      int64  `json:"n,omitempty"`
	Text   string `json:"text,omitempty"`
	ID     string `json:"id,omitempty"`
	To     int    `json:"to,omitempty"`
	Pos    int    `json:"pos,omitempty"`
	List   string `json:"list,omitempty"`
	Before string `json:"before,omitempty"`
	Col    int    `json:"col,omitempty"`
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
	case s.Game != nil:
		switch a.Op {
		case "join":
			return s.UpdateGame(dropfour.Move{Op: "join"}), nil
		case "drop":
			return s.UpdateGame(dropfour.Move{Op: "drop", Column: a.Col}), nil // the game checks it
		}
	case s.Kanban != nil:
		if t, ok, err := kanbanAction(s, a); ok || err != nil {
			return t, err
		}
	}
	return RoomTransition{}, fmt.Errorf("%w: no action %q for this room", ErrUsage, a.Op)
}

// kanbanAction builds the transition of a kanban action; ok says the action is one of them.
func kanbanAction(s *Room, a Action) (t RoomTransition, ok bool, err error) {
	b := s.Kanban
	parse := func(what, v string) (uuid.UUID, error) {
		id, err := uuid.Parse(v)
		if err != nil {
			return id, fmt.Errorf("%w: action %q: %s %q: %w", ErrUsage, a.Op, what, v, err)
		}
		return id, nil
	}
	switch a.Op {
	case "addList":
		_, tr := b.AppendList(a.Text)
		return s.UpdateKanban(tr), true, nil
	case "addCard":
		l, err := parse("list", a.List)
		if err != nil {
			return t, true, err
		}
		_, tr := b.Append(l, aper.NewAtom(a.Text))
		return s.UpdateKanban(tr), true, nil
	case "moveCard":
		id, err := parse("id", a.ID)
		if err != nil {
			return t, true, err
		}
		l, err := parse("list", a.List)
		if err != nil {
			return t, true, err
		}
		if a.Before == "" {
			return s.UpdateKanban(b.Move(id, l, list.End())), true, nil
		}
		before, err := parse("before", a.Before)
		if err != nil {
			return t, true, err
		}
		return s.UpdateKanban(b.MoveBefore(id, before)), true, nil
	case "editCard":
		id, err := parse("id", a.ID)
		if err != nil {
			return t, true, err
		}
		var v *aper.Atom[string] // builds the transition; the card may be gone
		return s.UpdateKanban(b.Update(id, v.Set(a.Text))), true, nil
	case "deleteCard":
		id, err := parse("id", a.ID)
		if err != nil {
			return t, true, err
		}
		return s.UpdateKanban(b.Delete(id)), true, nil
	}
	return t, false, nil
}

// TodoItem is one item of a todo room as a page reads it.
type TodoItem struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// KanbanList is one list of a kanban room as a page reads it.
type KanbanList struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Cards []TodoItem `json:"cards"`
}

// View is a room as a page reads it: {"kind": "counter", "value": 3}, {"kind": "todo",
// "items": [{"id", "text"}, ...]}, {"kind": "text", "text": "..."} or {"kind": "kanban",
// "lists": [{"id", "name", "cards": [{"id", "text"}, ...]}, ...]}, or {"kind": "drop-four",
// "game": the game as it encodes (cells, players, turn, winner, deadline)}.
type View struct {
	Kind  Kind           `json:"kind"`
	Value int64          `json:"value"`
	Items []TodoItem     `json:"items,omitempty"`
	Text  string         `json:"text"`
	Lists []KanbanList   `json:"lists,omitempty"`
	Game  *dropfour.Game `json:"game,omitempty"`
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
	case s.Game != nil:
		return View{Kind: DropFour, Game: s.Game}
	case s.Kanban != nil:
		v := View{Kind: Kanban, Lists: make([]KanbanList, 0, s.Kanban.NumLists())}
		for l, name := range s.Kanban.Lists() {
			kl := KanbanList{ID: l.String(), Name: name, Cards: []TodoItem{}}
			for id, c := range s.Kanban.Objects(l) {
				kl.Cards = append(kl.Cards, TodoItem{ID: id.String(), Text: c.Get()})
			}
			v.Lists = append(v.Lists, kl)
		}
		return v
	}
	return View{}
}
