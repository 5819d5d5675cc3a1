package rooms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/examples/drop-four/dropfour"
	"github.com/aper-go/aper/list"
)

// ErrUsage marks a command line that does not parse; its message says what was expected.
var ErrUsage = errors.New("rooms: usage")

// Help returns the commands of a room of kind k, one per line.
func Help(k Kind) string {
	switch k {
	case Counter:
		return "add N        add N (negative subtracts)\nset N        set the value to N"
	case Text:
		return "insert POS TEXT   insert TEXT at code point POS\nappend TEXT       insert TEXT at the end\ndelete POS N      delete N code points from POS"
	case TodoKind:
		return "add TEXT       append an item\nedit I TEXT    replace item I (from 1)\ndelete I       delete item I\nmove I J       move item I to place J"
	case DropFour:
		return "join           take a seat (the first two players play, others watch)\ndrop C         drop a disc into column C (0 to 6)"
	case Kanban:
		return "list NAME      add a list\nadd L TEXT     add a card to list L (from 1)\nmove C L       move card C (from 1, as shown) to the end of list L\ndelete C       delete card C"
	}
	return ""
}

// Parse turns a command line into a transition of a room of kind k whose current (optimistic)
// state is s. Positions in text edits are relative to s, which is why Parse needs it.
func Parse(k Kind, s *Room, line string) (RoomTransition, error) {
	// Only the left of the line is trimmed: a text command's TEXT runs to the end of the line.
	verb, rest, _ := strings.Cut(strings.TrimLeft(strings.TrimRight(line, "\r\n"), " \t"), " ")
	verb = strings.TrimSpace(verb)
	switch k {
	case Counter:
		if verb != "add" && verb != "set" {
			break
		}
		n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		if err != nil {
			return RoomTransition{}, fmt.Errorf("%w: %s N: %q is not a whole number", ErrUsage, verb, strings.TrimSpace(rest))
		}
		switch verb {
		case "add":
			return s.UpdateCounter(s.Counter.Add(n)), nil
		case "set":
			return s.UpdateCounter(s.Counter.Set(n)), nil
		}
	case Text:
		t := s.Text
		if t == nil {
			return RoomTransition{}, fmt.Errorf("%w: not a text room", ErrUsage)
		}
		switch verb {
		case "append":
			return s.UpdateText(t.Insert(t.Len(), rest)), nil
		case "insert":
			p, txt, _ := strings.Cut(rest, " ")
			pos, err := strconv.Atoi(p)
			if err != nil || pos < 0 || pos > t.Len() {
				return RoomTransition{}, fmt.Errorf("%w: insert POS TEXT, with POS from 0 to %d", ErrUsage, t.Len())
			}
			return s.UpdateText(t.Insert(pos, txt)), nil
		case "delete":
			f := strings.Fields(rest)
			if len(f) == 2 {
				pos, err1 := strconv.Atoi(f[0])
				n, err2 := strconv.Atoi(f[1])
				if err1 == nil && err2 == nil && pos >= 0 && n >= 0 && pos+n <= t.Len() {
					return s.UpdateText(t.Delete(pos, n)), nil
				}
			}
			return RoomTransition{}, fmt.Errorf("%w: delete POS N, within the %d code points", ErrUsage, t.Len())
		}
	case TodoKind:
		l := s.Todo
		if l == nil {
			return RoomTransition{}, fmt.Errorf("%w: not a todo room", ErrUsage)
		}
		item := func(arg string) (int, error) {
			i, err := strconv.Atoi(arg)
			if err != nil || i < 1 || i > l.Len() {
				return 0, fmt.Errorf("%w: item numbers go from 1 to %d", ErrUsage, l.Len())
			}
			return i - 1, nil
		}
		switch verb {
		case "add":
			_, t := l.Append(aper.NewAtom(rest))
			return s.UpdateTodo(t), nil
		case "edit":
			a, txt, _ := strings.Cut(rest, " ")
			i, err := item(a)
			if err != nil {
				return RoomTransition{}, err
			}
			id, v, _ := l.At(i)
			return s.UpdateTodo(l.Update(id, v.Set(txt))), nil
		case "delete":
			i, err := item(strings.TrimSpace(rest))
			if err != nil {
				return RoomTransition{}, err
			}
			id, _, _ := l.At(i)
			return s.UpdateTodo(l.Delete(id)), nil
		case "move":
			f := strings.Fields(rest)
			if len(f) != 2 {
				break
			}
			i, err := item(f[0])
			if err != nil {
				return RoomTransition{}, err
			}
			j, err := item(f[1])
			if err != nil {
				return RoomTransition{}, err
			}
			id, _, _ := l.At(i)
			return s.UpdateTodo(l.MoveTo(id, j)), nil
		}
	case DropFour:
		switch verb {
		case "join":
			return s.UpdateGame(dropfour.Move{Op: "join"}), nil
		case "drop":
			c, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil || c < 0 || c >= dropfour.Cols {
				return RoomTransition{}, fmt.Errorf("%w: drop C, with C from 0 to %d", ErrUsage, dropfour.Cols-1)
			}
			return s.UpdateGame(dropfour.Move{Op: "drop", Column: c}), nil
		}
	case Kanban:
		if t, ok, err := parseKanban(s, verb, rest); ok || err != nil {
			return t, err
		}
	}
	return RoomTransition{}, fmt.Errorf("%w: %q is not a command of a %s room; they are:\n%s", ErrUsage, line, k, Help(k))
}

