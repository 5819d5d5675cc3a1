package tree_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type (
	counters  = tree.Tree[*aper.Counter, aper.CounterTransition]
	countersT = tree.Transition[*aper.Counter, aper.CounterTransition]
)

// do applies what one of t's insert constructors returned and returns the new node's id:
// do(t, tr)(tr.Append(parent, v)).
func do(t testing.TB, tr *counters) func(uuid.UUID, countersT) uuid.UUID {
	return func(id uuid.UUID, x countersT) uuid.UUID {
		t.Helper()
		apertest.MustApply(t, tr, aper.On(x))
		return id
	}
}

func add(t testing.TB, tr *counters, parent uuid.UUID, v int64) uuid.UUID {
	t.Helper()
	return do(t, tr)(tr.Append(parent, aper.NewCounter(v)))
}

func children(tr *counters, id uuid.UUID) []int64 {
	out := []int64{}
	for _, v := range tr.Children(id) {
		out = append(out, v.Value())
	}
	return out
}

func childIDs(tr *counters, id uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for c := range tr.Children(id) {
		out = append(out, c)
	}
	return out
}

func TestZeroValueAndRoot(t *testing.T) {
	var tr counters
	assert.Equal(t, 0, tr.Len())
	assert.True(t, tr.Has(tree.Root))
	_, ok := tr.Get(tree.Root)
	assert.False(t, ok)
	_, ok = tr.Parent(tree.Root)
	assert.False(t, ok)
	path, ok := tr.Path(tree.Root)
	assert.True(t, ok)
	assert.Empty(t, path)
	assert.Empty(t, children(&tr, tree.Root))
	apertest.RoundTrip(t, &tr)
}

func TestInsertPositions(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	p := add(t, tr, tree.Root, 0)
	a := add(t, tr, p, 1)
	b := add(t, tr, p, 2)
	do(t, tr)(tr.Prepend(p, aper.NewCounter(3)))
	do(t, tr)(tr.InsertBefore(b, aper.NewCounter(4)))
	do(t, tr)(tr.InsertAfter(a, aper.NewCounter(5)))
	do(t, tr)(tr.InsertAt(p, 0, aper.NewCounter(6)))
	do(t, tr)(tr.InsertAt(p, 99, aper.NewCounter(7)))
	do(t, tr)(tr.InsertAt(p, 2, aper.NewCounter(8)))
	assert.Equal(t, []int64{6, 3, 8, 1, 5, 4, 2, 7}, children(tr, p))
	assert.Equal(t, 8, tr.NumChildren(p))
	assert.Equal(t, 1, tr.NumChildren(tree.Root))
	assert.Equal(t, 9, tr.Len())
	for i, id := range childIDs(tr, p) {
		got, _, ok := tr.ChildAt(p, i)
		require.True(t, ok)
		assert.Equal(t, id, got)
		j, ok := tr.IndexOf(id)
		require.True(t, ok)
		assert.Equal(t, i, j)
	}
	_, _, ok := tr.ChildAt(p, 8)
	assert.False(t, ok)
	_, _, ok = tr.ChildAt(a, 0)
	assert.False(t, ok)
}

func TestMoveCarriesSubtree(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, tree.Root, 2)
	a1 := add(t, tr, a, 11)
	a11 := add(t, tr, a1, 111)
	apertest.MustApply(t, tr, aper.On(tr.Move(a1, b, list.End())))
	parent, _ := tr.Parent(a1)
	assert.Equal(t, b, parent)
	path, ok := tr.Path(a11)
	require.True(t, ok)
	assert.Equal(t, []uuid.UUID{b, a1, a11}, path)
	d, _ := tr.Depth(a11)
	assert.Equal(t, 3, d)
	assert.Empty(t, children(tr, a))
	assert.Equal(t, []int64{11}, children(tr, b))

	// Reorder among siblings.
	c := add(t, tr, tree.Root, 3)
	apertest.MustApply(t, tr, aper.On(tr.MoveTo(c, tree.Root, 0)))
	assert.Equal(t, []int64{3, 1, 2}, children(tr, tree.Root))
	apertest.MustApply(t, tr, aper.On(tr.MoveTo(c, tree.Root, 2)))
	assert.Equal(t, []int64{1, 2, 3}, children(tr, tree.Root))
	apertest.MustApply(t, tr, aper.On(tr.MoveBefore(c, b)))
	assert.Equal(t, []int64{1, 3, 2}, children(tr, tree.Root))
	apertest.MustApply(t, tr, aper.On(tr.MoveAfter(a, a1))) // a becomes a1's sibling under b
	assert.Equal(t, []int64{11, 1}, children(tr, b))
	assert.Equal(t, 5, tr.Len())
}

