package list_test

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
	"github.com/aper-go/aper/undo"
	"github.com/google/uuid"
)

type (
	cl     = list.List[*aper.Counter, aper.CounterTransition]
	clT    = list.Transition[*aper.Counter, aper.CounterTransition]
	clStep = apertest.UndoStep[*cl, clT]
)

// owned returns an id whose first byte says whose it is ('m' mine, 't' theirs); the rest comes
// from n.
func owned(who byte, n uint64) uuid.UUID {
	var id uuid.UUID
	id[0] = who
	for i := 1; i < 9; i++ {
		id[i] = byte(n >> (8 * (i - 1)))
	}
	return id
}

var initialIDs = []uuid.UUID{owned('t', 0), owned('m', 0), owned('t', 1), owned('m', 1), owned('t', 2)}

func newCL() *cl {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	for _, id := range initialIDs {
		_ = l.Apply(aper.On(clT{Op: list.OpInsert, ID: id, Pos: list.End(), Value: aper.NewCounter(1)}))
	}
	return l
}

// pick returns the i-th (mod their number) item id that keep accepts.
func pick(l *cl, i uint64, keep func(uuid.UUID) bool) (uuid.UUID, bool) {
	var ids []uuid.UUID
	for id := range l.All() {
		if keep(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return uuid.Nil, false
	}
	return ids[i%uint64(len(ids))], true
}

func whose(who byte) func(uuid.UUID) bool { return func(id uuid.UUID) bool { return id[0] == who } }

// notFence accepts theirs but the first and last of the initial items, which stay, so that
// the others' inserts at either end never land where an item of mine was deleted (there the
// re-insert and theirs would tie, and either order is right).
func notFence(id uuid.UUID) bool {
	return id[0] == 't' && id != initialIDs[0] && id != initialIDs[len(initialIDs)-1]
}

func theirsOrInitial(id uuid.UUID) bool { return id[0] == 't' || slices.Contains(initialIDs, id) }

// sameItems compares lists by their ids and values in order (not by their indexes, which
// respaces and re-inserts may change).
func sameItems(a, b *cl) error {
	type iv struct {
		id uuid.UUID
		v  int64
	}
	var x, y []iv
	for id, v := range a.All() {
		x = append(x, iv{id, v.Value()})
	}
	for id, v := range b.All() {
		y = append(y, iv{id, v.Value()})
	}
	if !slices.Equal(x, y) {
		return fmt.Errorf("items %v, want %v", x, y)
	}
	return nil
}

// TestUndoListProperty: I insert anywhere, delete and move my items, and update any item;
// others insert at either end, delete their items, and update theirs and the initial ones.
// Undoing every own transition leaves the list the others' transitions alone give (ids and
// values in order). Others do not move items: an item re-inserted after its old neighbour
// follows that neighbour where it moved.
func TestUndoListProperty(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 60, 1), newCL,
		func(code uint64) clStep {
			own, arg := code&1 == 0, code>>8
			n := int64(arg%7) - 3
			op := code >> 4 % 4
			return clStep{Own: own, Join: code&2 == 0, Make: func(l, _ *cl) (clT, bool) {
				if own {
					switch op {
					case 0:
						return clT{Op: list.OpInsert, ID: owned('m', arg), Pos: l.PositionAt(int(arg % uint64(l.Len()+1))), Value: aper.NewCounter(n)}, true
					case 1:
						id, ok := pick(l, arg, whose('m'))
						return l.Delete(id), ok
					case 2:
						id, ok := pick(l, arg, whose('m'))
						if !ok {
							return clT{}, false
						}
						return l.MoveTo(id, int(arg>>8%uint64(l.Len()))), true
					default:
						id, ok := pick(l, arg, func(uuid.UUID) bool { return true })
						return l.Update(id, c.Add(n)), ok
					}
				}
				switch op {
				case 0:
					pos := list.End()
					if arg&1 == 0 {
						pos = list.Beginning()
					}
					return clT{Op: list.OpInsert, ID: owned('t', arg), Pos: pos, Value: aper.NewCounter(n)}, true
				case 1:
					id, ok := pick(l, arg, notFence)
					return l.Delete(id), ok
				default:
					id, ok := pick(l, arg, theirsOrInitial)
					return l.Update(id, c.Add(n)), ok
				}
			}}
		}, sameItems)
}

