package pool_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
)

type (
	undoBoard  = pool.Board[*aper.Counter, aper.CounterTransition]
	undoBoardT = pool.Transition[*aper.Counter, aper.CounterTransition]
	boardStep  = apertest.UndoStep[*undoBoard, undoBoardT]
)

// owned returns an id whose first byte says whose it is ('m' mine, 't' theirs).
func owned(who byte, n uint64) uuid.UUID {
	var id uuid.UUID
	id[0] = who
	for i := 1; i < 9; i++ {
		id[i] = byte(n >> (8 * (i - 1)))
	}
	return id
}

// The initial undoBoard: lists la, lb, lc (the others' lists, which stay), each holding a fence
// object of theirs at either end and one of mine between.
var (
	boardLists   = []uuid.UUID{owned('L', 0), owned('L', 1), owned('L', 2)}
	boardFences  = []uuid.UUID{owned('t', 0), owned('t', 1), owned('t', 2), owned('t', 3), owned('t', 4), owned('t', 5)}
	boardInitial = append([]uuid.UUID{owned('m', 0), owned('m', 1), owned('m', 2)}, boardFences...)
)

func newBoard() *undoBoard {
	b := pool.New[*aper.Counter, aper.CounterTransition]()
	for i, l := range boardLists {
		_ = b.Apply(aper.On(undoBoardT{Op: pool.OpAddList, List: l, Name: fmt.Sprint("list ", i), Pos: list.End()}))
		for _, id := range []uuid.UUID{owned('t', uint64(2*i)), owned('m', uint64(i)), owned('t', uint64(2*i+1))} {
			_ = b.Apply(aper.On(undoBoardT{Op: pool.OpCreate, ID: id, List: l, Pos: list.End(), Value: aper.NewCounter(1)}))
		}
	}
	return b
}

func pickObject(b *undoBoard, i uint64, keep func(uuid.UUID) bool) (uuid.UUID, bool) {
	var ids []uuid.UUID
	for l := range b.Lists() {
		for id := range b.Objects(l) {
			if keep(id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return uuid.Nil, false
	}
	return ids[i%uint64(len(ids))], true
}

func pickList(b *undoBoard, i uint64, keep func(uuid.UUID) bool) (uuid.UUID, bool) {
	var ids []uuid.UUID
	for l := range b.Lists() {
		if keep(l) {
			ids = append(ids, l)
		}
	}
	if len(ids) == 0 {
		return uuid.Nil, false
	}
	return ids[i%uint64(len(ids))], true
}

func sameBoard(a, b *undoBoard) error {
	dump := func(bd *undoBoard) []string {
		var out []string
		for l, name := range bd.Lists() {
			out = append(out, fmt.Sprintf("%x %s:", l[:3], name))
			for id, v := range bd.Objects(l) {
				out = append(out, fmt.Sprintf("%x=%d", id[:3], v.Value()))
			}
		}
		return out
	}
	if x, y := dump(a), dump(b); !slices.Equal(x, y) {
		return fmt.Errorf("undoBoard %v, want %v", x, y)
	}
	return nil
}

// TestUndoBoardProperty: I create objects anywhere, delete and move mine (across lists too),
// update any, add lists, rename and move any list, and remove my lists while empty; others
// create objects at either end of the initial lists, delete theirs but the fences, and update
// theirs and the initial ones. Undoing every own transition leaves the undoBoard the others'
// transitions alone give.
func TestUndoBoardProperty(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	anyID := func(uuid.UUID) bool { return true }
	mine := func(id uuid.UUID) bool { return id[0] == 'm' }
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 60, 1), newBoard,
		func(code uint64) boardStep {
			own, arg := code&1 == 0, code>>8
			n := int64(arg%7) - 3
			op := code >> 4 % 8
			return boardStep{Own: own, Join: code&2 == 0, Make: func(b, _ *undoBoard) (undoBoardT, bool) {
				if own {
					switch op {
					case 0:
						l, _ := pickList(b, arg, anyID)
						return undoBoardT{Op: pool.OpCreate, ID: owned('m', arg), List: l, Pos: b.PositionAt(l, int(arg>>8%uint64(b.ListLen(l)+1))), Value: aper.NewCounter(n)}, true
					case 1:
						id, ok := pickObject(b, arg, mine)
						return b.Delete(id), ok
					case 2:
						id, ok := pickObject(b, arg, mine)
						l, _ := pickList(b, arg>>8, anyID)
						return b.MoveTo(id, l, int(arg>>16%uint64(b.ListLen(l)+1))), ok
					case 3:
						id, ok := pickObject(b, arg, anyID)
						return b.Update(id, c.Add(n)), ok
					case 4:
						i := int(arg % uint64(b.NumLists()+1))
						return undoBoardT{Op: pool.OpAddList, List: owned('M', arg), Name: fmt.Sprint("mine ", arg%10), Pos: b.MoveListTo(boardLists[0], i).Pos}, i > 0
					case 5:
						l, _ := pickList(b, arg, anyID)
						return b.RenameList(l, fmt.Sprint("renamed ", arg%10)), true
					case 6:
						l, _ := pickList(b, arg, anyID)
						return b.MoveListTo(l, int(arg>>8%uint64(b.NumLists()))), true
					default:
						l, ok := pickList(b, arg, func(id uuid.UUID) bool { return id[0] == 'M' && b.ListLen(id) == 0 })
						return b.RemoveList(l), ok
					}
				}
				switch op % 3 {
				case 0:
					l := boardLists[arg%3]
					pos := list.End()
					if arg>>8&1 == 0 {
						pos = list.Beginning()
					}
					return undoBoardT{Op: pool.OpCreate, ID: owned('t', arg), List: l, Pos: pos, Value: aper.NewCounter(n)}, true
				case 1:
					id, ok := pickObject(b, arg, func(id uuid.UUID) bool { return id[0] == 't' && !slices.Contains(boardFences, id) })
					return b.Delete(id), ok
				default:
					id, ok := pickObject(b, arg, func(id uuid.UUID) bool { return id[0] == 't' || slices.Contains(boardInitial, id) })
					return b.Update(id, c.Add(n)), ok
				}
			}}
		}, sameBoard)
}