func TestDeleteSubtree(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, tree.Root, 2)
	a1 := add(t, tr, a, 11)
	a2 := add(t, tr, a, 12)
	a11 := add(t, tr, a1, 111)
	b1 := add(t, tr, b, 21)
	apertest.MustApply(t, tr, aper.On(tr.Delete(a)))
	assert.Equal(t, 2, tr.Len())
	for _, id := range []uuid.UUID{a, a1, a2, a11} {
		assert.False(t, tr.Has(id))
		_, ok := tr.Get(id)
		assert.False(t, ok)
	}
	assert.Equal(t, []int64{2}, children(tr, tree.Root))
	assert.True(t, tr.Has(b1))
	assert.Empty(t, children(tr, a))
}

func TestWalkAndAll(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, tree.Root, 2)
	a1 := add(t, tr, a, 11)
	add(t, tr, a1, 111)
	add(t, tr, a, 12)
	add(t, tr, b, 21)
	var got []string
	for id, depth := range tr.Walk(tree.Root) {
		v, _ := tr.Get(id)
		got = append(got, fmt.Sprintf("%d@%d", v.Value(), depth))
	}
	assert.Equal(t, []string{"1@1", "11@2", "111@3", "12@2", "2@1", "21@2"}, got)
	got = nil
	for id, depth := range tr.Walk(a) {
		v, _ := tr.Get(id)
		got = append(got, fmt.Sprintf("%d@%d", v.Value(), depth))
	}
	assert.Equal(t, []string{"11@1", "111@2", "12@1"}, got)
	var all []int64
	for _, v := range tr.All() {
		all = append(all, v.Value())
		if len(all) == 3 {
			break
		}
	}
	assert.Equal(t, []int64{1, 11, 111}, all)
}

func TestUpdate(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	v, _ := tr.Get(a)
	apertest.MustApply(t, tr, aper.On(tr.Update(a, v.Add(41))))
	v, _ = tr.Get(a)
	assert.Equal(t, int64(42), v.Value())
}

func TestInsertStoresAClone(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	c := aper.NewCounter(1)
	id, x := tr.Append(tree.Root, c)
	apertest.MustApply(t, tr, aper.On(x))
	other := tree.New[*aper.Counter, aper.CounterTransition]()
	apertest.MustApply(t, other, aper.On(x)) // the same transition on a second replica
	apertest.MustApply(t, tr, aper.On(tr.Update(id, c.Add(5))))
	assert.Equal(t, int64(1), c.Value())
	v, _ := other.Get(id)
	assert.Equal(t, int64(1), v.Value())
	v, _ = tr.Get(id)
	assert.Equal(t, int64(6), v.Value())
}

func TestConstructorsDoNotChangeTheTree(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, a, 2)
	before := apertest.Encode(t, aper.JSON, tr)
	tr.Append(a, aper.NewCounter(3))
	tr.Prepend(a, aper.NewCounter(3))
	tr.InsertAt(a, 1, aper.NewCounter(3))
	tr.InsertBefore(b, aper.NewCounter(3))
	tr.InsertAfter(b, aper.NewCounter(3))
	tr.Move(b, tree.Root, list.End())
	tr.MoveTo(b, tree.Root, 0)
	tr.MoveAfter(a, b)
	tr.Delete(a)
	tr.Update(a, aper.CounterTransition{})
	assert.Equal(t, string(before), string(apertest.Encode(t, aper.JSON, tr)))
}

