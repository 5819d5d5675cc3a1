package ordtree

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
	"github.com/leanovate/gopter/gen"
)

// check verifies the tree's invariants: items ascending, each item's prefix beside it, counts
// right, every node but the root at least half full, all leaves at one depth.
func check[T any](tb testing.TB, t *Tree[T]) {
	tb.Helper()
	if t.root == nil {
		return
	}
	var prev *T
	leafDepth := -1
	var walk func(n *node[T], depth int) int
	walk = func(n *node[T], depth int) int {
		if n != t.root && n.n < minItems || n.n < 1 || n.n > maxItems {
			tb.Fatalf("node with %d items", n.n)
		}
		count := n.n
		for i := range n.n + 1 {
			if n.kids != nil {
				count += walk(n.kids[i], depth+1)
			} else if leafDepth < 0 {
				leafDepth = depth
			} else if leafDepth != depth {
				tb.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			if i < n.n {
				if prev != nil && t.cmp(*prev, n.items[i]) >= 0 {
					tb.Fatalf("items out of order")
				}
				prev = &n.items[i]
				if n.keys[i] != t.pre(n.items[i]) {
					tb.Fatalf("item %d of a node has the prefix %x, not %x", i, n.keys[i], t.pre(n.items[i]))
				}
			}
		}
		if count != n.count {
			tb.Fatalf("node counts %d, holds %d", n.count, count)
		}
		return count
	}
	walk(t.root, 0)
}

// ref is the naive reference: a sorted slice.
type ref []int

func (r ref) set(k int) (ref, bool) {
	i, found := slices.BinarySearch(r, k)
	if found {
		return r, true
	}
	return slices.Insert(slices.Clone(r), i, k), false
}

func (r ref) del(k int) (ref, bool) {
	i, found := slices.BinarySearch(r, k)
	if !found {
		return r, false
	}
	return slices.Delete(slices.Clone(r), i, i+1), true
}

// compare checks every read of t against r.
func compare(tb testing.TB, t *Tree[int], r ref, probes []int) {
	tb.Helper()
	check(tb, t)
	if t.Len() != len(r) {
		tb.Fatalf("Len %d, want %d", t.Len(), len(r))
	}
	if got := slices.Collect(t.All()); !slices.Equal(got, r) && len(r) > 0 {
		tb.Fatalf("All %v, want %v", got, r)
	}
	back := slices.Collect(t.Backward())
	slices.Reverse(back)
	if !slices.Equal(back, r) && len(r) > 0 {
		tb.Fatalf("Backward is not All reversed")
	}
	if mn, ok := t.Min(); ok != (len(r) > 0) || ok && mn != r[0] {
		tb.Fatalf("Min %d %v", mn, ok)
	}
	if mx, ok := t.Max(); ok != (len(r) > 0) || ok && mx != r[len(r)-1] {
		tb.Fatalf("Max %d %v", mx, ok)
	}
	for _, k := range probes {
		i, found := slices.BinarySearch(r, k)
		if got, ok := t.Rank(k); got != i || ok != found {
			tb.Fatalf("Rank(%d) = %d, %v; want %d, %v", k, got, ok, i, found)
		}
		if got, ok := t.Get(k); ok != found || ok && got != k {
			tb.Fatalf("Get(%d) = %d, %v", k, got, ok)
		}
		if got, ok := t.Below(k); ok != (i > 0) || ok && got != r[i-1] {
			tb.Fatalf("Below(%d) = %d, %v", k, got, ok)
		}
		j := i
		if found {
			j++
		}
		if got, ok := t.Above(k); ok != (j < len(r)) || ok && got != r[j] {
			tb.Fatalf("Above(%d) = %d, %v", k, got, ok)
		}
	}
	for _, i := range []int{-1, 0, len(r) / 3, len(r) / 2, len(r) - 1, len(r)} {
		got, ok := t.At(i)
		if ok != (i >= 0 && i < len(r)) || ok && got != r[i] {
			tb.Fatalf("At(%d) = %d, %v", i, got, ok)
		}
	}
}

// TestAgainstSlice runs long random sequences of writes on a family of clones that diverge, and
// compares each with a sorted slice.
// It runs with each of prefixes.
func TestAgainstSlice(t *testing.T) {
	for _, p := range prefixes {
		t.Run(p.name, func(t *testing.T) { testAgainstSlice(t, p.pre) })
	}
}

func testAgainstSlice(t *testing.T, pre func(int) uint64) {
	rng := rand.New(rand.NewPCG(5, 6))
	trees := []Tree[int]{New(cmp.Compare[int], pre)}
	refs := []ref{nil}
	const keys = 20_000
	for step := range 60_000 {
		x := rng.IntN(len(trees))
		tr, r := &trees[x], refs[x]
		switch op := rng.IntN(100); {
		case op < 55:
			k := rng.IntN(keys)
			var had bool
			refs[x], had = r.set(k)
			if rng.IntN(2) == 0 {
				if _, rep := tr.Set(k); rep != had {
					t.Fatalf("Set(%d) replaced %v, want %v", k, rep, had)
				}
			} else if ins := tr.Insert(k); ins == had {
				t.Fatalf("Insert(%d) = %v with the key present %v", k, ins, had)
			}
		case op < 98:
			k := rng.IntN(keys)
			var had bool
			refs[x], had = r.del(k)
			if got, ok := tr.Delete(k); ok != had || ok && got != k {
				t.Fatalf("Delete(%d) = %d, %v", k, got, ok)
			}
		case len(trees) < 6:
			trees = append(trees, tr.Clone())
			refs = append(refs, r)
		default:
			y := rng.IntN(len(trees))
			trees[x] = trees[y].Clone()
			refs[x] = refs[y]
		}
		if step%2_000 == 0 {
			for i := range trees {
				compare(t, &trees[i], refs[i], []int{rng.IntN(keys), rng.IntN(keys), -1, keys})
			}
		}
	}
	for i := range trees {
		compare(t, &trees[i], refs[i], []int{0, 1, keys / 2})
	}
}

// system is a pair of trees that commands write and clone.
type system struct{ t [2]Tree[int] }

type state [2]ref

type cmd struct {
	name string
	run  func(s *system)
	next func(st state) state
}

func (c cmd) command() commands.Command {
	return &commands.ProtoCommand{
		Name: c.name,
		RunFunc: func(sut commands.SystemUnderTest) commands.Result {
			c.run(sut.(*system))
			return sut
		},
		NextStateFunc: func(st commands.State) commands.State { return c.next(st.(state)) },
		PostConditionFunc: func(st commands.State, res commands.Result) *gopter.PropResult {
			s, want := res.(*system), st.(state)
			for i := range s.t {
				got := slices.Collect(s.t[i].All())
				if !slices.Equal(got, want[i]) && len(got)+len(want[i]) > 0 {
					return &gopter.PropResult{Status: gopter.PropError, Error: fmt.Errorf("tree %d holds %v, want %v", i, got, want[i])}
				}
				for j, k := range want[i] {
					if r, ok := s.t[i].Rank(k); !ok || r != j {
						return &gopter.PropResult{Status: gopter.PropError, Error: fmt.Errorf("tree %d: Rank(%d) = %d, want %d", i, k, r, j)}
					}
					if got, _ := s.t[i].At(j); got != k {
						return &gopter.PropResult{Status: gopter.PropError, Error: fmt.Errorf("tree %d: At(%d) = %d, want %d", i, j, got, k)}
					}
				}
			}
			return &gopter.PropResult{Status: gopter.PropTrue}
		},
	}
}

// TestCommands checks two trees against slices under random inserts of runs of keys, deletes,
// and clones of one into the other, so that both copies diverge from shared nodes. It runs with
// each of prefixes.
func TestCommands(t *testing.T) {
	for _, p := range prefixes {
		t.Run(p.name, func(t *testing.T) { testCommands(t, p.pre) })
	}
}

func testCommands(t *testing.T, pre func(int) uint64) {
	insertRun := func(x, from, n int) commands.Command {
		return cmd{
			name: fmt.Sprintf("insert(%d, %d..%d)", x, from, from+n),
			run: func(s *system) {
				for k := from; k < from+n; k++ {
					s.t[x].Set(k * 7 % 5000)
				}
			},
			next: func(st state) state {
				for k := from; k < from+n; k++ {
					st[x], _ = st[x].set(k * 7 % 5000)
				}
				return st
			},
		}.command()
	}
	deleteRun := func(x, from, n int) commands.Command {
		return cmd{
			name: fmt.Sprintf("delete(%d, %d..%d)", x, from, from+n),
			run: func(s *system) {
				for k := from; k < from+n; k++ {
					s.t[x].Delete(k * 7 % 5000)
				}
			},
			next: func(st state) state {
				for k := from; k < from+n; k++ {
					st[x], _ = st[x].del(k * 7 % 5000)
				}
				return st
			},
		}.command()
	}
	clone := func(x int) commands.Command {
		return cmd{
			name: fmt.Sprintf("clone(%d)", x),
			run:  func(s *system) { s.t[1-x] = s.t[x].Clone() },
			next: func(st state) state { st[1-x] = st[x]; return st },
		}.command()
	}
	cmds := &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(commands.State) commands.SystemUnderTest {
			return &system{t: [2]Tree[int]{New(cmp.Compare[int], pre), New(cmp.Compare[int], pre)}}
		},
		InitialStateGen: gen.Const(state{}),
		GenCommandFunc: func(commands.State) gopter.Gen {
			return gen.Weighted([]gen.WeightedGen{
				{Weight: 4, Gen: gopter.CombineGens(gen.IntRange(0, 1), gen.IntRange(0, 5000), gen.IntRange(1, 400)).
					Map(func(v []any) commands.Command { return insertRun(v[0].(int), v[1].(int), v[2].(int)) })},
				{Weight: 3, Gen: gopter.CombineGens(gen.IntRange(0, 1), gen.IntRange(0, 5000), gen.IntRange(1, 400)).
					Map(func(v []any) commands.Command { return deleteRun(v[0].(int), v[1].(int), v[2].(int)) })},
				{Weight: 1, Gen: gen.IntRange(0, 1).Map(func(x int) commands.Command { return clone(x) })},
			})
		},
	}
	props := gopter.NewProperties(fuzz.Parameters(t, 60, 100, 2))
	props.Property("two trees behave as two sorted slices", commands.Prop(cmds))
	props.TestingRun(t)
}

