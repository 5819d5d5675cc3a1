package list_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/stretchr/testify/require"
)

// TestClonesOnTwoGoroutines changes two clones of one list at once, each owned by its goroutine,
// and checks that neither sees the other's edits; run with -race.
func TestClonesOnTwoGoroutines(t *testing.T) {
	base := list.New[*aper.Counter, aper.CounterTransition]()
	for range 3_000 {
		_, tr := base.Append(aper.NewCounter(0))
		require.NoError(t, base.Apply(aper.On(tr)))
	}
	clones := [2]*counters{base.Clone(), base.Clone()}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for g, l := range clones {
		wg.Go(func() {
			for i := range 1_000 {
				id, _, _ := l.At((7*i + g) % l.Len())
				steps := []countersT{
					l.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: int64(g + 2)}),
					l.MoveTo(id, (13*i)%l.Len()),
				}
				if i%2 == 0 {
					steps = append(steps, l.Delete(id))
				}
				_, ins := l.InsertAt(i%l.Len(), aper.NewCounter(0))
				steps = append(steps, ins)
				for _, s := range steps {
					if err := l.Apply(aper.On(s)); err != nil {
						errs[g] = err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, 3_000, base.Len())
	for _, v := range base.All() {
		require.Equal(t, int64(0), v.Value(), "the original changed")
	}
	for g, l := range clones {
		require.Equal(t, 3_000+500, l.Len())
		for _, v := range l.All() {
			if v.Value() > 0 {
				require.Zero(t, v.Value()%int64(g+2), "clone %d holds the other's update", g)
			}
		}
	}
}

type lists = list.List[*counters, countersT]

// TestLoopsOverSharedNestedLists runs loops that write, on two goroutines, over two clones of a
// list of lists: the inner lists start shared by both, so both loop over them at once while each
// changes its own copy; run with -race.
func TestLoopsOverSharedNestedLists(t *testing.T) {
	base := list.New[*counters, countersT]()
	for range 20 {
		inner := list.New[*aper.Counter, aper.CounterTransition]()
		for range 50 {
			_, tr := inner.Append(aper.NewCounter(1))
			require.NoError(t, inner.Apply(aper.On(tr)))
		}
		_, tr := base.Append(inner)
		require.NoError(t, base.Apply(aper.On(tr)))
	}
	clones := [2]*lists{base.Clone(), base.Clone()}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for g, l := range clones {
		wg.Go(func() {
			for id, inner := range l.All() {
				for innerID, v := range inner.All() {
					if v.Value() != 1 {
						errs[g] = fmt.Errorf("clone %d sees %d", g, v.Value())
						return
					}
					del := inner.Delete(innerID)
					if err := l.Apply(aper.On(l.Update(id, del))); err != nil {
						errs[g] = err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	for _, l := range clones {
		for _, inner := range l.All() {
			require.Zero(t, inner.Len())
		}
	}
	for _, inner := range base.All() {
		require.Equal(t, 50, inner.Len(), "the original changed")
	}
}