func TestConflicts(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	a1 := add(t, tr, a, 11)
	a11 := add(t, tr, a1, 111)
	b := add(t, tr, tree.Root, math.MaxInt64)
	ghost := uuid.New()
	_, ins := tr.Append(tree.Root, aper.NewCounter(0))
	insAt := func(parent uuid.UUID, pos list.ListPosition) countersT {
		_, x := tr.Insert(parent, pos, aper.NewCounter(0))
		return x
	}
	one, _ := tr.Get(b)
	tests := []struct {
		name string
		tr   countersT
		kind conflict.Kind
		path []string
	}{
		{"move under itself", tr.Move(a, a, list.End()), conflict.Cycle, []string{a.String()}},
		{"move under its child", tr.Move(a, a1, list.End()), conflict.Cycle, []string{a.String()}},
		{"move under its grandchild", tr.Move(a, a11, list.Beginning()), conflict.Cycle, []string{a.String()}},
		{"move the root", tr.Move(tree.Root, a, list.End()), conflict.Invalid, nil},
		{"move unknown", tr.Move(ghost, a, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"move under unknown", tr.Move(a1, ghost, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"move to a missing anchor", tr.Move(a1, tree.Root, list.After(ghost, list.ZenoIndex{})), conflict.NotFound, []string{ghost.String()}},
		{"move at no index", tr.Move(a1, tree.Root, list.At(list.ZenoIndex{})), conflict.Invalid, nil},
		{"insert duplicate", countersT{Op: tree.OpInsert, ID: a1, Value: aper.NewCounter(0), Pos: list.End()}, conflict.Duplicate, []string{a1.String()}},
		{"insert under unknown", insAt(ghost, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"insert the root", countersT{Op: tree.OpInsert, Value: aper.NewCounter(0), Pos: list.End()}, conflict.Invalid, nil},
		{"insert nil value", countersT{Op: tree.OpInsert, ID: uuid.New(), Pos: list.End()}, conflict.Invalid, nil},
		{"insert before an anchor under another parent", insAt(tree.Root, list.Before(a11, list.ZenoIndex{})), conflict.NotFound, []string{a11.String()}},
		{"insert with a bad position kind", insAt(tree.Root, list.ListPosition{Kind: 99}), conflict.Invalid, nil},
		{"delete the root", tr.Delete(tree.Root), conflict.Invalid, nil},
		{"delete unknown", tr.Delete(ghost), conflict.NotFound, []string{ghost.String()}},
		{"delete with a value", countersT{Op: tree.OpDelete, ID: a, Value: aper.NewCounter(1)}, conflict.Invalid, nil},
		{"update the root", tr.Update(tree.Root, one.Add(1)), conflict.Invalid, nil},
		{"update unknown", tr.Update(ghost, one.Add(1)), conflict.NotFound, []string{ghost.String()}},
		{"inner conflict", tr.Update(b, one.Add(1)), conflict.OutOfRange, []string{b.String()}},
		{"unknown op", countersT{Op: 42, ID: a}, conflict.Invalid, nil},
	}
	_ = ins
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := apertest.Conflicts(t, tr, aper.On(tc.tr), tc.kind)
			if tc.path != nil {
				assert.Equal(t, tc.path, c.Path)
			}
		})
	}
	assert.Equal(t, 4, tr.Len())
	// A missing anchor with a fallback index is not a conflict.
	_, pos := tr.PositionAfter(a)
	apertest.MustApply(t, tr, aper.On(tr.Delete(a)))
	id := do(t, tr)(tr.Insert(tree.Root, pos, aper.NewCounter(5)))
	assert.True(t, tr.Has(id))
}

func TestCycleErrorIs(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	a1 := add(t, tr, a, 2)
	err := tr.Apply(aper.On(tr.Move(a, a1, list.End())))
	assert.True(t, errors.Is(err, conflict.ErrCycle))
}

