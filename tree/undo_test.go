package tree_test

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
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
)

type treeStep = apertest.UndoStep[*counters, countersT]

// owned returns an id whose first byte says whose it is ('m' mine, 't' theirs).
func owned(who byte, n uint64) uuid.UUID {
	var id uuid.UUID
	id[0] = who
	for i := 1; i < 9; i++ {
		id[i] = byte(n >> (8 * (i - 1)))
	}
	return id
}

var (
	t0, m0, t1       = owned('t', 0), owned('m', 0), owned('t', 1)
	t00, m1, t01     = owned('t', 2), owned('m', 1), owned('t', 3)
	m00, t10         = owned('m', 2), owned('t', 4)
	fences           = []uuid.UUID{t0, t1, t00, t01}
	initialTreeNodes = []uuid.UUID{t0, m0, t1, t00, m1, t01, m00, t10}
)

// newUndoTree returns: under the root t0, m0, t1; under t0 t00, m1, t01; under m0 m00; under t1
// t10.
func newUndoTree() *counters {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	for _, n := range []struct{ id, parent uuid.UUID }{{t0, tree.Root}, {m0, tree.Root}, {t1, tree.Root}, {t00, t0}, {m1, t0}, {t01, t0}, {m00, m0}, {t10, t1}} {
		_ = tr.Apply(aper.On(countersT{Op: tree.OpInsert, ID: n.id, Parent: n.parent, Pos: list.End(), Value: aper.NewCounter(1)}))
	}
	return tr
}

// pickNode returns the i-th (mod their number) node that keep accepts, the root included when
// it does.
func pickNode(tr *counters, i uint64, keep func(uuid.UUID) bool) (uuid.UUID, bool) {
	ids := []uuid.UUID{}
	if keep(tree.Root) {
		ids = append(ids, tree.Root)
	}
	for id := range tr.Walk(tree.Root) {
		if keep(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return uuid.Nil, false
	}
	return ids[i%uint64(len(ids))], true
}

func anyNode(uuid.UUID) bool           { return true }
func mineNode(id uuid.UUID) bool       { return id[0] == 'm' }
func theirsOrRoot(id uuid.UUID) bool   { return id == tree.Root || id[0] == 't' }
func theirsNotFence(id uuid.UUID) bool { return id[0] == 't' && !slices.Contains(fences, id) }
func theirsOrInitialNode(id uuid.UUID) bool {
	return id[0] == 't' || slices.Contains(initialTreeNodes, id)
}

// sameTree compares trees by their walks: ids, depths, parents and values in order.
func sameTree(a, b *counters) error {
	walk := func(tr *counters) []string {
		var out []string
		for id, d := range tr.Walk(tree.Root) {
			v, _ := tr.Get(id)
			p, _ := tr.Parent(id)
			out = append(out, fmt.Sprintf("%d %x<%x %d", d, id[:3], p[:3], v.Value()))
		}
		return out
	}
	if x, y := walk(a), walk(b); !slices.Equal(x, y) {
		return fmt.Errorf("walk %v, want %v", x, y)
	}
	return nil
}

// TestUndoTreeProperty: I insert anywhere, delete and move my nodes anywhere, and update any
// node; others insert at either end under theirs or the root, delete theirs (a subtree holding
// nodes of mine makes my later undos conflict), and update theirs and the initial nodes. The
// first and last children of the root and of t0 stay, so that others' inserts at the ends
// never land where a node of mine was deleted. Undoing every own transition leaves the tree the
// others' transitions alone give.
func TestUndoTreeProperty(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 60, 1), newUndoTree,
		func(code uint64) treeStep {
			own, arg := code&1 == 0, code>>8
			n := int64(arg%7) - 3
			op := code >> 4 % 4
			return treeStep{Own: own, Join: code&2 == 0, Make: func(tr, _ *counters) (countersT, bool) {
				if own {
					switch op {
					case 0:
						p, _ := pickNode(tr, arg, anyNode)
						pos := tr.PositionAt(p, int(arg>>8%uint64(tr.NumChildren(p)+1)))
						return countersT{Op: tree.OpInsert, ID: owned('m', arg), Parent: p, Pos: pos, Value: aper.NewCounter(n)}, true
					case 1:
						id, ok := pickNode(tr, arg, mineNode)
						return tr.Delete(id), ok
					case 2:
						id, ok := pickNode(tr, arg, mineNode)
						if !ok {
							return countersT{}, false
						}
						p, _ := pickNode(tr, arg>>8, anyNode)
						return tr.MoveTo(id, p, int(arg>>16%uint64(tr.NumChildren(p)+1))), true
					default:
						id, ok := pickNode(tr, arg, mineNode)
						return tr.Update(id, c.Add(n)), ok
					}
				}
				switch op {
				case 0:
					p, _ := pickNode(tr, arg, theirsOrRoot)
					pos := list.End()
					if arg>>8&1 == 0 {
						pos = list.Beginning()
					}
					return countersT{Op: tree.OpInsert, ID: owned('t', arg), Parent: p, Pos: pos, Value: aper.NewCounter(n)}, true
				case 1:
					id, ok := pickNode(tr, arg, theirsNotFence)
					return tr.Delete(id), ok
				default:
					id, ok := pickNode(tr, arg, theirsOrInitialNode)
					return tr.Update(id, c.Add(n)), ok && id != tree.Root
				}
			}}
		}, sameTree)
}

