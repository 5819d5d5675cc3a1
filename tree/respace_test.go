package tree_test

import (
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChildrenMiddleInsertsStayShort inserts 20,000 children (6,000 under the race detector), each at the middle of one
// parent's children, and moves a child to the middle of another parent's after every tenth: a
// parent's children are ordered by the list's indexes and positioned by its constructors, so
// they are respaced when an index would grow too long. Without respacing the 5,461st such
// insert would be refused. The order stays the one the inserts asked for.
func TestChildrenMiddleInsertsStayShort(t *testing.T) {
	n := 20_000
	if raceEnabled {
		n = 6_000
	}
	var tr counters
	a := add(t, &tr, tree.Root, -1)
	b := add(t, &tr, tree.Root, -2)
	var want []uuid.UUID // a's children, as a slice would hold them
	respaced := 0
	for i := range n {
		mid := tr.NumChildren(a) / 2
		id, x := tr.InsertAt(a, mid, aper.NewCounter(int64(i)))
		if !x.Pos.Respace.IsZero() {
			respaced++
		}
		do(t, &tr)(id, x)
		want = slices.Insert(want, mid, id)
		if i%10 == 0 {
			do(t, &tr)(id, tr.MoveTo(id, b, tr.NumChildren(b)/2))
			want = slices.Delete(want, mid, mid+1)
		}
	}
	assert.Positive(t, respaced)
	var got []uuid.UUID
	for id := range tr.Children(a) {
		got = append(got, id)
	}
	require.Equal(t, want, got)
	for _, p := range []uuid.UUID{a, b} {
		longest := 0
		for id := range tr.Children(p) {
			k, _ := tr.KeyOf(id)
			longest = max(longest, k.Len())
		}
		assert.LessOrEqual(t, longest, list.RespaceLen)
	}
}
