package pool_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type (
	board  = pool.Board[*aper.Counter, aper.CounterTransition]
	boardT = pool.Transition[*aper.Counter, aper.CounterTransition]
)

func do(t testing.TB, b *board) func(uuid.UUID, boardT) uuid.UUID {
	return func(id uuid.UUID, x boardT) uuid.UUID {
		t.Helper()
		apertest.MustApply(t, b, aper.On(x))
		return id
	}
}

func values(b *board, l uuid.UUID) []int64 {
	out := []int64{}
	for _, v := range b.Objects(l) {
		out = append(out, v.Value())
	}
	return out
}

func names(b *board) []string {
	var out []string
	for _, n := range b.Lists() {
		out = append(out, n)
	}
	return out
}

// threeLists returns a board with lists a, b, c holding 1 2 3, 4 5, and nothing.
func threeLists(t testing.TB) (bd *board, a, b, c uuid.UUID, objs []uuid.UUID) {
	t.Helper()
	bd = pool.New[*aper.Counter, aper.CounterTransition]()
	a = do(t, bd)(bd.AppendList("a"))
	b = do(t, bd)(bd.AppendList("b"))
	c = do(t, bd)(bd.AppendList("c"))
	for i, l := range []uuid.UUID{a, a, a, b, b} {
		objs = append(objs, do(t, bd)(bd.Append(l, aper.NewCounter(int64(i+1)))))
	}
	return bd, a, b, c, objs
}

func TestZeroValue(t *testing.T) {
	var b board
	assert.Equal(t, 0, b.Len())
	assert.Equal(t, 0, b.NumLists())
	assert.Empty(t, names(&b))
	apertest.RoundTrip(t, &b)
	l := do(t, &b)(b.AppendList("todo"))
	id := do(t, &b)(b.Append(l, aper.NewCounter(1)))
	got, ok := b.ListOf(id)
	assert.True(t, ok)
	assert.Equal(t, l, got)
}

func TestListsAndObjects(t *testing.T) {
	bd, a, b, c, objs := threeLists(t)
	assert.Equal(t, []string{"a", "b", "c"}, names(bd))
	assert.Equal(t, []int64{1, 2, 3}, values(bd, a))
	assert.Equal(t, []int64{4, 5}, values(bd, b))
	assert.Equal(t, []int64{}, values(bd, c))
	assert.Equal(t, 5, bd.Len())
	assert.Equal(t, 3, bd.NumLists())
	assert.Equal(t, 2, bd.ListLen(b))
	id, v, ok := bd.At(a, 1)
	require.True(t, ok)
	assert.Equal(t, objs[1], id)
	assert.Equal(t, int64(2), v.Value())
	_, _, ok = bd.At(c, 0)
	assert.False(t, ok)
	i, ok := bd.IndexOf(objs[4])
	assert.True(t, ok)
	assert.Equal(t, 1, i)
	lid, name, ok := bd.ListAt(2)
	assert.True(t, ok)
	assert.Equal(t, c, lid)
	assert.Equal(t, "c", name)

	// Move within a list and across lists.
	apertest.MustApply(t, bd, aper.On(bd.MoveTo(objs[2], a, 0)))
	assert.Equal(t, []int64{3, 1, 2}, values(bd, a))
	apertest.MustApply(t, bd, aper.On(bd.MoveTo(objs[0], b, 1)))
	assert.Equal(t, []int64{3, 2}, values(bd, a))
	assert.Equal(t, []int64{4, 1, 5}, values(bd, b))
	apertest.MustApply(t, bd, aper.On(bd.Move(objs[3], c, list.End())))
	assert.Equal(t, []int64{1, 5}, values(bd, b))
	assert.Equal(t, []int64{4}, values(bd, c))
	apertest.MustApply(t, bd, aper.On(bd.MoveBefore(objs[1], objs[3])))
	assert.Equal(t, []int64{2, 4}, values(bd, c))
	apertest.MustApply(t, bd, aper.On(bd.MoveAfter(objs[2], objs[3])))
	assert.Equal(t, []int64{2, 4, 3}, values(bd, c))
	assert.Equal(t, []int64{}, values(bd, a))
	l, _ := bd.ListOf(objs[2])
	assert.Equal(t, c, l)

	// Update, delete.
	v, _ = bd.Get(objs[2])
	apertest.MustApply(t, bd, aper.On(bd.Update(objs[2], v.Add(10))))
	v, _ = bd.Get(objs[2])
	assert.Equal(t, int64(13), v.Value())
	apertest.MustApply(t, bd, aper.On(bd.Delete(objs[3])))
	assert.Equal(t, []int64{2, 13}, values(bd, c))
	assert.False(t, bd.Has(objs[3]))
	assert.Equal(t, 4, bd.Len())
	checkBoard(t, bd)
}

