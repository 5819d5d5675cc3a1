package list_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
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

type (
	counters  = list.List[*aper.Counter, aper.CounterTransition]
	countersT = list.Transition[*aper.Counter, aper.CounterTransition]
)

func values(l *counters) []int64 {
	var out []int64
	for _, v := range l.All() {
		out = append(out, v.Value())
	}
	return out
}

func ids(l *counters) []uuid.UUID {
	var out []uuid.UUID
	for id := range l.All() {
		out = append(out, id)
	}
	return out
}

// applier returns a function that applies what one of l's insert constructors returned and
// returns the new item's id: applier(t, l)(l.Append(v)).
func applier(t testing.TB, l *counters) func(uuid.UUID, countersT) uuid.UUID {
	return func(id uuid.UUID, tr countersT) uuid.UUID {
		t.Helper()
		apertest.MustApply(t, l, aper.On(tr))
		return id
	}
}

func appendAll(t testing.TB, l *counters, vs ...int64) []uuid.UUID {
	t.Helper()
	var out []uuid.UUID
	for _, v := range vs {
		out = append(out, applier(t, l)(l.Append(aper.NewCounter(v))))
	}
	return out
}

func TestAppendThenPrepend(t *testing.T) {
	var l counters // the zero value is ready
	appendAll(t, &l, 5, 3, 143)
	applier(t, &l)(l.Prepend(aper.NewCounter(99)))
	assert.Equal(t, []int64{99, 5, 3, 143}, values(&l))
	assert.Equal(t, 4, l.Len())
}

func TestBeginningAndEndAfterTenAppends(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	got := appendAll(t, l, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	first := applier(t, l)(l.Insert(list.Beginning(), aper.NewCounter(-1)))
	last := applier(t, l)(l.Insert(list.End(), aper.NewCounter(10)))
	all := ids(l)
	assert.Equal(t, first, all[0])
	assert.Equal(t, last, all[len(all)-1])
	assert.Equal(t, got, all[1:11])
	kf, _ := l.KeyOf(first)
	k0, _ := l.KeyOf(got[0])
	kl, _ := l.KeyOf(last)
	k9, _ := l.KeyOf(got[9])
	assert.True(t, kf.Less(k0))
	assert.True(t, k9.Less(kl))
}

func TestConcurrentInsertsBetweenSameNeighbours(t *testing.T) {
	a := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, a, 1, 2)
	b := a.Clone()
	// Two replicas compute an insert between the same two items, by index and by anchor.
	id1, t1 := a.InsertAt(1, aper.NewCounter(10))
	id2, t2 := b.InsertAt(1, aper.NewCounter(20))
	id3, t3 := a.Insert(list.At(mustKeyBetween(t, a, n[0], n[1])), aper.NewCounter(30))
	id4, t4 := b.Insert(list.At(mustKeyBetween(t, b, n[0], n[1])), aper.NewCounter(40))
	// Both apply every transition in the server's order.
	for _, l := range []*counters{a, b} {
		for _, tr := range []countersT{t1, t2, t3, t4} {
			apertest.MustApply(t, l, aper.On(tr))
		}
	}
	apertest.Equal(t, a, b)
	got := ids(a)
	assert.Equal(t, n[0], got[0])
	assert.Equal(t, n[1], got[5])
	assert.ElementsMatch(t, []uuid.UUID{id1, id2, id3, id4}, got[1:5])
}

func mustKeyBetween(t testing.TB, l *counters, a, b uuid.UUID) list.ZenoIndex {
	t.Helper()
	ka, _ := l.KeyOf(a)
	kb, _ := l.KeyOf(b)
	z, err := list.Between(ka, kb)
	require.NoError(t, err)
	return z
}