// TestUndoBoardInverses: inverses across lists, and the conflicts an undo meets.
func TestUndoBoardInverses(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	apply := func(t testing.TB, b *undoBoard, x undoBoardT) undoBoardT {
		t.Helper()
		inv, err := b.ApplyInverse(aper.On(x))
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	la, lb := boardLists[0], boardLists[1]
	m0 := owned('m', 0)
	t.Run("move across lists and back", func(t *testing.T) {
		b := newBoard()
		inv := apply(t, b, b.MoveTo(m0, lb, 0))
		if l, _ := b.ListOf(m0); l != lb {
			t.Fatal("not moved")
		}
		apertest.MustApply(t, b, aper.On(inv))
		if err := sameBoard(b, newBoard()); err != nil {
			t.Error(err)
		}
	})
	t.Run("delete re-creates in its list", func(t *testing.T) {
		b := newBoard()
		apertest.MustApply(t, b, aper.On(b.Update(m0, c.Add(2))))
		want := b.Clone()
		inv := apply(t, b, b.Delete(m0))
		apertest.MustApply(t, b, aper.On(inv))
		if err := sameBoard(b, want); err != nil {
			t.Error(err)
		}
	})
	t.Run("add, rename, move and remove a list", func(t *testing.T) {
		b := newBoard()
		id, add := b.AppendList("new")
		undoAdd := apply(t, b, add)
		undoRename := apply(t, b, b.RenameList(la, "renamed"))
		undoMove := apply(t, b, b.MoveListTo(la, 3))
		undoRemove := apply(t, b, b.RemoveList(id))
		for _, inv := range []undoBoardT{undoRemove, undoMove, undoRename} {
			apertest.MustApply(t, b, aper.On(inv))
		}
		_, app := b.Append(id, aper.NewCounter(1))
		apertest.MustApply(t, b, aper.On(app))
		apertest.Conflicts(t, b, aper.On(undoAdd), pool.NotEmpty) // someone put an object in it since
		if name, _ := b.ListName(la); name != "list 0" {
			t.Errorf("name %q after undoing the rename", name)
		}
		if l, _, _ := b.ListAt(0); l != la {
			t.Errorf("list order after undoing the move")
		}
	})
	t.Run("the remove of a list with objects has no inverse", func(t *testing.T) {
		b := newBoard()
		if _, err := b.ApplyInverse(aper.On(b.RemoveListInto(la, lb, list.End()))); !errors.Is(err, aper.ErrNoInverse) {
			t.Errorf("%v, want ErrNoInverse", err)
		}
		if err := sameBoard(b, newBoard()); err != nil {
			t.Error(err)
		}
	})
	t.Run("conflicts", func(t *testing.T) {
		b := newBoard()
		inv := apply(t, b, b.Update(owned('t', 0), c.Add(1)))
		apertest.MustApply(t, b, aper.On(b.Delete(owned('t', 0))))
		apertest.Conflicts(t, b, aper.On(inv), conflict.NotFound)
		for _, x := range []undoBoardT{b.Delete(owned('x', 1)), b.Update(owned('x', 1), c.Add(1)), b.RenameList(owned('x', 1), "x"), {Op: 99}} {
			if _, err := b.ApplyInverse(aper.On(x)); err == nil || errors.Is(err, aper.ErrNoInverse) {
				t.Errorf("%+v: %v", x, err)
			}
		}
	})
}