// TestConcurrentMovesRejectTheCycle is the scenario of two clients that each move one node under
// the other: both apply optimistically, the server orders them, the second is the cycle and is
// rejected, and every replica ends with the same acyclic tree.
func TestConcurrentMovesRejectTheCycle(t *testing.T) {
	for _, serverFirst := range []int{0, 1} {
		t.Run(fmt.Sprint("first=", serverFirst), func(t *testing.T) {
			base := tree.New[*aper.Counter, aper.CounterTransition]()
			a := add(t, base, tree.Root, 1)
			b := add(t, base, tree.Root, 2)
			add(t, base, a, 11)
			add(t, base, b, 21)

			clients := []*counters{base.Clone(), base.Clone()}
			sent := []countersT{
				clients[0].Move(a, b, list.End()), // A under B
				clients[1].Move(b, a, list.End()), // B under A
			}
			for i, c := range clients { // optimistic: each alone is fine
				apertest.MustApply(t, c, aper.On(sent[i]))
			}

			// The server applies them in its order and broadcasts only what it accepted.
			server := base.Clone()
			order := []int{serverFirst, 1 - serverFirst}
			var log []countersT
			for n, i := range order {
				err := server.Apply(aper.Event[countersT]{Seq: uint64(n + 1), Transition: sent[i]})
				if n == 0 {
					require.NoError(t, err)
					log = append(log, sent[i])
				} else {
					require.ErrorIs(t, err, conflict.ErrCycle)
				}
			}

			// Each client rolls back to the confirmed base and replays the server's log.
			for i := range clients {
				clients[i] = base.Clone()
				for _, x := range log {
					apertest.MustApply(t, clients[i], aper.On(x))
				}
				apertest.Equal(t, server, clients[i])
				checkInvariants(t, clients[i])
			}
			checkInvariants(t, server)
			winner, loser := a, b
			if serverFirst == 1 {
				winner, loser = b, a
			}
			p, _ := server.Parent(winner)
			assert.Equal(t, loser, p)
			p, _ = server.Parent(loser)
			assert.Equal(t, tree.Root, p)
		})
	}
}

func TestCloneIsIndependent(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, a, 2)
	c := tr.Clone()
	before := apertest.Encode(t, aper.CBOR, tr)

	v, _ := c.Get(b)
	apertest.MustApply(t, c, aper.On(c.Update(b, v.Add(10))))
	apertest.MustApply(t, c, aper.On(c.Move(b, tree.Root, list.Beginning())))
	add(t, c, b, 3)
	assert.Equal(t, string(before), string(apertest.Encode(t, aper.CBOR, tr)))
	v, _ = tr.Get(b)
	assert.Equal(t, int64(2), v.Value())

	// And the other way round: the original changes, the clone does not.
	after := apertest.Encode(t, aper.CBOR, c)
	apertest.MustApply(t, tr, aper.On(tr.Update(b, v.Add(5))))
	apertest.MustApply(t, tr, aper.On(tr.Delete(a)))
	assert.Equal(t, string(after), string(apertest.Encode(t, aper.CBOR, c)))
	v, _ = c.Get(b)
	assert.Equal(t, int64(12), v.Value())
}

func TestRoundTrip(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, tree.Root, 2)
	a1 := add(t, tr, a, 11)
	add(t, tr, a1, 111)
	add(t, tr, b, 21)
	apertest.MustApply(t, tr, aper.On(tr.MoveTo(b, a1, 0)))
	for _, got := range apertest.RoundTrip(t, tr) {
		checkInvariants(t, got)
		assert.Equal(t, tr.Len(), got.Len())
		path, _ := got.Path(b)
		assert.Equal(t, []uuid.UUID{a, a1, b}, path)
		// The decoded tree is a working state machine.
		v, _ := got.Get(b)
		apertest.MustApply(t, got, aper.On(got.Update(b, v.Add(1))))
		apertest.MustApply(t, got, aper.On(got.Move(a1, tree.Root, list.End())))
		add(t, got, b, 5)
	}
	var x countersT
	_, x = tr.InsertAfter(a, aper.NewCounter(7))
	v, _ := tr.Get(a)
	for _, tc := range []countersT{x, tr.Move(a, b, list.Beginning()), tr.MoveBefore(b, a1), tr.Delete(a), tr.Update(a, v.Add(3))} {
		apertest.RoundTrip(t, tc)
	}
	js, err := json.Marshal(tr)
	require.NoError(t, err)
	assert.Contains(t, string(js), `[["00000000-0000-0000-0000-000000000000","80","`+a.String()+`",1],`)
}

