package list_test

import (
	"fmt"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evenList returns a list of n items (n < 65,535) whose indexes are spread evenly over the
// index space, two bytes each (odd), about as a respace of the whole list leaves them, and their ids.
func evenList(t testing.TB, n int) (*counters, []uuid.UUID) {
	t.Helper()
	l := list.New[*aper.Counter, aper.CounterTransition]()
	for i := range n {
		v := (i+1)*65536/(n+1) | 1 // an index does not end in a zero byte
		k := list.MustParseZenoIndex(fmt.Sprintf("%04x", v))
		apertest.MustApply(t, l, aper.On(countersT{Op: list.OpInsert, ID: uuid.New(), Pos: list.At(k), Value: aper.NewCounter(int64(i))}))
	}
	return l, ids(l)
}

// TestHostileRespace checks that an OpRespace whose run the position constructors could not
// have chosen (not the items of a dyadic window of the index space, or a window that is not
// crowded) is an Invalid conflict that changes nothing, and that a crowded run is respaced.
func TestHostileRespace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		list    func(t *testing.T) (*counters, []uuid.UUID)
		runs    [][2]int // applied in turn; all but the last must succeed
		refused bool     // whether the last is refused
	}{
		{"the whole of an evenly spaced list", func(t *testing.T) (*counters, []uuid.UUID) { return evenList(t, 1000) }, [][2]int{{0, 999}}, true},
		{"the whole of an evenly spaced list, ends reversed", func(t *testing.T) (*counters, []uuid.UUID) { return evenList(t, 1000) }, [][2]int{{999, 0}}, true},
		{"a half of an evenly spaced list", func(t *testing.T) (*counters, []uuid.UUID) { return evenList(t, 1000) }, [][2]int{{0, 499}}, true},
		{"an eighth of an evenly spaced list", func(t *testing.T) (*counters, []uuid.UUID) { return evenList(t, 1000) }, [][2]int{{500, 624}}, true},
		{"the whole of a crowded list", crowded, [][2]int{{0, 39}}, true},
		{"a crowded run, once", crowded, [][2]int{{10, 29}}, false},
		{"the same crowded run twice in a row", crowded, [][2]int{{10, 29}, {10, 29}}, true},
		{"a run that is not a dyadic window: part of the crowded run", crowded, [][2]int{{12, 25}}, true},
		{"a run that is not a dyadic window: across the crowded run's edge", crowded, [][2]int{{5, 15}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, n := tc.list(t)
			last := len(tc.runs) - 1
			for _, r := range tc.runs[:last] {
				apertest.MustApply(t, l, aper.On(l.Respace(n[r[0]], n[r[1]])))
			}
			keys := keysOf(l)
			r := l.Respace(n[tc.runs[last][0]], n[tc.runs[last][1]])
			if tc.refused {
				apertest.Conflicts(t, l, aper.On(r), conflict.Invalid)
				assert.Equal(t, keys, keysOf(l), "a refused respace changes nothing")
				return
			}
			apertest.MustApply(t, l, aper.On(r))
			assert.NotEqual(t, keys, keysOf(l), "the run got new indexes")
		})
	}
}

// TestPositionWithHostileRespace checks that an insert whose position carries a run that is not
// admissible still happens, next to its anchor, as if the position carried no respace.
func TestPositionWithHostileRespace(t *testing.T) {
	l, n := crowded(t)
	keys := keysOf(l)
	pos := list.After(n[15], list.ZenoIndex{})
	pos.Respace = list.Respace{First: n[12], Last: n[25]} // not a window: items 10 and 11 share it
	id := uuid.New()
	apertest.MustApply(t, l, aper.On(countersT{Op: list.OpInsert, ID: id, Pos: pos, Value: aper.NewCounter(99)}))
	i, _ := l.IndexOf(id)
	assert.Equal(t, 16, i)
	after := keysOf(l)
	require.Len(t, after, 41)
	assert.Equal(t, keys[:16], after[:16], "no respace happened")
	assert.Equal(t, keys[16:], after[17:], "no respace happened")
}

// BenchmarkHostileRespace measures a hostile OpRespace applied again and again: the whole of a
// 300,000-item list of appends, a run that is not crowded.
func BenchmarkHostileRespace(b *testing.B) {
	l, n := bigList(b, 300_000)
	r := l.Respace(n[0], n[len(n)-1])
	for b.Loop() {
		_ = l.Apply(aper.On(r)) // refused: Invalid
	}
}