// TestClonesOnTwoGoroutines writes to two clones of one tree at once; run with -race.
func TestClonesOnTwoGoroutines(t *testing.T) {
	base := New(cmp.Compare[int], preInt)
	for k := range 10_000 {
		base.Set(2 * k)
	}
	trees := [2]Tree[int]{base.Clone(), base.Clone()}
	var wg sync.WaitGroup
	for g := range trees {
		wg.Go(func() {
			tr := &trees[g]
			for k := range 5_000 {
				tr.Delete(4*k + 2*g)
				tr.Set(2*k + 1)
				if g == 1 && k%500 == 0 {
					c := tr.Clone()
					c.Set(-1)
				}
			}
		})
	}
	wg.Wait()
	for g := range trees {
		check(t, &trees[g])
		if trees[g].Len() != 10_000 {
			t.Fatalf("tree %d holds %d", g, trees[g].Len())
		}
		if _, ok := trees[g].Get(4*7 + 2*g); ok {
			t.Fatalf("tree %d kept a deleted key", g)
		}
		if _, ok := trees[1-g].Get(4*7 + 2*g); !ok {
			t.Fatalf("tree %d lost a key the other deleted", 1-g)
		}
	}
	check(t, &base)
	if base.Len() != 10_000 {
		t.Fatalf("the original changed: %d", base.Len())
	}
}