// TestUndoListInverses: each operation's inverse, and the conflicts an undo meets.
func TestUndoListInverses(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	m0, t1, m1 := initialIDs[1], initialIDs[2], initialIDs[3]
	apply := func(t testing.TB, l *cl, tr clT) clT {
		t.Helper()
		inv, err := l.ApplyInverse(aper.On(tr))
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	t.Run("delete re-inserts the same id and value after its old neighbour", func(t *testing.T) {
		l := newCL()
		apertest.MustApply(t, l, aper.On(l.Update(m0, c.Add(4))))
		inv := apply(t, l, l.Delete(m0))
		if inv.Op != list.OpInsert || inv.ID != m0 || inv.Value.Value() != 5 || inv.Pos.Kind != list.PosAfter || inv.Pos.ID != initialIDs[0] {
			t.Fatalf("inverse %+v", inv)
		}
		// The neighbour is gone too: the captured index puts it back between the same items.
		apertest.MustApply(t, l, aper.On(l.Delete(initialIDs[0])))
		apertest.MustApply(t, l, aper.On(inv))
		if i, _ := l.IndexOf(m0); i != 0 {
			t.Errorf("re-inserted at %d, want 0", i)
		}
		apertest.Conflicts(t, l, aper.On(inv), conflict.Duplicate)
	})
	t.Run("the first item is anchored before the next", func(t *testing.T) {
		l := newCL()
		inv := apply(t, l, l.Delete(initialIDs[0]))
		if inv.Pos.Kind != list.PosBefore || inv.Pos.ID != m0 {
			t.Fatalf("inverse %+v", inv)
		}
		l1 := list.New[*aper.Counter, aper.CounterTransition]()
		apertest.MustApply(t, l1, aper.On(clT{Op: list.OpInsert, ID: m0, Pos: list.End(), Value: aper.NewCounter(1)}))
		if inv := apply(t, l1, l1.Delete(m0)); inv.Pos.Kind != list.PosAt {
			t.Fatalf("the only item: inverse %+v", inv)
		}
	})
	t.Run("move back", func(t *testing.T) {
		l := newCL()
		inv := apply(t, l, l.MoveTo(m0, 4))
		apertest.MustApply(t, l, aper.On(inv))
		if err := sameItems(l, newCL()); err != nil {
			t.Error(err)
		}
		apertest.MustApply(t, l, aper.On(l.Delete(m0)))
		apertest.Conflicts(t, l, aper.On(inv), conflict.NotFound)
	})
	t.Run("insert and update", func(t *testing.T) {
		l := newCL()
		id, ins := l.InsertAfter(t1, aper.NewCounter(3))
		if inv := apply(t, l, ins); inv != l.Delete(id) {
			t.Errorf("inverse of an insert %+v", inv)
		}
		inv := apply(t, l, l.Update(m1, c.Add(3)))
		apertest.MustApply(t, l, aper.On(inv))
		if v, _ := l.Get(m1); v.Value() != 1 {
			t.Errorf("after undoing an update: %d", v.Value())
		}
		apertest.MustApply(t, l, aper.On(l.Delete(m1)))
		apertest.Conflicts(t, l, aper.On(inv), conflict.NotFound)
	})
	t.Run("conflicts are Apply's", func(t *testing.T) {
		l := newCL()
		for _, tr := range []clT{l.Delete(owned('x', 9)), l.Move(owned('x', 9), list.End()), l.Update(owned('x', 9), c.Add(1)), {Op: 99}} {
			before := newCL()
			if _, err := l.ApplyInverse(aper.On(tr)); err == nil || errors.Is(err, aper.ErrNoInverse) {
				t.Errorf("%+v: %v", tr, err)
			}
			if err := sameItems(l, before); err != nil {
				t.Error(err)
			}
		}
		if _, err := l.ApplyInverse(aper.On(l.Respace(m0, m1))); !errors.Is(err, aper.ErrNoInverse) {
			t.Errorf("a respace: %v, want ErrNoInverse", err)
		}
	})
}

// BenchmarkUndoList measures one undo on a 100,000-item list: an item deleted, then re-inserted
// by the undo manager (delete and undo per op).
func BenchmarkUndoList(b *testing.B) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	for i := range 100_000 {
		_ = l.Apply(aper.On(clT{Op: list.OpInsert, ID: owned('t', uint64(i)), Pos: list.End(), Value: aper.NewCounter(1)}))
	}
	m := undo.New[clT](nil)
	apply := undo.Applier[clT](l, m, nil)
	i := uint64(0)
	for b.Loop() {
		id := owned('t', i*7919%100_000)
		i++
		inv, err := l.ApplyInverse(aper.On(l.Delete(id)))
		if err != nil {
			b.Fatal(err)
		}
		m.Record(inv)
		if r, err := m.Undo(apply); err != nil || len(r.Applied) != 1 {
			b.Fatal(r, err)
		}
	}
}