func TestInsertAfterDeletedAnchorUsesFallback(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 1, 2, 3)
	id, tr := l.InsertAfter(n[1], aper.NewCounter(25))
	apertest.MustApply(t, l, aper.On(l.Delete(n[1])))
	apertest.MustApply(t, l, aper.On(tr))
	assert.Equal(t, []int64{1, 25, 3}, values(l))
	i, ok := l.IndexOf(id)
	require.True(t, ok)
	assert.Equal(t, 1, i)
	// Without a fallback, a missing anchor is a NotFound conflict naming the anchor.
	_, tr = l.Insert(list.After(n[1], list.ZenoIndex{}), aper.NewCounter(7))
	c := apertest.Conflicts(t, l, aper.On(tr), conflict.NotFound)
	assert.Equal(t, []string{n[1].String()}, c.Path)
}

func TestInsertBeforeAfterAt(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 1, 2, 3)
	applier(t, l)(l.InsertBefore(n[0], aper.NewCounter(0)))
	applier(t, l)(l.InsertAfter(n[2], aper.NewCounter(4)))
	applier(t, l)(l.InsertBefore(n[2], aper.NewCounter(22)))
	applier(t, l)(l.InsertAfter(n[0], aper.NewCounter(11)))
	applier(t, l)(l.InsertAt(0, aper.NewCounter(-1)))
	applier(t, l)(l.InsertAt(3, aper.NewCounter(12)))
	applier(t, l)(l.InsertAt(99, aper.NewCounter(5)))
	assert.Equal(t, []int64{-1, 0, 1, 12, 11, 2, 22, 3, 4, 5}, values(l))
}

func TestMoveDeleteUpdate(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 0, 1, 2, 3, 4)
	apertest.MustApply(t, l, aper.On(l.MoveTo(n[0], 4)))
	assert.Equal(t, []int64{1, 2, 3, 4, 0}, values(l))
	apertest.MustApply(t, l, aper.On(l.MoveTo(n[0], 0)))
	assert.Equal(t, []int64{0, 1, 2, 3, 4}, values(l))
	apertest.MustApply(t, l, aper.On(l.MoveTo(n[3], 1)))
	assert.Equal(t, []int64{0, 3, 1, 2, 4}, values(l))
	apertest.MustApply(t, l, aper.On(l.Move(n[4], list.Beginning())))
	assert.Equal(t, []int64{4, 0, 3, 1, 2}, values(l))
	apertest.MustApply(t, l, aper.On(l.Move(n[4], l.PositionAfter(n[1]))))
	assert.Equal(t, []int64{0, 3, 1, 4, 2}, values(l))
	apertest.MustApply(t, l, aper.On(l.Move(n[4], list.After(n[4], list.ZenoIndex{}))))
	assert.Equal(t, []int64{0, 3, 1, 4, 2}, values(l), "a move next to itself stays")
	apertest.MustApply(t, l, aper.On(l.Delete(n[3])))
	assert.Equal(t, []int64{0, 1, 4, 2}, values(l))
	apertest.MustApply(t, l, aper.On(l.Update(n[2], aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 40})))
	assert.Equal(t, []int64{0, 1, 4, 42}, values(l))
	v, ok := l.Get(n[2])
	require.True(t, ok)
	assert.Equal(t, int64(42), v.Value())
	id, v, ok := l.At(2)
	require.True(t, ok)
	assert.Equal(t, n[4], id)
	assert.Equal(t, int64(4), v.Value())
	_, _, ok = l.At(4)
	assert.False(t, ok)
	_, ok = l.IndexOf(n[3])
	assert.False(t, ok)
	var back []int64
	for _, v := range l.Backward() {
		back = append(back, v.Value())
	}
	assert.Equal(t, []int64{42, 4, 1, 0}, back)
}

