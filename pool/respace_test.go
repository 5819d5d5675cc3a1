package pool_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestColumnMiddleInsertsStayShort creates 20,000 cards, each at the middle of one list, and
// moves a card to the middle of another list after every tenth: a column's cards are a list's
// items, so the list's constructors respace them when an index would grow too long. Without
// respacing the 5,461st such insert would be refused.
func TestColumnMiddleInsertsStayShort(t *testing.T) {
	const n = 20_000
	b := &board{}
	todo := do(t, b)(b.AppendList("todo"))
	done := do(t, b)(b.AppendList("done"))
	respaced := 0
	for i := range n {
		_, tr := b.Create(todo, b.PositionAt(todo, b.ListLen(todo)/2), aper.NewCounter(int64(i)))
		if !tr.Pos.Respace.IsZero() {
			respaced++
		}
		id := do(t, b)(tr.ID, tr)
		if i%10 == 0 {
			do(t, b)(id, b.MoveTo(id, done, b.ListLen(done)/2))
		}
	}
	require.Equal(t, n, b.ListLen(todo)+b.ListLen(done))
	assert.Positive(t, respaced)
	for _, l := range []string{"todo", "done"} {
		id := todo
		if l == "done" {
			id = done
		}
		keys := pool.KeysOf(b, id)
		longest := 0
		for _, k := range keys {
			longest = max(longest, k.Len())
		}
		assert.LessOrEqual(t, longest, list.RespaceLen, "%s: longest index", l)
	}
}
