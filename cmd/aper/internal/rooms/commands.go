package rooms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aper-go/aper"
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
		n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		if err != nil {
			break
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
	}
	return ""
}
