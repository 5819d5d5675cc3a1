package fuzz_test

import (
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
)

type (
	keysList  = list.List[*aper.Counter, aper.CounterTransition]
	keysTree  = tree.Tree[*aper.Counter, aper.CounterTransition]
	keysBoard = pool.Board[*aper.Counter, aper.CounterTransition]
)

func mustApplyT[S aper.StateMachine[S, T], T any](t *testing.T, s S, x T) {
	t.Helper()
	if err := s.Apply(aper.Event[T]{Transition: x}); err != nil {
		t.Fatal(err)
	}
}

// samePosition reports whether two positions made by different structures for the same edit
// agree: the same kind, the same index, and a respace in both or in neither (the ids they name
// are each structure's own).
func samePosition(a, b list.ListPosition) bool {
	return a.Kind == b.Kind && a.Index.String() == b.Index.String() && a.Respace.IsZero() == b.Respace.IsZero()
}

// A list, a tree's children and a board's column make the same positions, and so the same keys,
// for the same edits: they share one positioning code (list.PositionAt over a sequence of
// siblings), respacing included. The edits mix inserts at the middle (which respace), at random
// places, typing forward, and deletes.
func TestListTreePoolMakeTheSameKeys(t *testing.T) {
	const steps = 6000
	var (
		l     keysList
		tr    keysTree
		b     keysBoard
		lids  []uuid.UUID // the items of each structure, in order
		tids  []uuid.UUID
		bids  []uuid.UUID
		rng   = rand.New(rand.NewPCG(1, 2))
		typed = -1 // the index of the last item typed, for typing forward
	)
	col, x := b.AppendList("column")
	mustApplyT(t, &b, x)
	respaced := 0
	for step := range steps {
		n := len(lids)
		if n > 0 && rng.IntN(10) == 0 {
			i := rng.IntN(n)
			mustApplyT(t, &l, l.Delete(lids[i]))
			mustApplyT(t, &tr, tr.Delete(tids[i]))
			mustApplyT(t, &b, b.Delete(bids[i]))
			lids, tids, bids = remove(lids, i), remove(tids, i), remove(bids, i)
			typed = -1
			continue
		}
		var i int
		switch (step / 1000) % 3 {
		case 0:
			i = n / 2
		case 1:
			i = rng.IntN(n + 1)
		default:
			if typed < 0 || typed >= n {
				typed = rng.IntN(n + 1)
			} else {
				typed++
			}
			i = typed
		}
		lp, tp, bp := l.PositionAt(i), tr.PositionAt(tree.Root, i), b.PositionAt(col, i)
		if !samePosition(lp, tp) || !samePosition(lp, bp) {
			t.Fatalf("step %d, insert at %d of %d: list %+v, tree %+v, board %+v", step, i, n, lp, tp, bp)
		}
		if !lp.Respace.IsZero() {
			respaced++
		}
		v := aper.NewCounter(int64(step))
		lid, lx := l.Insert(lp, v)
		tid, tx := tr.Insert(tree.Root, tp, v)
		bid, bx := b.Create(col, bp, v)
		mustApplyT(t, &l, lx)
		mustApplyT(t, &tr, tx)
		mustApplyT(t, &b, bx)
		lids, tids, bids = insert(lids, i, lid), insert(tids, i, tid), insert(bids, i, bid)
	}
	if respaced == 0 {
		t.Fatal("no edit respaced: the test does not cover respacing")
	}
	// The keys themselves, item by item, of the list and the tree (the board's are its column's,
	// a list of the same code, checked above through the positions its keys make).
	for i := range lids {
		lk, _ := l.KeyOf(lids[i])
		tk, _ := tr.KeyOf(tids[i])
		if lk.String() != tk.String() {
			t.Fatalf("item %d: list key %v, tree key %v", i, lk, tk)
		}
	}
	t.Logf("%d items, %d inserts respaced", len(lids), respaced)
}

func insert(s []uuid.UUID, i int, id uuid.UUID) []uuid.UUID {
	s = append(s, uuid.Nil)
	copy(s[i+1:], s[i:])
	s[i] = id
	return s
}

func remove(s []uuid.UUID, i int) []uuid.UUID { return append(s[:i], s[i+1:]...) }
