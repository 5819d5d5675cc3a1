package pool_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

// tally is a state machine that counts the Clones made of it (in *clones, shared by its copies).
type tally struct {
	n      int64
	clones *int
}

type tallyT struct{ Add int64 }

func (x *tally) Apply(ev aper.Event[tallyT]) error {
	x.n += ev.Transition.Add
	return nil
}

func (x *tally) Clone() *tally {
	*x.clones++
	return &tally{n: x.n, clones: x.clones}
}

type tallies = pool.Board[*tally, tallyT]

func tallyBoard(t *testing.T) (bd *tallies, a, b, id uuid.UUID, clones *int) {
	t.Helper()
	clones = new(int)
	bd = pool.New[*tally, tallyT]()
	var x pool.Transition[*tally, tallyT]
	a, x = bd.AppendList("a")
	apertest.MustApply(t, bd, aper.On(x))
	b, x = bd.AppendList("b")
	apertest.MustApply(t, bd, aper.On(x))
	id, x = bd.Append(a, &tally{n: 1, clones: clones})
	apertest.MustApply(t, bd, aper.On(x))
	assert.Equal(t, 1, *clones, "create stores one Clone of the transition's value")
	return
}

func tallyOf(t *testing.T, bd *tallies, id uuid.UUID) int64 {
	t.Helper()
	v, ok := bd.Get(id)
	if !ok {
		t.Fatalf("no object %s", id)
	}
	return v.n
}

// TestMoveBetweenListsDoesNotCloneTheValue: a move between lists takes the object's value
// along, O(1) whatever its size, and the board still changes it in place afterwards; so does
// an iteration's snapshot. Only a Clone of the board makes the next change copy the value.
func TestMoveBetweenListsDoesNotCloneTheValue(t *testing.T) {
	bd, a, b, id, clones := tallyBoard(t)
	for i := range 6 {
		to := []uuid.UUID{b, a}[i%2]
		apertest.MustApply(t, bd, aper.On(bd.Move(id, to, list.End())))
	}
	assert.Equal(t, 1, *clones, "moves between lists clone no value")
	apertest.MustApply(t, bd, aper.On(bd.Update(id, tallyT{Add: 1})))
	assert.Equal(t, 1, *clones, "the moved value is the board's own: changed in place")
	apertest.MustApply(t, bd, aper.On(bd.RemoveListInto(a, b, list.End())))
	apertest.MustApply(t, bd, aper.On(bd.Update(id, tallyT{Add: 1})))
	assert.Equal(t, 1, *clones, "removing a list into another clones no value")
	for range bd.Objects(b) {
		apertest.MustApply(t, bd, aper.On(bd.Update(id, tallyT{Add: 1})))
	}
	assert.Equal(t, 1, *clones, "an iteration's snapshot does not make the values shared")
	assert.Equal(t, int64(4), tallyOf(t, bd, id))
}

// TestMovedValueIsNotShared: the value a move takes along is not aliased with a Clone of the
// board made before the move, in either direction, nor with the create transition's value.
func TestMovedValueIsNotShared(t *testing.T) {
	bd, a, b, id, clones := tallyBoard(t)
	v := tallyOf(t, bd, id)
	old := bd.Clone()
	apertest.MustApply(t, bd, aper.On(bd.Move(id, b, list.End())))
	apertest.MustApply(t, bd, aper.On(bd.Update(id, tallyT{Add: 10})))
	assert.Equal(t, 2, *clones, "the first change after a Clone copies the value, once")
	assert.Equal(t, v, tallyOf(t, old, id), "the older Clone does not see the change")
	assert.Equal(t, v+10, tallyOf(t, bd, id))

	apertest.MustApply(t, old, aper.On(old.Move(id, b, list.Beginning())))
	apertest.MustApply(t, old, aper.On(old.Update(id, tallyT{Add: 100})))
	assert.Equal(t, v+100, tallyOf(t, old, id))
	assert.Equal(t, v+10, tallyOf(t, bd, id), "nor the board the older Clone's change")

	// A Clone after the move: each side copies the value before its first change.
	c := bd.Clone()
	apertest.MustApply(t, c, aper.On(c.Update(id, tallyT{Add: 1})))
	apertest.MustApply(t, bd, aper.On(bd.Update(id, tallyT{Add: 2})))
	assert.Equal(t, v+11, tallyOf(t, c, id))
	assert.Equal(t, v+12, tallyOf(t, bd, id))

	// The create transition's value stays the caller's.
	mine := &tally{n: 5, clones: clones}
	nid, x := bd.Append(b, mine)
	apertest.MustApply(t, bd, aper.On(x))
	apertest.MustApply(t, bd, aper.On(bd.Move(nid, a, list.End())))
	apertest.MustApply(t, bd, aper.On(bd.Update(nid, tallyT{Add: 1})))
	assert.Equal(t, int64(5), mine.n)
	assert.Equal(t, int64(6), tallyOf(t, bd, nid))
}