func TestConflictsLeaveItUnchanged(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 1, 2, 3)
	big := applier(t, l)(l.Append(aper.NewCounter(1 << 62)))
	missing := uuid.New()
	add := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1 << 62}
	tests := []struct {
		name string
		t    countersT
		kind conflict.Kind
		path []string
	}{
		{"move missing", l.Move(missing, list.End()), conflict.NotFound, []string{missing.String()}},
		{"delete missing", l.Delete(missing), conflict.NotFound, []string{missing.String()}},
		{"update missing", l.Update(missing, add), conflict.NotFound, []string{missing.String()}},
		{"insert duplicate", countersT{Op: list.OpInsert, ID: n[1], Pos: list.End(), Value: aper.NewCounter(0)}, conflict.Duplicate, []string{n[1].String()}},
		{"insert nil value", countersT{Op: list.OpInsert, ID: missing, Pos: list.End()}, conflict.Invalid, []string{missing.String()}},
		{"insert nil id", countersT{Op: list.OpInsert, Pos: list.End(), Value: aper.NewCounter(0)}, conflict.Invalid, nil},
		{"insert at no index", countersT{Op: list.OpInsert, ID: missing, Pos: list.At(list.ZenoIndex{}), Value: aper.NewCounter(0)}, conflict.Invalid, nil},
		{"insert bad position", countersT{Op: list.OpInsert, ID: missing, Pos: list.ListPosition{Kind: 77}, Value: aper.NewCounter(0)}, conflict.Invalid, nil},
		{"move to missing anchor", l.Move(n[0], list.Before(missing, list.ZenoIndex{})), conflict.NotFound, []string{missing.String()}},
		{"inner overflow", l.Update(big, add), conflict.OutOfRange, []string{big.String()}},
		{"unknown op", countersT{Op: 42, ID: n[0]}, conflict.Invalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := apertest.Conflicts(t, l, aper.On(tt.t), tt.kind)
			assert.Equal(t, tt.path, c.Path)
		})
	}
	assert.Equal(t, []int64{1, 2, 3, 1 << 62}, values(l))
}

func TestCloneIsIndependent(t *testing.T) {
	a := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, a, 1, 2, 3)
	b := a.Clone()
	apertest.MustApply(t, b, aper.On(b.Update(n[0], aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 10})))
	apertest.MustApply(t, a, aper.On(a.Update(n[1], aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 20})))
	applier(t, b)(b.Append(aper.NewCounter(4)))
	apertest.MustApply(t, a, aper.On(a.Delete(n[2])))
	assert.Equal(t, []int64{1, 22}, values(a))
	assert.Equal(t, []int64{11, 2, 3, 4}, values(b))
	// A value that arrived in a transition is never changed in place: the transition can be
	// applied to several replicas.
	v := aper.NewCounter(7)
	id, tr := a.Append(v)
	c := a.Clone()
	apertest.MustApply(t, a, aper.On(tr))
	apertest.MustApply(t, c, aper.On(tr))
	apertest.MustApply(t, a, aper.On(a.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))
	apertest.MustApply(t, a, aper.On(a.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))
	assert.Equal(t, int64(7), v.Value())
	got, _ := c.Get(id)
	assert.Equal(t, int64(7), got.Value())
	got, _ = a.Get(id)
	assert.Equal(t, int64(9), got.Value())
}

func TestRoundTrip(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 5, 3, 143)
	applier(t, l)(l.Prepend(aper.NewCounter(99)))
	for _, got := range apertest.RoundTrip(t, l) {
		assert.Equal(t, []int64{99, 5, 3, 143}, values(got))
		assert.Equal(t, ids(l), ids(got))
		// The decoded list is a working list.
		apertest.MustApply(t, got, aper.On(got.Update(n[0], aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))
		applier(t, got)(got.InsertAfter(n[0], aper.NewCounter(1)))
	}
	apertest.RoundTrip(t, list.New[*aper.Counter, aper.CounterTransition]())
	// Every transition kind round-trips too.
	_, ins := l.InsertAfter(n[0], aper.NewCounter(1))
	for _, tr := range []countersT{
		ins,
		l.Move(n[1], list.Beginning()),
		l.MoveTo(n[1], 2),
		l.Delete(n[2]),
		l.Update(n[0], aper.CounterTransition{Op: aper.CounterOpSet, Amount: 9}),
	} {
		for _, got := range apertest.RoundTrip(t, tr) {
			assert.Equal(t, tr.Pos, got.Pos)
			assert.Equal(t, tr.ID, got.ID)
		}
	}
	apertest.RoundTrip(t, list.At(list.MustParseZenoIndex("80ff01")))
}

