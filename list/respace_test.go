package list_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crowded returns a list of 40 items, values 0 to 39 in order, and their ids: items 10 to 29
// have long indexes (3 to 22 bytes, as a run of inserts each between a fixed item and the one
// before would make them), the others one byte.
func crowded(t *testing.T) (*counters, []uuid.UUID) { return fixture(t, true) }

// fixture returns the crowded list, or with long unset one whose items 10 to 29 have 3-byte
// indexes: short enough that the constructors add no respace next to them, long enough that a
// respace changes them.
func fixture(t *testing.T, long bool) (*counters, []uuid.UUID) {
	t.Helper()
	l := list.New[*aper.Counter, aper.CounterTransition]()
	for v := range 40 {
		var k string
		switch {
		case v < 10:
			k = fmt.Sprintf("%02x", 0x10+v)
		case v < 30 && long:
			k = "1a" + strings.Repeat("00", 30-v) + "01"
		case v < 30:
			k = fmt.Sprintf("1a%02x01", 0x10+8*(v-10))
		default:
			k = fmt.Sprintf("%02x", 0x40+v-30)
		}
		apertest.MustApply(t, l, aper.On(countersT{Op: list.OpInsert, ID: uuid.New(), Pos: list.At(list.MustParseZenoIndex(k)), Value: aper.NewCounter(int64(v))}))
	}
	n := ids(l)
	for i := range 40 {
		require.Equal(t, int64(i), at(l, i))
	}
	return l, n
}

// keysOf returns l's indexes in order.
func keysOf(l *counters) []list.ZenoIndex {
	var out []list.ZenoIndex
	for _, k := range l.Keys() {
		out = append(out, k)
	}
	return out
}

// at returns the value at position i of l.
func at(l *counters, i int) int64 {
	_, v, _ := l.At(i)
	return v.Value()
}

// TestRespaceKeepsOrderAndShortens checks a respace transition on its own: the order and the
// values stay, the run gets short, ascending indexes between its neighbours, the rest keep
// theirs, and every replica computes the same indexes.
func TestRespaceKeepsOrderAndShortens(t *testing.T) {
	l, n := crowded(t)
	before := values(l)
	keys := keysOf(l)
	require.Greater(t, keys[10].Len(), 8, "the fixture's run is crowded")
	r := l.Respace(n[29], n[10]) // either order
	other := l.Clone()
	apertest.MustApply(t, l, aper.On(r))
	apertest.MustApply(t, other, aper.On(r))
	assert.Equal(t, before, values(l))
	after := keysOf(l)
	assert.Equal(t, after, keysOf(other), "replicas compute the same indexes")
	assert.Equal(t, keys[:10], after[:10])
	assert.Equal(t, keys[30:], after[30:])
	for i := 10; i < 30; i++ {
		assert.True(t, after[i-1].Less(after[i]) && after[i].Less(after[i+1]), "index %d in order", i)
		assert.LessOrEqual(t, after[i].Len(), 3, "index %d is short", i)
		id, _, _ := l.At(i)
		k, _ := l.KeyOf(id)
		assert.Equal(t, after[i], k, "the id lookup follows the respace")
	}
	// The list's own clones are not changed by it.
	assert.Equal(t, before, values(other))
}

// TestRespaceConflicts checks what a respace transition refuses, each leaving the list as it
// was, and what a position's respace does when its run is gone.
func TestRespaceConflicts(t *testing.T) {
	l, n := crowded(t)
	keys := keysOf(l)
	gone := uuid.New()
	apertest.Conflicts(t, l, aper.On(l.Respace(n[10], gone)), conflict.NotFound)
	apertest.Conflicts(t, l, aper.On(l.Respace(gone, n[10])), conflict.NotFound)
	bad := l.Respace(n[10], n[20])
	bad.ID = n[3]
	apertest.Conflicts(t, l, aper.On(bad), conflict.Invalid)
	apertest.Conflicts(t, l, aper.On(countersT{Op: list.OpRespace}), conflict.Invalid)
	assert.Equal(t, keys, keysOf(l))

	// An insert whose respace names an item that is gone still goes where it is anchored.
	pos := list.After(n[15], list.ZenoIndex{})
	pos.Respace = list.Respace{First: n[10], Last: gone}
	id := uuid.New()
	apertest.MustApply(t, l, aper.On(countersT{Op: list.OpInsert, ID: id, Pos: pos, Value: aper.NewCounter(99)}))
	i, _ := l.IndexOf(id)
	assert.Equal(t, 16, i)
	assert.Equal(t, keys[:16], keysOf(l)[:16], "no respace happened")
}

// TestRespaceOnTheWire checks that a transition carrying a respace survives both encodings, and
// that a respace naming one end only is malformed.
func TestRespaceOnTheWire(t *testing.T) {
	l, n := crowded(t)
	_, ins := l.InsertAfter(n[20], aper.NewCounter(5))
	require.False(t, ins.Pos.Respace.IsZero(), "an insert in the crowded run respaces")
	for _, tr := range []countersT{ins, l.Respace(n[10], n[29])} {
		for _, got := range apertest.RoundTrip(t, tr) {
			assert.Equal(t, tr.Pos, got.Pos)
			assert.Equal(t, tr.Op, got.Op)
		}
	}
	var tr countersT
	err := json.Unmarshal([]byte(`{"op":5,"pos":{"kind":0,"respace":{"first":"`+n[1].String()+`"}}}`), &tr)
	assert.ErrorIs(t, err, list.ErrMalformedList)
}