// Describe returns the state of a room of kind k on one line: a counter's value, a text quoted,
// a todo list's items numbered from 1.
func Describe(k Kind, s *Room) string {
	switch k {
	case Counter:
		if s.Counter == nil {
			return "0"
		}
		return strconv.FormatInt(s.Counter.Value(), 10)
	case Text:
		if s.Text == nil {
			return `""`
		}
		return strconv.Quote(s.Text.String())
	case TodoKind:
		if s.Todo == nil || s.Todo.Len() == 0 {
			return "(empty)"
		}
		var b strings.Builder
		i := 0
		for _, v := range s.Todo.All() {
			i++
			if i > 1 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d.%q", i, v.Get())
		}
		return b.String()
	case DropFour:
		g := s.Game
		if g == nil {
			return "(no game)"
		}
		rows := make([]string, 0, dropfour.Rows)
		for r := range dropfour.Rows {
			rows = append(rows, g.Cells[r*dropfour.Cols:(r+1)*dropfour.Cols])
		}
		state := fmt.Sprintf("%c to play", dropfour.Marks[g.Turn])
		switch {
		case g.Winner == "draw":
			state = "a draw"
		case g.Winner != "":
			state = g.Winner + " wins"
		case g.Players[1] == "":
			state = "waiting for players"
		}
		return strings.Join(rows, "/") + " " + state
	case Kanban:
		if s.Kanban == nil || s.Kanban.NumLists() == 0 {
			return "(no lists)"
		}
		var b strings.Builder
		card, n := 0, 0
		for l, name := range s.Kanban.Lists() {
			if n++; n > 1 {
				b.WriteString(" | ")
			}
			fmt.Fprintf(&b, "%d.%s:", n, name)
			for _, v := range s.Kanban.Objects(l) {
				card++
				fmt.Fprintf(&b, " %d.%q", card, v.Get())
			}
		}
		return b.String()
	}
	return ""
}

// parseKanban parses the commands of a kanban room; ok says the verb is one of them.
func parseKanban(s *Room, verb, rest string) (t RoomTransition, ok bool, err error) {
	b := s.Kanban
	if b == nil {
		return RoomTransition{}, false, fmt.Errorf("%w: not a kanban room", ErrUsage)
	}
	listAt := func(arg string) (uuid.UUID, error) {
		i, err := strconv.Atoi(arg)
		if err != nil || i < 1 || i > b.NumLists() {
			return uuid.UUID{}, fmt.Errorf("%w: list numbers go from 1 to %d", ErrUsage, b.NumLists())
		}
		id, _, _ := b.ListAt(i - 1)
		return id, nil
	}
	cardAt := func(arg string) (uuid.UUID, error) {
		i, err := strconv.Atoi(arg)
		if err == nil && i >= 1 {
			for l := range b.Lists() {
				for id := range b.Objects(l) {
					if i--; i == 0 {
						return id, nil
					}
				}
			}
		}
		return uuid.UUID{}, fmt.Errorf("%w: card numbers go from 1 to %d", ErrUsage, b.Len())
	}
	switch verb {
	case "list":
		_, tr := b.AppendList(strings.TrimSpace(rest))
		return s.UpdateKanban(tr), true, nil
	case "add":
		a, text, _ := strings.Cut(rest, " ")
		l, err := listAt(a)
		if err != nil {
			return RoomTransition{}, true, err
		}
		_, tr := b.Append(l, aper.NewAtom(text))
		return s.UpdateKanban(tr), true, nil
	case "move":
		f := strings.Fields(rest)
		if len(f) != 2 {
			return RoomTransition{}, false, nil
		}
		c, err := cardAt(f[0])
		if err != nil {
			return RoomTransition{}, true, err
		}
		l, err := listAt(f[1])
		if err != nil {
			return RoomTransition{}, true, err
		}
		return s.UpdateKanban(b.Move(c, l, list.End())), true, nil
	case "delete":
		c, err := cardAt(strings.TrimSpace(rest))
		if err != nil {
			return RoomTransition{}, true, err
		}
		return s.UpdateKanban(b.Delete(c)), true, nil
	}
	return RoomTransition{}, false, nil
}
