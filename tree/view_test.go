package tree_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// row is what Nodes yields, with the value read out.
type row struct {
	depth, index int
	parent, id   uuid.UUID
	v            int64
}

func rows(tr *counters, from uuid.UUID) []row {
	var out []row
	for d, n := range tr.Nodes(from) {
		out = append(out, row{d, n.Index, n.Parent, n.ID, n.Value.Value()})
	}
	return out
}

// Nodes yields the outline: pre-order, each node with its depth below from, its parent and its
// index among its siblings, which restarts under each parent.
func TestNodes(t *testing.T) {
	tr := &counters{}
	a := add(t, tr, tree.Root, 1)
	a1 := add(t, tr, a, 11)
	a11 := add(t, tr, a1, 111)
	a2 := add(t, tr, a, 12)
	b := add(t, tr, tree.Root, 2)
	b1 := add(t, tr, b, 21)
	assert.Equal(t, []row{
		{1, 0, tree.Root, a, 1},
		{2, 0, a, a1, 11},
		{3, 0, a1, a11, 111},
		{2, 1, a, a2, 12},
		{1, 1, tree.Root, b, 2},
		{2, 0, b, b1, 21},
	}, rows(tr, tree.Root))
	assert.Equal(t, []row{{1, 0, a, a1, 11}, {2, 0, a1, a11, 111}, {1, 1, a, a2, 12}}, rows(tr, a), "below a node, depths count from it")
	assert.Empty(t, rows(tr, uuid.New()))
	// Every node's index is the one IndexOf gives, and the depth Depth gives.
	for _, r := range rows(tr, tree.Root) {
		i, _ := tr.IndexOf(r.id)
		d, _ := tr.Depth(r.id)
		assert.Equal(t, i, r.index)
		assert.Equal(t, d, r.depth)
	}
	// Stopping early stops.
	n := 0
	for range tr.Nodes(tree.Root) {
		n++
		if n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n)
}

// Nested encodes as [{id, value, children}], children in order and a leaf's an empty array.
func TestNestedJSON(t *testing.T) {
	tr := &counters{}
	a := add(t, tr, tree.Root, 1)
	a1 := add(t, tr, a, 11)
	a2 := add(t, tr, a, 12)
	a21 := add(t, tr, a2, 121)
	b := add(t, tr, tree.Root, 2)
	got, err := json.Marshal(tr.Nested(tree.Root))
	require.NoError(t, err)
	leaf := func(id uuid.UUID, v int) string { return fmt.Sprintf(`{"id":%q,"value":%d,"children":[]}`, id, v) }
	want := fmt.Sprintf(`[{"id":%q,"value":1,"children":[%s,{"id":%q,"value":12,"children":[%s]}]},%s]`,
		a, leaf(a1, 11), a2, leaf(a21, 121), leaf(b, 2))
	assert.JSONEq(t, want, string(got))
	assert.Equal(t, want, string(got))
	got, err = json.Marshal(tr.Nested(a2))
	require.NoError(t, err)
	assert.Equal(t, "["+leaf(a21, 121)+"]", string(got))
	for _, empty := range []uuid.UUID{a1, uuid.New()} {
		got, err = json.Marshal(tr.Nested(empty))
		require.NoError(t, err)
		assert.Equal(t, "[]", string(got))
	}
	got, err = json.Marshal((&counters{}).Nested(tree.Root))
	require.NoError(t, err)
	assert.Equal(t, "[]", string(got))
}

// Nested agrees with Children at every level.
func TestNestedMatchesChildren(t *testing.T) {
	tr := &counters{}
	ids := []uuid.UUID{tree.Root}
	for i := range 40 {
		ids = append(ids, add(t, tr, ids[(i*7)%len(ids)], int64(i)))
	}
	var check func(parent uuid.UUID, ns []tree.NestedNode[*aper.Counter])
	check = func(parent uuid.UUID, ns []tree.NestedNode[*aper.Counter]) {
		require.Equal(t, childIDs(tr, parent), idsOf(ns))
		for _, n := range ns {
			check(n.ID, n.Children)
		}
	}
	check(tree.Root, tr.Nested(tree.Root))
}

func idsOf(ns []tree.NestedNode[*aper.Counter]) []uuid.UUID {
	var out []uuid.UUID
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func TestMoveUnder(t *testing.T) {
	tr := &counters{}
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, tree.Root, 2)
	b1 := add(t, tr, b, 21)
	apertest.MustApply(t, tr, aper.On(tr.MoveUnder(a, b)))
	assert.Equal(t, []uuid.UUID{b1, a}, childIDs(tr, b), "last under the new parent")
	apertest.MustApply(t, tr, aper.On(tr.MoveUnder(b1, tree.Root)))
	assert.Equal(t, []uuid.UUID{b, b1}, childIDs(tr, tree.Root))
	apertest.Conflicts(t, tr, aper.On(tr.MoveUnder(b, a)), conflict.Cycle)
}

// A nil *Tree (an unset field of a generated struct) reads as an empty tree, and its
// constructors work.
func TestNilTreeReads(t *testing.T) {
	var tr *counters
	assert.Equal(t, 0, tr.Len())
	assert.True(t, tr.Has(tree.Root))
	id := uuid.New()
	assert.False(t, tr.Has(id))
	_, ok := tr.Get(id)
	assert.False(t, ok)
	_, ok = tr.Parent(id)
	assert.False(t, ok)
	assert.Equal(t, 0, tr.NumChildren(tree.Root))
	_, _, ok = tr.ChildAt(tree.Root, 0)
	assert.False(t, ok)
	_, ok = tr.IndexOf(id)
	assert.False(t, ok)
	_, ok = tr.Depth(id)
	assert.False(t, ok)
	for range tr.Children(tree.Root) {
		t.Fatal("a nil tree has a child")
	}
	for range tr.All() {
		t.Fatal("a nil tree has a node")
	}
	for range tr.Walk(tree.Root) {
		t.Fatal("a nil tree has a node")
	}
	for range tr.Nodes(tree.Root) {
		t.Fatal("a nil tree has a node")
	}
	assert.Empty(t, tr.Nested(tree.Root))
	var c *aper.Counter
	assert.Equal(t, tree.OpUpdate, tr.Update(id, c.Add(1)).Op)
	assert.Equal(t, tree.OpDelete, tr.Delete(id).Op)
	_, ins := tr.Append(tree.Root, aper.NewCounter(1))
	into := &counters{}
	apertest.MustApply(t, into, aper.On(ins))
	assert.Equal(t, 1, into.Len())
	apertest.MustApply(t, into, aper.On(tr.MoveUnder(ins.ID, tree.Root)))
}

func TestTransitionString(t *testing.T) {
	tr := &counters{}
	id, ins := tr.Append(tree.Root, aper.NewCounter(1))
	var c *aper.Counter
	assert.Equal(t, fmt.Sprintf("insert %s under %s at end", id, tree.Root), ins.String())
	assert.Equal(t, fmt.Sprintf("update %s: add 2", id), tr.Update(id, c.Add(2)).String())
	assert.Equal(t, fmt.Sprintf("delete %s", id), fmt.Sprint(tr.Delete(id)))
	assert.True(t, strings.HasPrefix(tr.MoveUnder(id, tree.Root).String(), "move "+id.String()+" under "))
}