// TestRenewLetsAnIterationGoOn deletes and inserts while iterating, after one Renew: the
// iteration yields the items as they were when it began, and the tree holds every change.
func TestRenewLetsAnIterationGoOn(t *testing.T) {
	for _, backward := range []bool{false, true} {
		tr := New(cmp.Compare[int], preInt)
		for k := range 1_000 {
			tr.Set(2 * k)
		}
		seq := tr.All()
		if backward {
			seq = tr.Backward()
		}
		var got []int
		renewed := false
		for k := range seq {
			got = append(got, k)
			if !renewed {
				tr.Renew()
				renewed = true
			}
			tr.Delete(k)
			tr.Set(k + 1)
			tr.Delete(1998 - k) // one the iteration has not reached yet (going forward)
		}
		want := make([]int, 1_000)
		for i := range want {
			want[i] = 2 * i
		}
		if backward {
			slices.Reverse(want)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("backward %v: the iteration yielded %d items, first differences at %v", backward, len(got), firstDiff(got, want))
		}
		check(t, &tr)
		for k := range 1_000 {
			if !tr.Has(2*k + 1) {
				t.Fatalf("backward %v: the tree lost %d", backward, 2*k+1)
			}
		}
		if tr.Len() != 1_000 {
			t.Fatalf("backward %v: the tree holds %d items, not the 1000 odd ones", backward, tr.Len())
		}
	}
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestReplaceRange replaces ranges of a tree's items with others that keep the order, and
// checks the tree against a slice and that a clone taken before is unchanged.
//
// It runs with each of prefixes: an item's prefix changes with it.
func TestReplaceRange(t *testing.T) {
	for _, p := range prefixes {
		t.Run(p.name, func(t *testing.T) { testReplaceRange(t, p.pre) })
	}
}

func testReplaceRange(t *testing.T, pre func(int) uint64) {
	rng := rand.New(rand.NewPCG(3, 4))
	tr := New(cmp.Compare[int], pre)
	var want []int
	for i := range 2000 {
		tr.Set(10 * i)
		want = append(want, 10*i)
	}
	for range 200 {
		i := rng.IntN(len(want)+10) - 5
		j := i + rng.IntN(300)
		before := slices.Clone(want)
		old := tr.Clone()
		// Each item moves by +1 or +2 (items are 10 apart, so the order holds), except the
		// item at p itself: f must see its own position.
		var seen []int
		tr.ReplaceRange(i, j, func(p, v int) int {
			seen = append(seen, p)
			if v != want[p] {
				t.Fatalf("ReplaceRange(%d, %d) gave f item %d at %d, want %d", i, j, v, p, want[p])
			}
			return v + 1 + p%2
		})
		var wantSeen []int
		for p := max(i, 0); p < min(j, len(want)); p++ {
			wantSeen = append(wantSeen, p)
			want[p] += 1 + p%2
		}
		if !slices.Equal(seen, wantSeen) {
			t.Fatalf("ReplaceRange(%d, %d) called f at %v, want %v", i, j, seen, wantSeen)
		}
		check(t, &tr)
		if got := slices.Collect(tr.All()); !slices.Equal(got, want) {
			t.Fatalf("after ReplaceRange(%d, %d): %v", i, j, got)
		}
		if got := slices.Collect(old.All()); !slices.Equal(got, before) {
			t.Fatalf("ReplaceRange(%d, %d) changed a clone", i, j)
		}
		for k := range want {
			want[k] = 10 * (want[k] / 10)
		}
		tr = New(cmp.Compare[int], pre)
		for _, v := range want {
			tr.Set(v)
		}
	}
}

// TestInsertIf checks InsertIf against a sorted slice, on a family of clones that diverge: the
// neighbours it reports are the slice's, it inserts exactly when the key is absent and the
// condition holds, and a refused insert leaves every node as it was.
func TestInsertIf(t *testing.T) {
	for _, p := range prefixes {
		t.Run(p.name, func(t *testing.T) { testInsertIf(t, p.pre) })
	}
}

func testInsertIf(t *testing.T, pre func(int) uint64) {
	rng := rand.New(rand.NewPCG(7, 8))
	trees := []Tree[int]{New(cmp.Compare[int], pre)}
	refs := []ref{nil}
	const keys = 5_000
	for step := range 40_000 {
		x := rng.IntN(len(trees))
		tr, r := &trees[x], refs[x]
		switch op := rng.IntN(100); {
		case op < 60:
			k := rng.IntN(keys)
			i, had := slices.BinarySearch(r, k)
			accept := rng.IntN(4) != 0
			called := false
			root := tr.root
			got := tr.InsertIf(k, func(below, above *int) bool {
				called = true
				switch {
				case (below != nil) != (i > 0) || below != nil && *below != r[i-1]:
					t.Fatalf("InsertIf(%d): below %v, want the item before position %d of %v", k, below, i, r)
				case (above != nil) != (i < len(r)) || above != nil && *above != r[i]:
					t.Fatalf("InsertIf(%d): above %v, want the item at position %d", k, above, i)
				}
				return accept
			})
			if called == had {
				t.Fatalf("InsertIf(%d): condition called %v with the key present %v", k, called, had)
			}
			if want := !had && accept; got != want {
				t.Fatalf("InsertIf(%d) = %v, want %v", k, got, want)
			}
			if !got && tr.root != root {
				t.Fatalf("InsertIf(%d) inserted nothing but changed the root", k)
			}
			if got {
				refs[x], _ = r.set(k)
			}
		case op < 90:
			k := rng.IntN(keys)
			refs[x], _ = r.del(k)
			tr.Delete(k)
		case len(trees) < 4:
			trees = append(trees, tr.Clone())
			refs = append(refs, r)
		default:
			y := rng.IntN(len(trees))
			trees[x] = trees[y].Clone()
			refs[x] = refs[y]
		}
		if step%2_000 == 0 {
			for i := range trees {
				compare(t, &trees[i], refs[i], []int{rng.IntN(keys), -1, keys})
			}
		}
	}
	for i := range trees {
		compare(t, &trees[i], refs[i], []int{0, 1, keys / 2})
	}
}

// preInt is the prefix of an int in its order: its bits with the sign flipped, so that every int
// has its own.
func preInt(x int) uint64 { return uint64(x) ^ 1<<63 }

// prefixes are the prefix functions the tests that compare with a model run with: one that tells
// every item apart, and one that gives 64 neighbouring ints the same prefix, so that a search
// mostly finds its place by cmp among equal prefixes.
var prefixes = []struct {
	name string
	pre  func(int) uint64
}{
	{"exact", preInt},
	{"coarse", func(x int) uint64 { return preInt(x) >> 6 }},
}
