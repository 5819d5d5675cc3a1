package tree_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
)

const (
	benchNodes    = 100_000
	benchMaxDepth = 50
)

type benchTree struct {
	tr        *counters
	ids       []uuid.UUID
	meanDepth float64
	maxDepth  int
}

var (
	benchOnce sync.Once
	bench     benchTree
)

// benchBase builds, once, a tree of 100,000 nodes no deeper than 50: half the nodes go under a
// random node, half under one of the 64 latest (which makes long chains), one in a thousand at the
// top level, never deeper than 50.
func benchBase(b *testing.B) benchTree {
	b.Helper()
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		tr := tree.New[*aper.Counter, aper.CounterTransition]()
		ids := make([]uuid.UUID, 0, benchNodes)
		depth := map[uuid.UUID]int{tree.Root: 0}
		sum := 0
		for len(ids) < benchNodes {
			parent := tree.Root
			if n := len(ids); n > 0 && rng.IntN(1000) != 0 {
				if rng.IntN(2) == 0 {
					parent = ids[n-1-rng.IntN(min(n, 64))]
				} else {
					parent = ids[rng.IntN(n)]
				}
			}
			if depth[parent] >= benchMaxDepth {
				continue
			}
			id, x := tr.Append(parent, aper.NewCounter(int64(len(ids))))
			if err := tr.Apply(aper.On(x)); err != nil {
				panic(err)
			}
			ids = append(ids, id)
			depth[id] = depth[parent] + 1
			sum += depth[id]
			bench.maxDepth = max(bench.maxDepth, depth[id])
		}
		bench.tr, bench.ids, bench.meanDepth = tr, ids, float64(sum)/float64(len(ids))
	})
	return bench
}

// moveAndBack runs b.Loop with moves that come in pairs: a move made by next, then the move
// that puts the node back where it was (its old parent, at its old index), so the tree keeps
// the shape of the base (depth at most 50) however long the benchmark runs. Both halves count.
func moveAndBack(b *testing.B, next func(tr *counters, rng *rand.Rand) (uuid.UUID, countersT)) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(3, 4))
	tr := base.tr.Clone()
	var back countersT
	odd, cycles := false, 0
	b.ReportAllocs()
	for b.Loop() {
		if odd = !odd; !odd {
			_ = tr.Apply(aper.On(back))
			continue
		}
		x, there := next(tr, rng)
		parent, _ := tr.Parent(x)
		key, _ := tr.KeyOf(x)
		back = tr.Move(x, parent, list.At(key))
		if tr.Apply(aper.On(there)) != nil {
			cycles++
		}
	}
	b.ReportMetric(float64(cycles)/float64(b.N), "cycles/op")
}

// BenchmarkMove moves a random node (with its subtree) to the end of a random node's children,
// and back; a move under its own subtree is a cycle, rejected after the same checks. The cycle
// check walks up from the new parent, O(depth · log n).
func BenchmarkMove(b *testing.B) {
	ids := benchBase(b).ids
	moveAndBack(b, func(tr *counters, rng *rand.Rand) (uuid.UUID, countersT) {
		x, p := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
		return x, tr.Move(x, p, list.End())
	})
}

// BenchmarkMoveAfterSibling moves a random node just after another random node (an anchored
// position), and back.
func BenchmarkMoveAfterSibling(b *testing.B) {
	ids := benchBase(b).ids
	moveAndBack(b, func(tr *counters, rng *rand.Rand) (uuid.UUID, countersT) {
		x, s := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
		return x, tr.MoveAfter(x, s)
	})
}

// BenchmarkInsert appends a leaf under a random node, re-cloning every 65,536 inserts.
func BenchmarkInsert(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(5, 6))
	tr := base.tr.Clone()
	v := aper.NewCounter(1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%65536 == 0 {
			tr = base.tr.Clone()
		}
		_, x := tr.Append(base.ids[rng.IntN(len(base.ids))], v)
		_ = tr.Apply(aper.On(x))
	}
}

// BenchmarkDeleteSubtree deletes the subtree of a random node; the tree is re-cloned from the
// base every 1,024 deletes, so it keeps at least 80,000 nodes. nodes/op is the mean number of
// nodes deleted per operation; a node already gone with an earlier subtree is a cheap NotFound
// (miss/op says how often).
func BenchmarkDeleteSubtree(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(7, 8))
	tr := base.tr.Clone()
	i, deleted, misses := 0, 0, 0
	b.ReportAllocs()
	for b.Loop() {
		if i++; i%1024 == 0 {
			tr = base.tr.Clone()
		}
		n := tr.Len()
		if tr.Apply(aper.On(tr.Delete(base.ids[rng.IntN(len(base.ids))]))) != nil {
			misses++
		}
		deleted += n - tr.Len()
	}
	b.ReportMetric(float64(deleted)/float64(b.N), "nodes/op")
	b.ReportMetric(float64(misses)/float64(b.N), "miss/op")
}

// BenchmarkClone clones the tree: O(1).
func BenchmarkClone(b *testing.B) {
	base := benchBase(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = base.tr.Clone()
	}
}

// BenchmarkChildren iterates over the children of a random node (most have 0 to 2).
func BenchmarkChildren(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(9, 10))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for range base.tr.Children(base.ids[rng.IntN(len(base.ids))]) {
			n++
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "children/op")
}

// BenchmarkChildrenRoot iterates over the children of the root (about a hundred).
func BenchmarkChildrenRoot(b *testing.B) {
	base := benchBase(b)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for range base.tr.Children(tree.Root) {
			n++
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "children/op")
}

// BenchmarkGet looks up a random node's value.
func BenchmarkGet(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(11, 12))
	b.ReportAllocs()
	for b.Loop() {
		base.tr.Get(base.ids[rng.IntN(len(base.ids))])
	}
	b.ReportMetric(float64(base.maxDepth), "maxdepth")
}

// BenchmarkChildrenThenMove iterates over a random node's children, then moves a random node
// (and back, as BenchmarkMove): what the iteration's snapshot costs the write after it, which
// copies the children index's B-tree nodes on its path, as the first write after a Clone does.
func BenchmarkChildrenThenMove(b *testing.B) {
	ids := benchBase(b).ids
	moveAndBack(b, func(tr *counters, rng *rand.Rand) (uuid.UUID, countersT) {
		for range tr.Children(ids[rng.IntN(len(ids))]) {
		}
		x, p := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
		return x, tr.Move(x, p, list.End())
	})
}