func TestJSONShape(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	id := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	apertest.MustApply(t, l, aper.On(countersT{Op: list.OpInsert, ID: id, Pos: list.End(), Value: aper.NewCounter(7)}))
	b, err := json.Marshal(l)
	require.NoError(t, err)
	assert.JSONEq(t, `[["80","6ba7b810-9dad-11d1-80b4-00c04fd430c8",7]]`, string(b))
	b, err = aper.CBOR.Marshal(l)
	require.NoError(t, err)
	// [[h'80', h'6ba7...', 7]]: the index and the id are byte strings.
	assert.Equal(t, "8183418050"+"6ba7b8109dad11d180b400c04fd430c8"+"07", hexString(b))
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestDecodeRejectsBadInput(t *testing.T) {
	const (
		id1 = `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"`
		id2 = `"6ba7b811-9dad-11d1-80b4-00c04fd430c8"`
	)
	tests := []struct{ name, in string }{
		{"not an array", `{}`},
		{"short item", `[["80",` + id1 + `]]`},
		{"long item", `[["80",` + id1 + `,1,2]]`},
		{"bad index", `[["8g",` + id1 + `,1]]`},
		{"trailing zero index", `[["8000",` + id1 + `,1]]`},
		{"no index", `[["",` + id1 + `,1]]`},
		{"bad id", `[["80","nope",1]]`},
		{"nil id", `[["80","00000000-0000-0000-0000-000000000000",1]]`},
		{"null value", `[["80",` + id1 + `,null]]`},
		{"duplicate id", `[["80",` + id1 + `,1],["81",` + id1 + `,2]]`},
		{"duplicate index", `[["80",` + id1 + `,1],["80",` + id2 + `,2]]`},
		{"descending index", `[["81",` + id1 + `,1],["80",` + id2 + `,2]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := list.New[*aper.Counter, aper.CounterTransition]()
			appendAll(t, l, 1)
			err := json.Unmarshal([]byte(tt.in), l)
			assert.ErrorIs(t, err, list.ErrMalformedList)
			assert.Equal(t, 1, l.Len(), "a failed decode leaves the list unchanged")
		})
	}
	// A null list is malformed in both codecs, as a null Map or Counter is: the empty list is [].
	for name, in := range map[string][]byte{"JSON null": []byte(" null "), "CBOR null": {0xf6}, "CBOR undefined": {0xf7}} {
		l := list.New[*aper.Counter, aper.CounterTransition]()
		appendAll(t, l, 1)
		var err error
		if name == "JSON null" {
			err = l.UnmarshalJSON(in)
		} else {
			err = l.UnmarshalCBOR(in)
		}
		assert.ErrorIs(t, err, list.ErrMalformedList, name)
		assert.Equal(t, 1, l.Len(), "%s leaves the list unchanged", name)
	}
	// An item that is not a triple, in CBOR.
	for _, in := range []string{"8182418050" + "6ba7b8109dad11d180b400c04fd430c8", "8184418050" + "6ba7b8109dad11d180b400c04fd430c8" + "0707", "814180"} {
		b, err := hex.DecodeString(in)
		require.NoError(t, err)
		err = aper.CBOR.Unmarshal(b, list.New[*aper.Counter, aper.CounterTransition]())
		assert.ErrorIs(t, err, list.ErrMalformedList, in)
	}
	// The same checks hold for CBOR: a duplicate id.
	l := list.New[*aper.Counter, aper.CounterTransition]()
	require.NoError(t, json.Unmarshal([]byte(`[["80",`+id1+`,1],["81",`+id2+`,2]]`), l))
	b, err := aper.CBOR.Marshal(l)
	require.NoError(t, err)
	bad := slices.Clone(b)
	// 82 | 83 41 80 50 <id1> 01 | 83 41 81 50 <id2> 02: write id1 over id2.
	require.Len(t, b, 43)
	copy(bad[26:42], b[5:21])
	err = aper.CBOR.Unmarshal(bad, list.New[*aper.Counter, aper.CounterTransition]())
	assert.True(t, errors.Is(err, list.ErrMalformedList), "%v", err)
}

func TestInsertOfAnotherItemsValueDoesNotAlias(t *testing.T) {
	var l counters
	ids := appendAll(t, &l, 2)
	add := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 10}
	apertest.MustApply(t, &l, aper.On(l.Update(ids[0], aper.CounterTransition{Op: aper.CounterOpAdd})))
	v, _ := l.Get(ids[0])
	applier(t, &l)(l.Append(v)) // the same *Counter, inserted again
	apertest.MustApply(t, &l, aper.On(l.Update(ids[0], add)))
	assert.Equal(t, []int64{12, 2}, values(&l))

	// One insert transition applied to two replicas: changing one leaves the other.
	var a, b counters
	id, ins := a.Append(aper.NewCounter(1))
	apertest.MustApply(t, &a, aper.On(ins))
	apertest.MustApply(t, &b, aper.On(ins))
	apertest.MustApply(t, &a, aper.On(a.Update(id, add)))
	assert.Equal(t, []int64{11}, values(&a))
	assert.Equal(t, []int64{1}, values(&b))
	assert.Equal(t, int64(1), ins.Value.Value())
}

// TestIndexLengthBound checks that no transition can place an item at an index over
// MaxIndexLen: one such insert would make every later insert next to it as long.
func TestIndexLengthBound(t *testing.T) {
	ffs := strings.Repeat("ff", list.MaxIndexLen-1)
	longest := list.MustParseZenoIndex(ffs + "01") // MaxIndexLen bytes, the longest accepted
	over := longest.After()                        // made from it, one byte longer or more
	require.Greater(t, over.Len(), list.MaxIndexLen)

	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 1, 2)
	before := values(l)
	for name, pos := range map[string]list.ListPosition{
		"at":              list.At(over),
		"after, fallback": list.After(n[0], over),
		"before, gone":    list.Before(uuid.New(), over),
	} {
		_, tr := l.Insert(pos, aper.NewCounter(9))
		apertest.Conflicts(t, l, aper.On(tr), conflict.Invalid)
		apertest.Conflicts(t, l, aper.On(l.Move(n[1], pos)), conflict.Invalid)
		assert.Equal(t, before, values(l), name)
	}
	// An item at the longest index is accepted; an insert after it that would go over the
	// bound is an Invalid conflict that changes nothing. The list's constructors respace the
	// item instead, so the insert they make goes through with short indexes.
	edge := applier(t, l)(l.Insert(list.At(longest), aper.NewCounter(3)))
	k, _ := l.KeyOf(edge)
	require.Equal(t, longest, k)
	before = values(l)
	bare := countersT{Op: list.OpInsert, ID: uuid.New(), Pos: list.After(edge, list.ZenoIndex{}), Value: aper.NewCounter(4)}
	apertest.Conflicts(t, l, aper.On(bare), conflict.Invalid)
	assert.Equal(t, before, values(l))
	_, tr := l.Insert(list.After(edge, list.ZenoIndex{}), aper.NewCounter(4))
	require.False(t, tr.Pos.Respace.IsZero(), "the constructor respaces the long index")
	require.NoError(t, l.Apply(aper.On(tr)))
	assert.Equal(t, append(before, 4), values(l))
	for _, k := range l.Keys() {
		assert.LessOrEqual(t, k.Len(), list.RespaceLen)
	}

	// The decoders refuse an over-long index in a list and in a transition.
	id := `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"`
	long := strings.Repeat("80", list.MaxIndexLen+1)
	err := json.Unmarshal([]byte(`[["`+long+`",`+id+`,1]]`), list.New[*aper.Counter, aper.CounterTransition]())
	assert.ErrorIs(t, err, list.ErrMalformedList)
	assert.ErrorIs(t, err, list.ErrMalformedIndex)
	assert.Equal(t, 1, strings.Count(err.Error(), "aper/list: "), "one package prefix: %v", err)
	var tr2 countersT
	err = json.Unmarshal([]byte(`{"op":1,"id":`+id+`,"pos":{"kind":3,"index":"`+long+`"},"value":1}`), &tr2)
	assert.ErrorIs(t, err, list.ErrMalformedIndex)
}

// siblings is a Siblings of a user's own, which may contradict itself.
type siblings struct {
	keys         map[uuid.UUID]list.ZenoIndex
	below, above func(list.ZenoIndex) list.ZenoIndex
	taken        bool
}

func (s siblings) KeyOf(id uuid.UUID) (list.ZenoIndex, bool) { k, ok := s.keys[id]; return k, ok }
func (s siblings) Below(k list.ZenoIndex) list.ZenoIndex     { return s.below(k) }
func (s siblings) Above(k list.ZenoIndex) list.ZenoIndex     { return s.above(k) }
func (s siblings) Taken(list.ZenoIndex) bool                 { return s.taken }

// TestResolveWithContradictorySiblings checks that Resolve returns an Invalid conflict, not a
// panic, when a Siblings reports a Below or Above on the wrong side of its argument.
func TestResolveWithContradictorySiblings(t *testing.T) {
	id := uuid.New()
	k := list.MustParseZenoIndex("80")
	same := func(z list.ZenoIndex) list.ZenoIndex { return z }
	higher := func(list.ZenoIndex) list.ZenoIndex { return list.MustParseZenoIndex("c0") }
	lower := func(list.ZenoIndex) list.ZenoIndex { return list.MustParseZenoIndex("40") }
	tests := []struct {
		name string
		pos  list.ListPosition
		s    siblings
	}{
		{"after, Above below the anchor", list.After(id, list.ZenoIndex{}), siblings{below: lower, above: lower}},
		{"after, Above is the anchor", list.After(id, list.ZenoIndex{}), siblings{below: lower, above: same}},
		{"before, Below above the anchor", list.Before(id, list.ZenoIndex{}), siblings{below: higher, above: higher}},
		{"before, Below is the anchor", list.Before(id, list.ZenoIndex{}), siblings{below: same, above: higher}},
		{"at a taken index, Above below it", list.At(k), siblings{below: lower, above: lower, taken: true}},
		{"anchor with no index", list.After(id, list.ZenoIndex{}), siblings{keys: map[uuid.UUID]list.ZenoIndex{id: {}}, below: lower, above: higher}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.s.keys == nil {
				tt.s.keys = map[uuid.UUID]list.ZenoIndex{id: k}
			}
			var z list.ZenoIndex
			var err error
			require.NotPanics(t, func() { z, err = list.Resolve(tt.pos, tt.s) })
			assert.True(t, errors.Is(err, conflict.ErrInvalid), "%v", err)
			assert.True(t, z.IsZero())
		})
	}
	// Consistent siblings still resolve.
	z, err := list.Resolve(list.After(id, list.ZenoIndex{}), siblings{keys: map[uuid.UUID]list.ZenoIndex{id: k}, below: lower, above: higher})
	require.NoError(t, err)
	assert.True(t, k.Less(z) && z.Less(list.MustParseZenoIndex("c0")))
}

// TestAnchoredPositionKeepsItsIndex checks that an After or Before position resolves to its
// captured index while that index still lies next to the anchor, and to a new index next to the
// anchor once another item is in between.
func TestAnchoredPositionKeepsItsIndex(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	n := appendAll(t, l, 1, 2)
	ka, _ := l.KeyOf(n[0])
	kb, _ := l.KeyOf(n[1])
	z := mustBetween(t, ka, mustBetween(t, ka, kb)) // between them, but not the index After makes
	require.NotEqual(t, l.PositionAfter(n[0]).Index, z)
	after := applier(t, l)(l.Insert(list.After(n[0], z), aper.NewCounter(10)))
	got, _ := l.KeyOf(after)
	assert.Equal(t, z, got, "the captured index, still next to the anchor")
	before := applier(t, l)(l.Insert(list.Before(n[1], z), aper.NewCounter(20)))
	got, _ = l.KeyOf(before)
	assert.True(t, z.Less(got) && got.Less(kb), "z is taken now: a new index just before the anchor, %s", got)
	again := applier(t, l)(l.Insert(list.After(n[0], z), aper.NewCounter(30)))
	got, _ = l.KeyOf(again)
	assert.True(t, ka.Less(got) && got.Less(z), "z is no longer next to the anchor: a new index just after it, %s", got)
	assert.Equal(t, []int64{1, 30, 10, 20, 2}, values(l))
}
