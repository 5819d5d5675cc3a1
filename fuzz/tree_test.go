package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

type counterTree = tree.Tree[*aper.Counter, aper.CounterTransition]
type counterTreeT = tree.Transition[*aper.Counter, aper.CounterTransition]

// treeTransition favours moves of any node under any node: on a client's own view a move under a
// descendant is a Cycle conflict (not submitted), but two clients that each move one node under
// the other make a cycle that only the server's order reveals, and it rejects the second.
func treeTransition(_ int, tr *counterTree) gopter.Gen {
	var ids []uuid.UUID
	for id := range tr.All() {
		ids = append(ids, id)
	}
	parents := append([]uuid.UUID{tree.Root}, ids...)
	insert := gopter.CombineGens(genUUID(), pick(parents), gen.IntRange(0, 3), gen.Int64Range(-3, 3)).Map(func(v []any) counterTreeT {
		p := v[1].(uuid.UUID)
		return counterTreeT{Op: tree.OpInsert, ID: v[0].(uuid.UUID), Parent: p, Pos: tr.PositionAt(p, v[2].(int)), Value: aper.NewCounter(v[3].(int64))}
	})
	if len(ids) == 0 {
		return insert
	}
	return weighted(
		gen.WeightedGen{Weight: 3, Gen: insert},
		gen.WeightedGen{Weight: 5, Gen: gopter.CombineGens(pick(ids), pick(parents), gen.IntRange(0, 3)).Map(func(v []any) counterTreeT {
			return tr.MoveTo(v[0].(uuid.UUID), v[1].(uuid.UUID), v[2].(int))
		})},
		gen.WeightedGen{Weight: 1, Gen: gopter.CombineGens(pick(ids), pick(parents)).Map(func(v []any) counterTreeT {
			return tr.Move(v[0].(uuid.UUID), v[1].(uuid.UUID), list.End())
		})},
		gen.WeightedGen{Weight: 1, Gen: pick(ids).Map(tr.Delete)},
		gen.WeightedGen{Weight: 2, Gen: gopter.CombineGens(pick(ids), counterT()).Map(func(v []any) counterTreeT {
			return tr.Update(v[0].(uuid.UUID), v[1].(aper.CounterTransition))
		})},
	)
}

// treeInvariants: the walk from the root reaches every node once, under its Parent.
func treeInvariants(tr *counterTree) error {
	seen := map[uuid.UUID]bool{}
	path := []uuid.UUID{tree.Root}
	for id, depth := range tr.Walk(tree.Root) {
		if seen[id] {
			return errorf("node %s reached twice", id)
		}
		seen[id] = true
		if depth < 1 || depth > len(path) {
			return errorf("node %s at depth %d", id, depth)
		}
		path = path[:depth]
		if p, ok := tr.Parent(id); !ok || p != path[depth-1] {
			return errorf("node %s has parent %s, the walk found it under %s", id, p, path[depth-1])
		}
		path = append(path, id)
	}
	if len(seen) != tr.Len() {
		return errorf("the walk reaches %d nodes of %d: a cycle or an orphan", len(seen), tr.Len())
	}
	return nil
}

func TestPropTree(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "tree replicas converge and stay trees under concurrent moves", fuzz.Config[*counterTree, counterTreeT]{
		New:        func() *counterTree { return tree.New[*aper.Counter, aper.CounterTransition]() },
		Transition: treeTransition,
		Check: func(q fuzz.Quiescent[*counterTree, counterTreeT]) error {
			return treeInvariants(q.Server)
		},
	}, params(t))
}