// TestUndoTreeInverses: each operation's inverse, and the conflicts an undo meets.
func TestUndoTreeInverses(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	apply := func(t testing.TB, tr *counters, x countersT) countersT {
		t.Helper()
		inv, err := tr.ApplyInverse(aper.On(x))
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	t.Run("the undo of a move that would now make a cycle conflicts", func(t *testing.T) {
		tr := newUndoTree()
		inv := apply(t, tr, tr.MoveTo(m1, tree.Root, 0)) // m1 out of t0
		apertest.MustApply(t, tr, aper.On(tr.MoveTo(t0, m1, 0)))
		cf := apertest.Conflicts(t, tr, aper.On(inv), conflict.Cycle)
		if len(cf.Path) == 0 || cf.Path[0] != m1.String() {
			t.Errorf("path %v", cf.Path)
		}
	})
	t.Run("move back", func(t *testing.T) {
		tr := newUndoTree()
		inv := apply(t, tr, tr.MoveTo(m0, t10, 0))
		apertest.MustApply(t, tr, aper.On(inv))
		if err := sameTree(tr, newUndoTree()); err != nil {
			t.Error(err)
		}
	})
	t.Run("a deleted subtree is restored whole, at its indexes", func(t *testing.T) {
		tr := newUndoTree()
		apertest.MustApply(t, tr, aper.On(countersT{Op: tree.OpInsert, ID: owned('m', 9), Parent: m00, Pos: list.End(), Value: aper.NewCounter(5)}))
		want := tr.Clone()
		inv := apply(t, tr, tr.Delete(m0))
		if inv.Op != tree.OpRestore || len(inv.Subtree) != 2 {
			t.Fatalf("inverse %+v", inv)
		}
		apertest.RoundTrip(t, inv)
		back := tr.Clone()
		apertest.MustApply(t, back, aper.On(inv))
		apertest.Equal(t, back, want)
		apertest.Conflicts(t, back, aper.On(inv), conflict.Duplicate)
		if redo := apply(t, tr.Clone(), inv); redo.Op != tree.OpDelete || redo.ID != m0 {
			t.Errorf("the inverse of a restore: %+v", redo)
		}
		// A leaf's inverse is a plain insert.
		if inv := apply(t, tr, tr.Delete(t10)); inv.Op != tree.OpInsert || inv.Parent != t1 || len(inv.Subtree) != 0 {
			t.Errorf("a leaf's inverse %+v", inv)
		}
		// The parent gone: NotFound.
		inv = apply(t, tr, tr.Delete(m1))
		apertest.MustApply(t, tr, aper.On(tr.Delete(t0)))
		apertest.Conflicts(t, tr, aper.On(inv), conflict.NotFound)
	})
	t.Run("a malformed restore changes nothing", func(t *testing.T) {
		tr := newUndoTree()
		x, y := owned('x', 1), owned('x', 2)
		ok := func() countersT {
			return countersT{Op: tree.OpRestore, ID: x, Parent: tree.Root, Pos: list.End(), Value: aper.NewCounter(1),
				Subtree: []tree.Node[*aper.Counter]{{ID: y, Parent: x, Index: list.At(list.ZenoIndex{}).Index, Value: aper.NewCounter(1)}}}
		}
		for name, tc := range map[string]struct {
			edit func(*countersT)
			kind conflict.Kind
		}{
			"no index":              {func(r *countersT) {}, conflict.Invalid},
			"nil id":                {func(r *countersT) { r.Subtree[0].ID = uuid.Nil }, conflict.Invalid},
			"a node already there":  {func(r *countersT) { r.Subtree[0].ID = m0 }, conflict.Duplicate},
			"a parent not before":   {func(r *countersT) { r.Subtree[0].Parent = t0 }, conflict.Invalid},
			"the top already there": {func(r *countersT) { r.ID = m0; r.Subtree[0].Parent = m0 }, conflict.Duplicate},
			"nil value":             {func(r *countersT) { r.Subtree[0].Value = nil }, conflict.Invalid},
			"a subtree on a move":   {func(r *countersT) { r.Op, r.ID, r.Value = tree.OpMove, m0, nil }, conflict.Invalid},
		} {
			r := ok()
			tc.edit(&r)
			if name != "no index" && name != "a subtree on a move" {
				r.Subtree[0].Index = tr.PositionAt(tree.Root, 0).Index
			}
			if _, err := tr.ApplyInverse(aper.On(r)); !errors.Is(err, conflict.Sentinel(tc.kind)) {
				t.Errorf("%s: %v, want %s", name, err, tc.kind)
			}
			if err := sameTree(tr, newUndoTree()); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("update", func(t *testing.T) {
		tr := newUndoTree()
		inv := apply(t, tr, tr.Update(m00, c.Add(4)))
		apertest.MustApply(t, tr, aper.On(inv))
		if v, _ := tr.Get(m00); v.Value() != 1 {
			t.Errorf("after undoing an update: %d", v.Value())
		}
	})
}
