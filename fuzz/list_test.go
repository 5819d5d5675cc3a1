package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

type counterList = list.List[*aper.Counter, aper.CounterTransition]
type counterListT = list.Transition[*aper.Counter, aper.CounterTransition]

// listPosition draws a position on l: the ends, next to an item (an anchor another client may
// delete concurrently), a free index, or an anchor that is gone with or without a fallback.
func listPosition(l *counterList, ids []uuid.UUID) gopter.Gen {
	return weighted(
		gen.WeightedGen{Weight: 1, Gen: gen.Const(list.Beginning())},
		gen.WeightedGen{Weight: 2, Gen: gen.Const(list.End())},
		gen.WeightedGen{Weight: ifNonEmpty(ids, 3), Gen: pick(ids).Map(l.PositionBefore)},
		gen.WeightedGen{Weight: ifNonEmpty(ids, 4), Gen: pick(ids).Map(l.PositionAfter)},
		gen.WeightedGen{Weight: 2, Gen: gen.IntRange(0, l.Len()).Map(l.PositionAt)},
		gen.WeightedGen{Weight: 1, Gen: gen.SliceOfN(2, gen.UInt8Range(1, 255)).Map(func(b []uint8) list.ListPosition {
			z, err := list.ZenoIndexFromBytes(b)
			if err != nil {
				return list.End()
			}
			return list.At(z)
		})},
		gen.WeightedGen{Weight: 1, Gen: genUUID().Map(func(id uuid.UUID) list.ListPosition {
			return list.After(id, list.ZenoIndex{}) // a missing anchor, no fallback: NotFound
		})},
	)
}

func listTransition(_ int, l *counterList) gopter.Gen {
	var ids []uuid.UUID
	for id := range l.All() {
		ids = append(ids, id)
	}
	insert := gopter.CombineGens(genUUID(), listPosition(l, ids), gen.Int64Range(-3, 3)).Map(func(v []any) counterListT {
		return counterListT{Op: list.OpInsert, ID: v[0].(uuid.UUID), Pos: v[1].(list.ListPosition), Value: aper.NewCounter(v[2].(int64))}
	})
	if len(ids) == 0 {
		return insert
	}
	return weighted(
		gen.WeightedGen{Weight: 4, Gen: insert},
		gen.WeightedGen{Weight: 2, Gen: pick(ids).Map(l.Delete)},
		gen.WeightedGen{Weight: 2, Gen: gopter.CombineGens(pick(ids), gen.IntRange(0, len(ids))).Map(func(v []any) counterListT {
			return l.MoveTo(v[0].(uuid.UUID), v[1].(int))
		})},
		gen.WeightedGen{Weight: 2, Gen: gopter.CombineGens(pick(ids), listPosition(l, ids)).Map(func(v []any) counterListT {
			return l.Move(v[0].(uuid.UUID), v[1].(list.ListPosition))
		})},
		gen.WeightedGen{Weight: 3, Gen: gopter.CombineGens(pick(ids), counterT()).Map(func(v []any) counterListT {
			return l.Update(v[0].(uuid.UUID), v[1].(aper.CounterTransition))
		})},
	)
}

func listConfig() fuzz.Config[*counterList, counterListT] {
	return fuzz.Config[*counterList, counterListT]{
		New:        func() *counterList { return list.New[*aper.Counter, aper.CounterTransition]() },
		Transition: listTransition,
		Check: func(q fuzz.Quiescent[*counterList, counterListT]) error {
			return listInvariants(q.Server)
		},
	}
}

// listInvariants: the order by index and by All agree, ids are unique, and every id's index
// finds it.
func listInvariants(l *counterList) error {
	seen := map[uuid.UUID]bool{}
	i := 0
	for id := range l.All() {
		if seen[id] {
			return errorf("id %s twice", id)
		}
		seen[id] = true
		if at, _, ok := l.At(i); !ok || at != id {
			return errorf("At(%d) = %s, All gives %s", i, at, id)
		}
		if j, ok := l.IndexOf(id); !ok || j != i {
			return errorf("IndexOf(%s) = %d, want %d", id, j, i)
		}
		i++
	}
	if i != l.Len() {
		return errorf("All yields %d items, Len = %d", i, l.Len())
	}
	return nil
}

func TestPropList(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "list replicas converge", listConfig(), params(t))
}
