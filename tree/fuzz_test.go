package tree_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
)

// Fixed ids for the fuzz targets' prepared tree, so that the seed corpus can name its nodes.
var (
	fuzzA   = uuid.MustParse("00000000-0000-4000-8000-00000000000a")
	fuzzB   = uuid.MustParse("00000000-0000-4000-8000-00000000000b")
	fuzzA1  = uuid.MustParse("00000000-0000-4000-8000-0000000000a1")
	fuzzA11 = uuid.MustParse("00000000-0000-4000-8000-000000000a11")
	fuzzB1  = uuid.MustParse("00000000-0000-4000-8000-0000000000b1")
)

// fuzzTree returns a small tree with fixed ids: a (a1 (a11)), b (b1).
func fuzzTree(t testing.TB) *counters {
	t.Helper()
	tr := tree.New[*aper.Counter, aper.CounterTransition]()
	for i, n := range []struct{ id, parent uuid.UUID }{
		{fuzzA, tree.Root}, {fuzzB, tree.Root}, {fuzzA1, fuzzA}, {fuzzA11, fuzzA1}, {fuzzB1, fuzzB},
	} {
		apertest.MustApply(t, tr, aper.On(countersT{Op: tree.OpInsert, ID: n.id, Parent: n.parent, Pos: list.End(), Value: aper.NewCounter(int64(i + 1))}))
	}
	return tr
}

// FuzzTransitionDecode feeds arbitrary bytes to both decoders of a transition. What decodes
// must round-trip (encode, decode and encode again to the same bytes, in both codecs), and
// applying it to a small tree must either succeed or return a conflict that leaves the tree
// exactly as it was (compared by encoding); either way the tree keeps its invariants, and
// nothing panics.
func FuzzTransitionDecode(f *testing.F) {
	tr := fuzzTree(f)
	_, insert := tr.InsertAfter(fuzzA1, aper.NewCounter(7))
	for _, x := range []countersT{
		insert,
		tr.Move(fuzzB, fuzzA11, list.Beginning()),
		tr.MoveAfter(fuzzA11, fuzzB1),
		tr.MoveTo(fuzzA1, tree.Root, 0),
		tr.Move(fuzzA, fuzzA11, list.End()), // a cycle
		tr.Delete(fuzzA1),
		tr.Update(fuzzB1, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3}),
	} {
		for _, c := range aper.Codecs() {
			f.Add(apertest.Encode(f, c, x))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range aper.Codecs() {
			var x countersT
			if c.Unmarshal(b, &x) != nil {
				continue
			}
			apertest.RoundTrip(t, x)
			tr := fuzzTree(t)
			if _, err := apertest.TryApply(tr, aper.On(x)); err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
			if err := invariants(tr); err != nil {
				t.Fatalf("%s: after %+v: %v", c.Name(), x, err)
			}
		}
	})
}