func TestListOperations(t *testing.T) {
	bd, a, b, c, _ := threeLists(t)
	apertest.MustApply(t, bd, aper.On(bd.RenameList(b, "doing")))
	apertest.MustApply(t, bd, aper.On(bd.MoveListTo(c, 0)))
	assert.Equal(t, []string{"c", "a", "doing"}, names(bd))
	apertest.MustApply(t, bd, aper.On(bd.MoveList(a, list.End())))
	assert.Equal(t, []string{"c", "doing", "a"}, names(bd))
	apertest.MustApply(t, bd, aper.On(bd.RemoveList(c)))
	assert.Equal(t, []string{"doing", "a"}, names(bd))

	apertest.Conflicts(t, bd, aper.On(bd.RemoveList(a)), pool.NotEmpty)
	apertest.MustApply(t, bd, aper.On(bd.RemoveListInto(a, b, list.Beginning())))
	assert.Equal(t, []string{"doing"}, names(bd))
	assert.Equal(t, []int64{1, 2, 3, 4, 5}, values(bd, b))
	assert.Equal(t, 5, bd.Len())
	checkBoard(t, bd)
	d := do(t, bd)(bd.AddList("first", list.Beginning()))
	assert.Equal(t, []string{"first", "doing"}, names(bd))
	apertest.MustApply(t, bd, aper.On(bd.RemoveListInto(b, d, list.End())))
	assert.Equal(t, []int64{1, 2, 3, 4, 5}, values(bd, d))
	checkBoard(t, bd)
}

func TestCreateStoresAClone(t *testing.T) {
	bd, a, _, _, _ := threeLists(t)
	v := aper.NewCounter(7)
	id, x := bd.Append(a, v)
	apertest.MustApply(t, bd, aper.On(x))
	other := bd.Clone()
	apertest.MustApply(t, bd, aper.On(bd.Update(id, v.Add(1))))
	assert.Equal(t, int64(7), v.Value())
	got, _ := other.Get(id)
	assert.Equal(t, int64(7), got.Value())
	got, _ = bd.Get(id)
	assert.Equal(t, int64(8), got.Value())
}

