package list_test

import (
	"github.com/aper-go/aper/list"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeleteEveryItemWhileIterating deletes each item inside the loop that yields it, which
// used to yield cleared items (a nil value) once a node had lost items under the iteration.
func TestDeleteEveryItemWhileIterating(t *testing.T) {
	for _, dir := range []string{"All", "Backward"} {
		t.Run(dir, func(t *testing.T) {
			l := list.New[*aper.Counter, aper.CounterTransition]()
			want := make([]int64, 200)
			for i := range want {
				want[i] = int64(i)
			}
			n := appendAll(t, l, want...)
			seq := l.All()
			if dir == "Backward" {
				seq = l.Backward()
				for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
					want[i], want[j] = want[j], want[i]
					n[i], n[j] = n[j], n[i]
				}
			}
			var got []int64
			var gotIDs []uuid.UUID
			for id, v := range seq {
				require.NotNil(t, v, "item %d", len(got))
				got = append(got, v.Value())
				gotIDs = append(gotIDs, id)
				apertest.MustApply(t, l, aper.On(l.Delete(id)))
			}
			assert.Equal(t, want, got)
			assert.Equal(t, n, gotIDs)
			assert.Zero(t, l.Len())
		})
	}
}

// TestIterationSeesTheListAsItBegan inserts, moves, updates and deletes during loops: each loop
// yields the list as it was when it began, and the list holds every change afterwards.
func TestIterationSeesTheListAsItBegan(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 0, 1, 2, 3, 4)
	// Make the values the list's own, so that an update outside a loop changes them in place.
	for _, id := range n {
		apertest.MustApply(t, l, aper.On(l.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 10})))
	}
	add := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 100}
	var got []int64
	for id, v := range l.All() {
		got = append(got, v.Value())
		if !l.Has(id) {
			continue // deleted by the loop itself, before the loop reached it
		}
		applier(t, l)(l.InsertAfter(id, aper.NewCounter(-1)))  // after the current item
		apertest.MustApply(t, l, aper.On(l.Update(n[4], add))) // an item not yet reached
		apertest.MustApply(t, l, aper.On(l.Update(id, add)))   // the current item
		if id == n[1] {
			apertest.MustApply(t, l, aper.On(l.MoveTo(n[3], 0))) // move one not yet reached
			apertest.MustApply(t, l, aper.On(l.Delete(n[2])))    // delete one not yet reached
		}
	}
	assert.Equal(t, []int64{10, 11, 12, 13, 14}, got, "the values as they were when the loop began")
	assert.Equal(t, []int64{113, -1, 110, -1, 111, -1, 514, -1}, values(l))

	var keys int
	for id := range l.Keys() {
		keys++
		apertest.MustApply(t, l, aper.On(l.Delete(id)))
	}
	assert.Equal(t, 8, keys)
	assert.Zero(t, l.Len())
}

// TestIterationCostsNothingAfterwards checks that a loop that changes nothing leaves the list's
// values its own: an update after the loop changes the value in place, as before the loop.
func TestIterationCostsNothingAfterwards(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 1, 2, 3)
	add := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}
	apertest.MustApply(t, l, aper.On(l.Update(n[1], add))) // cloned once: now the list's own
	before, _ := l.Get(n[1])
	for range l.All() {
	}
	for range l.Backward() {
		break
	}
	apertest.MustApply(t, l, aper.On(l.Update(n[1], add)))
	after, _ := l.Get(n[1])
	assert.Same(t, before, after, "no clone after a loop that changed nothing")
	assert.Equal(t, int64(4), after.Value())
	allocs := testing.AllocsPerRun(100, func() {
		for range l.All() {
		}
	})
	assert.Zero(t, allocs, "a loop over the list allocates")
}