// TestDecodeRejects: every input that does not decode to a tree, in either codec, whether the
// codec fails (syntax, shapes, ids, values) or the tree's checks do, is an error from
// UnmarshalJSON or UnmarshalCBOR that matches ErrMalformedTree and leaves the tree as it was. So
// is the error of decoding well-formed bytes through the codec; bytes that are not well-formed
// JSON or CBOR at all fail in the codec before it calls the tree's decoder.
func TestDecodeRejects(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	nilID := uuid.Nil.String()
	jsonTests := []struct {
		name, json string
	}{
		{"null", `null`},
		{"syntax", `[["`},
		{"not an array", `{}`},
		{"entry not an array", `[{}]`},
		{"short entry", `[["` + nilID + `","80","` + a.String() + `"]]`},
		{"long entry", `[["` + nilID + `","80","` + a.String() + `",1,2]]`},
		{"unknown parent", `[["` + b.String() + `","80","` + a.String() + `",1]]`},
		{"child before parent", `[["` + a.String() + `","80","` + b.String() + `",1],["` + nilID + `","80","` + a.String() + `",1]]`},
		{"self parent", `[["` + a.String() + `","80","` + a.String() + `",1]]`},
		{"duplicate id", `[["` + nilID + `","80","` + a.String() + `",1],["` + nilID + `","90","` + a.String() + `",1]]`},
		{"root as a node", `[["` + nilID + `","80","` + nilID + `",1]]`},
		{"sibling index twice", `[["` + nilID + `","80","` + a.String() + `",1],["` + nilID + `","80","` + b.String() + `",1]]`},
		{"no index", `[["` + nilID + `","","` + a.String() + `",1]]`},
		{"bad index", `[["` + nilID + `","8000","` + a.String() + `",1]]`},
		{"index not a string", `[["` + nilID + `",128,"` + a.String() + `",1]]`},
		{"null value", `[["` + nilID + `","80","` + a.String() + `",null]]`},
		{"bad value", `[["` + nilID + `","80","` + a.String() + `","x"]]`},
		{"bad id", `[["` + nilID + `","80","x",1]]`},
		{"bad parent", `[["0000","80","` + a.String() + `",1]]`},
	}
	type input struct {
		name string
		data []byte
	}
	var js []input
	for _, tc := range jsonTests {
		js = append(js, input{tc.name, []byte(tc.json)})
	}
	unmarshal := map[string]func(*counters, []byte) error{
		"json": (*counters).UnmarshalJSON,
		"cbor": (*counters).UnmarshalCBOR,
	}
	cb := func(v any) []byte { return apertest.Encode(t, aper.CBOR, v) }
	root, idA, idB := uuid.Nil[:], a[:], b[:]
	cbor := []input{
		{"null", []byte{0xf6}},
		{"truncated", []byte{0x81, 0x84, 0x50}},
		{"huge length", []byte{0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"not an array", cb(map[string]int{})},
		{"entry not an array", cb([]any{map[string]int{}})},
		{"short entry", cb([]any{[]any{root, []byte{0x80}, idA}})},
		{"long entry", cb([]any{[]any{root, []byte{0x80}, idA, 1, 2}})},
		{"short id", cb([]any{[]any{root, []byte{0x80}, idA[:15], 1}})},
		{"id not bytes", cb([]any{[]any{root, []byte{0x80}, "x", 1}})},
		{"bad index", cb([]any{[]any{root, []byte{0x80, 0x00}, idA, 1}})},
		{"bad value", cb([]any{[]any{root, []byte{0x80}, idA, "x"}})},
		{"null value", cb([]any{[]any{root, []byte{0x80}, idA, nil}})},
		{"unknown parent", cb([]any{[]any{idB, []byte{0x80}, idA, 1}})},
		{"duplicate id", cb([]any{[]any{root, []byte{0x80}, idA, 1}, []any{root, []byte{0x90}, idA, 1}})},
	}
	cases := []struct {
		codec  aper.Codec
		inputs []input
	}{{aper.JSON, js}, {aper.CBOR, cbor}}
	for _, c := range cases {
		for _, tc := range c.inputs {
			t.Run(c.codec.Name()+"/"+tc.name, func(t *testing.T) {
				tr := tree.New[*aper.Counter, aper.CounterTransition]()
				add(t, tr, tree.Root, 9)
				before := apertest.Encode(t, c.codec, tr)
				require.ErrorIs(t, unmarshal[c.codec.Name()](tr, tc.data), tree.ErrMalformedTree)
				assert.Equal(t, string(before), string(apertest.Encode(t, c.codec, tr)))
				if wellFormed(c.codec, tc.data) {
					require.ErrorIs(t, c.codec.Unmarshal(tc.data, tr), tree.ErrMalformedTree)
					assert.Equal(t, string(before), string(apertest.Encode(t, c.codec, tr)))
				}
			})
		}
	}
}

// wellFormed reports whether b is one well-formed JSON or CBOR value, whatever its shape.
func wellFormed(c aper.Codec, b []byte) bool {
	var v any
	return c.Unmarshal(b, &v) == nil
}

// FuzzDecode feeds arbitrary bytes to both decoders: an error is fine, a panic, a decoded tree
// that breaks the invariants or one that does not round-trip (encode, decode, encode again to
// the same bytes, in both codecs) is not.
func FuzzDecode(f *testing.F) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(f, tr, tree.Root, 1)
	add(f, tr, a, 2)
	add(f, tr, tree.Root, 3)
	for _, c := range aper.Codecs() {
		b, _ := c.Marshal(tr)
		f.Add(c.Name() == "json", b)
	}
	f.Add(true, []byte(`[["`+a.String()+`","80","`+a.String()+`",1]]`))
	f.Fuzz(func(t *testing.T, useJSON bool, b []byte) {
		var got counters
		codec := aper.Codec(aper.CBOR)
		if useJSON {
			codec = aper.JSON
		}
		if codec.Unmarshal(b, &got) != nil {
			return
		}
		checkInvariants(t, &got)
		apertest.RoundTrip(t, &got)
	})
}

