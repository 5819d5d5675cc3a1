package pool_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
)

// Fixed ids for the fuzz targets' prepared board, so that the seed corpus can name its lists and
// cards.
var (
	fuzzLists = []uuid.UUID{
		uuid.MustParse("00000000-0000-4000-8000-0000000000a0"),
		uuid.MustParse("00000000-0000-4000-8000-0000000000b0"),
		uuid.MustParse("00000000-0000-4000-8000-0000000000c0"),
	}
	fuzzCards = []uuid.UUID{
		uuid.MustParse("00000000-0000-4000-8000-0000000000a1"),
		uuid.MustParse("00000000-0000-4000-8000-0000000000a2"),
		uuid.MustParse("00000000-0000-4000-8000-0000000000a3"),
		uuid.MustParse("00000000-0000-4000-8000-0000000000b1"),
	}
)

// fuzzBoard returns a small board with fixed ids: lists a (cards a1 a2 a3), b (b1), c (empty).
func fuzzBoard(t testing.TB) *board {
	t.Helper()
	bd := pool.New[*aper.Counter, aper.CounterTransition]()
	for i, l := range fuzzLists {
		apertest.MustApply(t, bd, aper.On(boardT{Op: pool.OpAddList, List: l, Name: string(rune('a' + i)), Pos: list.End()}))
	}
	for i, id := range fuzzCards {
		l := fuzzLists[0]
		if i == 3 {
			l = fuzzLists[1]
		}
		apertest.MustApply(t, bd, aper.On(boardT{Op: pool.OpCreate, ID: id, List: l, Pos: list.End(), Value: aper.NewCounter(int64(i + 1))}))
	}
	return bd
}

// FuzzTransitionDecode feeds arbitrary bytes to both decoders of a transition. What decodes
// must round-trip (encode, decode and encode again to the same bytes, in both codecs), and
// applying it to a small board must either succeed or return a conflict that leaves the board
// exactly as it was (compared by encoding); either way every card stays in exactly one list, and
// nothing panics.
func FuzzTransitionDecode(f *testing.F) {
	bd := fuzzBoard(f)
	a, b, c := fuzzLists[0], fuzzLists[1], fuzzLists[2]
	a1, a2, b1 := fuzzCards[0], fuzzCards[1], fuzzCards[3]
	_, create := bd.Create(c, list.Beginning(), aper.NewCounter(7))
	_, addList := bd.AddList("d", list.After(a, list.ZenoIndex{}))
	for _, x := range []boardT{
		create,
		bd.Move(a1, b, list.End()),
		bd.MoveTo(a2, a, 0),
		bd.MoveAfter(b1, a2),
		bd.Delete(a2),
		bd.Update(b1, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3}),
		addList,
		bd.RenameList(b, "renamed"),
		bd.MoveListTo(c, 0),
		bd.RemoveList(a), // not empty: a conflict
		bd.RemoveListInto(a, c, list.End()),
	} {
		for _, codec := range aper.Codecs() {
			f.Add(apertest.Encode(f, codec, x))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, codec := range aper.Codecs() {
			var x boardT
			if codec.Unmarshal(data, &x) != nil {
				continue
			}
			apertest.RoundTrip(t, x)
			bd := fuzzBoard(t)
			if _, err := apertest.TryApply(bd, aper.On(x)); err != nil {
				t.Fatalf("%s: %v", codec.Name(), err)
			}
			if err := invariants(bd); err != nil {
				t.Fatalf("%s: after %+v: %v", codec.Name(), x, err)
			}
		}
	})
}