func TestConflicts(t *testing.T) {
	bd, a, b, c, objs := threeLists(t)
	big := do(t, bd)(bd.Append(c, aper.NewCounter(math.MaxInt64)))
	ghost := uuid.New()
	one := aper.NewCounter(1)
	created := func(l uuid.UUID, pos list.ListPosition) boardT {
		_, x := bd.Create(l, pos, aper.NewCounter(0))
		return x
	}
	tests := []struct {
		name string
		tr   boardT
		kind conflict.Kind
		path []string
	}{
		{"create in unknown list", created(ghost, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"create duplicate", boardT{Op: pool.OpCreate, ID: objs[0], List: b, Pos: list.End(), Value: aper.NewCounter(0)}, conflict.Duplicate, []string{objs[0].String()}},
		{"create nil id", boardT{Op: pool.OpCreate, List: b, Pos: list.End(), Value: aper.NewCounter(0)}, conflict.Invalid, nil},
		{"create nil value", boardT{Op: pool.OpCreate, ID: uuid.New(), List: b, Pos: list.End()}, conflict.Invalid, nil},
		{"create after a missing anchor", created(a, list.After(ghost, list.ZenoIndex{})), conflict.NotFound, []string{a.String(), ghost.String()}},
		{"create after an anchor in another list", created(a, list.After(objs[3], list.ZenoIndex{})), conflict.NotFound, []string{a.String(), objs[3].String()}},
		{"create at no index", created(a, list.At(list.ZenoIndex{})), conflict.Invalid, nil},
		{"move unknown", bd.Move(ghost, a, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"move to unknown list", bd.Move(objs[0], ghost, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"move across to a missing anchor", bd.Move(objs[0], b, list.Before(ghost, list.ZenoIndex{})), conflict.NotFound, []string{b.String(), ghost.String()}},
		{"move within to a missing anchor", bd.Move(objs[0], a, list.Before(ghost, list.ZenoIndex{})), conflict.NotFound, []string{a.String(), ghost.String()}},
		{"move with a value", boardT{Op: pool.OpMove, ID: objs[0], List: b, Value: one}, conflict.Invalid, nil},
		{"delete unknown", bd.Delete(ghost), conflict.NotFound, []string{ghost.String()}},
		{"update unknown", bd.Update(ghost, one.Add(1)), conflict.NotFound, []string{ghost.String()}},
		{"inner conflict", bd.Update(big, one.Add(1)), conflict.OutOfRange, []string{c.String(), big.String()}},
		{"add duplicate list", boardT{Op: pool.OpAddList, List: a, Name: "x", Pos: list.End()}, conflict.Duplicate, []string{a.String()}},
		{"add nil list", boardT{Op: pool.OpAddList, Name: "x", Pos: list.End()}, conflict.Invalid, nil},
		{"add list at a missing anchor", boardT{Op: pool.OpAddList, List: uuid.New(), Pos: list.After(ghost, list.ZenoIndex{})}, conflict.NotFound, []string{ghost.String()}},
		{"rename unknown list", bd.RenameList(ghost, "x"), conflict.NotFound, []string{ghost.String()}},
		{"move unknown list", bd.MoveList(ghost, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"remove unknown list", bd.RemoveList(ghost), conflict.NotFound, []string{ghost.String()}},
		{"remove non-empty list", bd.RemoveList(a), pool.NotEmpty, []string{a.String()}},
		{"remove into itself", bd.RemoveListInto(a, a, list.End()), conflict.Invalid, nil},
		{"remove into unknown", bd.RemoveListInto(a, ghost, list.End()), conflict.NotFound, []string{ghost.String()}},
		{"remove into a missing anchor", bd.RemoveListInto(a, b, list.After(ghost, list.ZenoIndex{})), conflict.NotFound, []string{b.String(), ghost.String()}},
		{"unknown op", boardT{Op: 99}, conflict.Invalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cf := apertest.Conflicts(t, bd, aper.On(tc.tr), tc.kind)
			if tc.path != nil {
				assert.Equal(t, tc.path, cf.Path)
			}
		})
	}
	err := bd.Apply(aper.On(bd.RemoveList(a)))
	assert.True(t, errors.Is(err, pool.ErrNotEmpty))
	checkBoard(t, bd)
}

// TestTransactionMovesAllOrNone moves three cards at once through aper.Transaction: all three
// move, or, when one of them conflicts, none does.
func TestTransactionMovesAllOrNone(t *testing.T) {
	bd, a, b, c, objs := threeLists(t)
	three := aper.Transaction[boardT]{
		bd.Move(objs[0], c, list.End()),
		bd.Move(objs[3], c, list.End()),
		bd.Move(objs[1], c, list.Beginning()),
	}
	next, err := aper.ApplyTransaction(bd, aper.On(three))
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 1, 4}, values(next, c))
	assert.Equal(t, []int64{3}, values(next, a))
	assert.Equal(t, []int64{5}, values(next, b))
	assert.Equal(t, []int64{1, 2, 3}, values(bd, a), "the original is untouched")
	checkBoard(t, next)

	// The third move names a deleted card: nothing moves.
	apertest.MustApply(t, bd, aper.On(bd.Delete(objs[4])))
	before := apertest.Encode(t, aper.CBOR, bd)
	bad := aper.Transaction[boardT]{
		bd.Move(objs[0], c, list.End()),
		bd.Move(objs[3], c, list.End()),
		bd.Move(objs[4], c, list.End()),
	}
	got, err := aper.ApplyTransaction(bd, aper.On(bad))
	require.ErrorIs(t, err, conflict.ErrNotFound)
	assert.Same(t, bd, got)
	assert.Equal(t, before, apertest.Encode(t, aper.CBOR, bd))

	// The same through Transactional, the state of a room whose clients batch their moves.
	room := aper.NewTransactional[*board, boardT](bd)
	apertest.Conflicts(t, room, aper.On(bad), conflict.NotFound)
	apertest.MustApply(t, room, aper.On(three[:2]))
	assert.Equal(t, []int64{1, 4}, values(room.State(), c))
	for _, got := range apertest.RoundTrip(t, room) {
		assert.Equal(t, []int64{1, 4}, values(got.State(), c))
	}
	apertest.RoundTrip(t, bad)
}

func TestCloneIsIndependent(t *testing.T) {
	bd, a, b, c, objs := threeLists(t)
	cl := bd.Clone()
	before := apertest.Encode(t, aper.JSON, bd)
	v, _ := cl.Get(objs[0])
	apertest.MustApply(t, cl, aper.On(cl.Update(objs[0], v.Add(100))))
	apertest.MustApply(t, cl, aper.On(cl.Move(objs[0], c, list.End())))
	apertest.MustApply(t, cl, aper.On(cl.RenameList(b, "renamed")))
	apertest.MustApply(t, cl, aper.On(cl.RemoveListInto(a, b, list.End())))
	assert.Equal(t, string(before), string(apertest.Encode(t, aper.JSON, bd)))
	v, _ = bd.Get(objs[0])
	assert.Equal(t, int64(1), v.Value())

	after := apertest.Encode(t, aper.JSON, cl)
	apertest.MustApply(t, bd, aper.On(bd.Update(objs[0], v.Add(5))))
	apertest.MustApply(t, bd, aper.On(bd.Delete(objs[3])))
	apertest.MustApply(t, bd, aper.On(bd.RemoveListInto(b, a, list.End())))
	assert.Equal(t, string(after), string(apertest.Encode(t, aper.JSON, cl)))
	checkBoard(t, bd)
	checkBoard(t, cl)
}

func TestRoundTrip(t *testing.T) {
	bd, a, b, c, objs := threeLists(t)
	for _, got := range apertest.RoundTrip(t, bd) {
		checkBoard(t, got)
		assert.Equal(t, []int64{1, 2, 3}, values(got, a))
		apertest.MustApply(t, got, aper.On(got.Move(objs[0], c, list.End())))
		v, _ := got.Get(objs[0])
		apertest.MustApply(t, got, aper.On(got.Update(objs[0], v.Add(1))))
	}
	one := aper.NewCounter(1)
	_, create := bd.Append(a, aper.NewCounter(9))
	_, add := bd.AppendList("x")
	for _, x := range []boardT{create, add, bd.Move(objs[0], b, list.Beginning()), bd.MoveTo(objs[1], c, 0), bd.Delete(objs[2]), bd.Update(objs[3], one.Add(2)),
		bd.RenameList(a, "y"), bd.MoveListTo(c, 0), bd.RemoveList(c), bd.RemoveListInto(a, b, list.End())} {
		apertest.RoundTrip(t, x)
	}
	js, err := json.Marshal(bd)
	require.NoError(t, err)
	assert.Contains(t, string(js), `,"`+a.String()+`",["a",[["80","`+objs[0].String()+`",1],`)
}

func TestDecodeRejects(t *testing.T) {
	a, b, x := uuid.New(), uuid.New(), uuid.New()
	col := func(id uuid.UUID, index, name string, objs string) string {
		return `["` + index + `","` + id.String() + `",["` + name + `",` + objs + `]]`
	}
	obj := `[["80","` + x.String() + `",1]]`
	tests := []struct{ name, json string }{
		{"null", `null`},
		{"object", `{}`},
		{"object in two lists", `[` + col(a, "80", "a", obj) + `,` + col(b, "90", "b", obj) + `]`},
		{"null objects", `[` + col(a, "80", "a", `null`) + `]`},
		{"null list", `[["80","` + a.String() + `",null]]`},
		{"short list", `[["80","` + a.String() + `",["a"]]]`},
		{"lists out of order", `[` + col(a, "90", "a", `[]`) + `,` + col(b, "80", "b", `[]`) + `]`},
		{"duplicate list", `[` + col(a, "80", "a", `[]`) + `,` + col(a, "90", "b", `[]`) + `]`},
		{"null object", `[` + col(a, "80", "a", `[["80","`+x.String()+`",null]]`) + `]`},
		{"bad name", `[["80","` + a.String() + `",[1,[]]]]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bd, _, _, _, _ := threeLists(t)
			before := apertest.Encode(t, aper.JSON, bd)
			require.ErrorIs(t, bd.UnmarshalJSON([]byte(tc.json)), pool.ErrMalformedBoard)
			err := json.Unmarshal([]byte(tc.json), bd)
			require.ErrorIs(t, err, pool.ErrMalformedBoard)
			assert.Equal(t, 1, strings.Count(err.Error(), "aper/pool: ")+strings.Count(err.Error(), "aper/list: "), "one package prefix: %v", err)
			assert.Equal(t, string(before), string(apertest.Encode(t, aper.JSON, bd)))
		})
	}
	var bd board
	assert.ErrorIs(t, aper.CBOR.Unmarshal([]byte{0xf6}, &bd), pool.ErrMalformedBoard)
	assert.ErrorIs(t, bd.UnmarshalCBOR([]byte{0x81, 0x83, 0x41}), pool.ErrMalformedBoard)
	assert.ErrorIs(t, bd.UnmarshalJSON([]byte(`[["`)), pool.ErrMalformedBoard)
}

// FuzzDecode feeds arbitrary bytes to both decoders: an error is fine; a panic, a decoded board
// with an object in two lists, or one that does not round-trip (encode, decode, encode again to
// the same bytes, in both codecs), is not.
func FuzzDecode(f *testing.F) {
	bd, _, _, _, _ := threeLists(f)
	for _, c := range aper.Codecs() {
		b, _ := c.Marshal(bd)
		f.Add(c.Name() == "json", b)
	}
	f.Fuzz(func(t *testing.T, useJSON bool, b []byte) {
		var got board
		codec := aper.Codec(aper.CBOR)
		if useJSON {
			codec = aper.JSON
		}
		if codec.Unmarshal(b, &got) != nil {
			return
		}
		checkBoard(t, &got)
		apertest.RoundTrip(t, &got)
	})
}

// TestSharedBoardRace: a board nested in an aper.Map is shared by two clones of the map that two
// goroutines own; each updates it, which clones the shared board (and its shared lists) at the
// same time. Run with -race.
func TestSharedBoardRace(t *testing.T) {
	bd, a, _, _, objs := threeLists(t)
	m := aper.NewMap[string, *board, boardT]()
	apertest.MustApply(t, m, aper.On(m.Set("b", bd)))
	replicas := []*aper.Map[string, *board, boardT]{m.Clone(), m.Clone()}
	done := make(chan error, len(replicas))
	for i, r := range replicas {
		go func() {
			var err error
			for j := range 50 {
				if err = r.Apply(aper.On(r.Update("b", bd.Update(objs[j%3], aper.CounterTransition{Op: aper.CounterOpAdd, Amount: int64(i + 1)})))); err != nil {
					break
				}
				if err = r.Apply(aper.On(r.Update("b", bd.MoveTo(objs[j%3], a, j%3)))); err != nil {
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
		got, _ := r.Get("b")
		checkBoard(t, got)
		var sum int64
		for _, v := range got.Objects(a) {
			sum += v.Value()
		}
		assert.Equal(t, int64(1+2+3+50*(i+1)), sum)
	}
}

// TestConcurrentClientsConverge: four clients act on the same board at once, each applying its
// transition optimistically: one moves a card to list b, one moves the same card to list c, one
// removes list a (where the card was) into c, one creates a card in a. The server applies them
// in its order, rejecting what no longer makes sense; every client then replays the server's
// log, and all replicas are equal, with every card in exactly one list.
func TestConcurrentClientsConverge(t *testing.T) {
	base, a, b, c, objs := threeLists(t)
	_, create := base.Append(a, aper.NewCounter(9))
	sent := []boardT{
		base.Move(objs[0], b, list.End()),
		base.Move(objs[0], c, list.Beginning()),
		base.RemoveListInto(a, c, list.End()),
		create,
	}
	orders := [][]int{{0, 1, 2, 3}, {2, 3, 0, 1}, {3, 2, 1, 0}, {1, 3, 2, 0}}
	for _, order := range orders {
		for i, x := range sent { // optimistic applies: each is fine on its own
			require.NoError(t, base.Clone().Apply(aper.On(x)), "transition %d", i)
		}
		server := base.Clone()
		var log []boardT
		created := false
		for _, i := range order {
			if err := server.Apply(aper.On(sent[i])); err == nil {
				log = append(log, sent[i])
				created = created || i == 3
			} else {
				require.NotNil(t, conflict.As(err), "%v", err)
			}
		}
		checkBoard(t, server)
		for range sent {
			replica := base.Clone()
			for _, x := range log {
				apertest.MustApply(t, replica, aper.On(x))
			}
			apertest.Equal(t, server, replica)
		}
		want := 5
		if created {
			want++
		}
		assert.Equal(t, want, server.Len())
		assert.False(t, server.HasList(a))
		assert.Equal(t, slices.Index(order, 3) < slices.Index(order, 2), created, "the create succeeds only before the list is removed")
	}
}