// TestSharedTreeRace: a tree nested in an aper.Map is shared by two clones of the map that two
// goroutines own; each updates it, which clones the shared tree at the same time. Run with
// -race.
func TestSharedTreeRace(t *testing.T) {
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	a := add(t, tr, tree.Root, 1)
	b := add(t, tr, a, 2)
	m := aper.NewMap[string, *counters, countersT]()
	apertest.MustApply(t, m, aper.On(m.Set("t", tr)))
	replicas := []*aper.Map[string, *counters, countersT]{m.Clone(), m.Clone()}
	done := make(chan error, len(replicas))
	for i, r := range replicas {
		go func() {
			var err error
			for j := range 50 {
				if err = r.Apply(aper.On(r.Update("t", tr.Update(b, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: int64(i + 1)})))); err != nil {
					break
				}
				if err = r.Apply(aper.On(r.Update("t", tr.MoveTo(b, tree.Root, j%2)))); err != nil {
					break
				}
				_ = r.Clone()
			}
			done <- err
		}()
	}
	for range replicas {
		require.NoError(t, <-done)
	}
	for i, r := range replicas {
		got, _ := r.Get("t")
		checkInvariants(t, got)
		v, _ := got.Get(b)
		assert.Equal(t, int64(2+50*(i+1)), v.Value())
	}
}
