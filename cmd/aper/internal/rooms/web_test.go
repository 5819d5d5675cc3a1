package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/examples/drop-four/dropfour"
)

// A page's actions build the transitions the terminal client's commands build, and the view is
// what the page reads.
func TestActions(t *testing.T) {
	apply := func(s *Room, action string) error {
		tr, err := FromAction(s, json.RawMessage(action))
		if err != nil {
			return err
		}
		return s.Apply(aper.Event[RoomTransition]{Transition: tr})
	}
	view := func(s *Room) string {
		b, err := json.Marshal(ViewOf(s))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	must := func(s *Room, action string) {
		t.Helper()
		if err := apply(s, action); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}

	c, _ := New(context.Background(), "counter/x")
	must(c, `{"op": "add", "n": 5}`)
	must(c, `{"op": "add", "n": -2}`)
	if got := view(c); got != `{"kind":"counter","value":3,"text":""}` {
		t.Errorf("counter view %s", got)
	}
	must(c, `{"op": "set", "n": 0}`)

	x, _ := New(context.Background(), "text/x")
	must(x, `{"op": "replace", "pos": 0, "n": 0, "text": "héllo world"}`)
	must(x, `{"op": "replace", "pos": 1, "n": 1, "text": "e"}`) // code points, not bytes
	if got := x.Text.String(); got != "hello world" {
		t.Errorf("text %q", got)
	}
	if err := apply(x, `{"op": "replace", "pos": 5, "n": 99, "text": ""}`); !errors.Is(err, ErrUsage) {
		t.Errorf("a replace past the end: %v, want ErrUsage", err)
	}

	l, _ := New(context.Background(), "todo/x")
	must(l, `{"op": "add", "text": "milk"}`)
	must(l, `{"op": "add", "text": "tea"}`)
	id0, _, _ := l.Todo.At(0)
	id1, _, _ := l.Todo.At(1)
	must(l, `{"op": "move", "id": "`+id1.String()+`", "to": 0}`)
	must(l, `{"op": "edit", "id": "`+id0.String()+`", "text": "oat milk"}`)
	if got, want := view(l), `{"kind":"todo","value":0,"items":[{"id":"`+id1.String()+`","text":"tea"},{"id":"`+id0.String()+`","text":"oat milk"}],"text":""}`; got != want {
		t.Errorf("todo view %s, want %s", got, want)
	}
	must(l, `{"op": "delete", "id": "`+id0.String()+`"}`)
	// Editing a deleted item builds a transition that conflicts: the server would reject it.
	if err := apply(l, `{"op": "edit", "id": "`+id0.String()+`", "text": "x"}`); !errors.Is(err, conflict.ErrNotFound) {
		t.Errorf("editing a deleted item: %v, want a not-found conflict", err)
	}
	k, _ := New(context.Background(), "kanban/x")
	must(k, `{"op": "addList", "text": "To do"}`)
	must(k, `{"op": "addList", "text": "Done"}`)
	todo, _, _ := k.Kanban.ListAt(0)
	done, _, _ := k.Kanban.ListAt(1)
	must(k, `{"op": "addCard", "list": "`+todo.String()+`", "text": "write"}`)
	must(k, `{"op": "addCard", "list": "`+todo.String()+`", "text": "test"}`)
	write, _, _ := k.Kanban.At(todo, 0)
	test, _, _ := k.Kanban.At(todo, 1)
	must(k, `{"op": "moveCard", "id": "`+write.String()+`", "list": "`+done.String()+`"}`)
	must(k, `{"op": "moveCard", "id": "`+test.String()+`", "list": "`+done.String()+`", "before": "`+write.String()+`"}`)
	must(k, `{"op": "editCard", "id": "`+write.String()+`", "text": "write it"}`)
	if got, want := view(k), `{"kind":"kanban","value":0,"text":"","lists":[{"id":"`+todo.String()+`","name":"To do","cards":[]},{"id":"`+done.String()+`","name":"Done","cards":[{"id":"`+test.String()+`","text":"test"},{"id":"`+write.String()+`","text":"write it"}]}]}`; got != want {
		t.Errorf("kanban view %s, want %s", got, want)
	}
	must(k, `{"op": "deleteCard", "id": "`+write.String()+`"}`)
	if err := apply(k, `{"op": "editCard", "id": "`+write.String()+`", "text": "x"}`); !errors.Is(err, conflict.ErrNotFound) {
		t.Errorf("editing a deleted card: %v, want a not-found conflict", err)
	}
	if err := apply(k, `{"op": "addCard", "list": "x"}`); !errors.Is(err, ErrUsage) {
		t.Errorf("a card in list x: %v, want ErrUsage", err)
	}

	g, _ := New(context.Background(), "drop-four/x")
	seat := func(client aper.ClientID, action string) error {
		tr, err := FromAction(g, json.RawMessage(action))
		if err != nil {
			return err
		}
		return g.Apply(aper.Event[RoomTransition]{Client: client, Transition: tr})
	}
	for _, c := range []aper.ClientID{"x", "o"} {
		if err := seat(c, `{"op": "join"}`); err != nil {
			t.Fatal(err)
		}
	}
	if err := seat("x", `{"op": "drop", "col": 3}`); err != nil {
		t.Fatal(err)
	}
	if err := seat("x", `{"op": "drop", "col": 4}`); !errors.Is(err, dropfour.ErrIllegalMove) {
		t.Errorf("x moved twice: %v, want an illegal move", err)
	}
	if v := ViewOf(g).(View); v.Kind != DropFour || v.Game.Cells[5*dropfour.Cols+3] != 'X' || v.Game.Turn != 1 {
		t.Errorf("drop-four view %+v", v.Game)
	}

	for _, bad := range []string{`{"op": "delete", "id": "nope"}`, `{"op": "fly"}`, `not json`, `{"op": "move", "id": "` + id1.String() + `", "to": 7}`} {
		if err := apply(l, bad); !errors.Is(err, ErrUsage) {
			t.Errorf("%s: %v, want ErrUsage", bad, err)
		}
	}
}