// TestConcurrentRespace is the contract for transitions made concurrently with a respace: one
// replica respaces items 10 to 29 of the crowded list, another makes a transition from the list
// as it was, and the server orders the respace first. Anchored positions (Before, After: every
// position the list's constructors make, including MoveTo's) land next to their anchor, as if
// there had been no respace. A bare At index, or the fallback index of an anchor that is gone,
// that lay inside the respaced run still lands inside it (between items 9 and 30), but not
// necessarily between the items it was captured beside. The other order (the transition first)
// is an ordinary insert then a respace: the same order of items.
func TestConcurrentRespace(t *testing.T) {
	type want struct {
		after  int  // the value the new or moved item follows; -1: check inside instead
		inside bool // the item lands between values 9 and 30
	}
	for _, c := range []struct {
		name string
		// op makes the concurrent transition from the list before the respace (and may apply
		// others first, to the base list, ordered before both); it returns the id to look for.
		op   func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT)
		want want
	}{
		{"insert after an item of the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return l.InsertAfter(n[14], aper.NewCounter(100))
		}, want{after: 14}},
		{"insert before an item of the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return l.InsertBefore(n[14], aper.NewCounter(100))
		}, want{after: 13}},
		{"insert at a position inside the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return l.InsertAt(20, aper.NewCounter(100))
		}, want{after: 19}},
		{"insert at the run's first position", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return l.InsertAt(10, aper.NewCounter(100))
		}, want{after: 9}},
		{"insert just past the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return l.InsertAt(30, aper.NewCounter(100))
		}, want{after: 29}},
		{"move to a position inside the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return n[3], l.MoveTo(n[3], 20) // without item 3, position 20 follows value 20
		}, want{after: 20}},
		{"move an item of the run out of it", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return n[15], l.Move(n[15], l.PositionAfter(n[35]))
		}, want{after: 35}},
		{"move an item of the run within it", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			return n[12], l.Move(n[12], l.PositionBefore(n[25]))
		}, want{after: 24}},
		{"insert carrying its own respace of an overlapping run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			id, tr := l.InsertAfter(n[25], aper.NewCounter(100))
			tr.Pos.Respace = list.Respace{First: n[20], Last: n[33]}
			return id, tr
		}, want{after: 25}},
		{"bare At index captured inside the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			p := l.PositionAfter(n[17])
			return l.Insert(list.At(p.Index), aper.NewCounter(100))
		}, want{after: -1, inside: true}},
		{"move to a bare At index inside the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			p := l.PositionAfter(n[22])
			return n[37], countersT{Op: list.OpMove, ID: n[37], Pos: list.At(p.Index)}
		}, want{after: -1, inside: true}},
		{"anchor deleted: the fallback index inside the run", func(t *testing.T, l *counters, n []uuid.UUID) (uuid.UUID, countersT) {
			id, tr := l.InsertAfter(n[18], aper.NewCounter(100))
			tr.Pos.Respace = list.Respace{} // as an older client would send it
			apertest.MustApply(t, l, aper.On(l.Delete(n[18])))
			return id, tr
		}, want{after: -1, inside: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, n := fixture(t, false)
			respace := base.Respace(n[10], n[29])
			// The concurrent transition is made from the base; anything op applies to the base
			// first is ordered before both.
			maker := base.Clone()
			id, op := c.op(t, maker, n)
			base = maker
			if !strings.Contains(c.name, "its own respace") {
				require.True(t, op.Pos.Respace.IsZero(), "the transition's index is read in the old spacing")
			}
			moved := base.Clone()
			apertest.MustApply(t, moved, aper.On(respace))
			require.NotEqual(t, keysOf(base)[10:30], keysOf(moved)[10:30], "the respace changes the run's indexes")

			for _, order := range []string{"respace first", "transition first"} {
				l := base.Clone()
				seq := []countersT{respace, op}
				if order == "transition first" {
					seq = []countersT{op, respace}
				}
				for _, tr := range seq {
					apertest.MustApply(t, l, aper.On(tr))
				}
				i, ok := l.IndexOf(id)
				require.True(t, ok, order)
				switch {
				case c.want.inside:
					lo, _ := l.IndexOf(n[9])
					hi, _ := l.IndexOf(n[30])
					assert.True(t, lo < i && i < hi, "%s: at %d, not between %d and %d", order, i, lo, hi)
				default:
					require.Positive(t, i, order)
					assert.Equal(t, int64(c.want.after), at(l, i-1), "%s: the item before it", order)
				}
				// Everything else keeps its order.
				others := slices.DeleteFunc(values(l), func(v int64) bool { return v == 100 })
				assert.True(t, isOrderedButMoved(others), "%s: %v", order, others)
			}
		})
	}
}

// isOrderedButMoved reports whether vs is ascending once at most one value is taken out (the
// moved item).
func isOrderedButMoved(vs []int64) bool {
	for skip := -1; skip < len(vs); skip++ {
		rest := slices.Clone(vs)
		if skip >= 0 {
			rest = slices.Delete(rest, skip, skip+1)
		}
		if slices.IsSorted(rest) {
			return true
		}
	}
	return false
}
