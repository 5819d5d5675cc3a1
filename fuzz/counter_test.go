package fuzz_test

import (
	"math"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

type counterMap = aper.Map[string, *aper.Counter, aper.CounterTransition]
type counterMapT = aper.MapTransition[string, *aper.Counter, aper.CounterTransition]

// counterT draws counter transitions, some of which overflow (a conflict the server finds
// although the client's view did not: a rejection).
func counterT() gopter.Gen {
	return gen.Weighted([]gen.WeightedGen{
		{Weight: 6, Gen: gen.Int64Range(-3, 3).Map(func(n int64) aper.CounterTransition {
			return aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n}
		})},
		{Weight: 2, Gen: gen.Int64Range(-10, 10).Map(func(n int64) aper.CounterTransition {
			return aper.CounterTransition{Op: aper.CounterOpSet, Amount: n}
		})},
		{Weight: 1, Gen: gen.OneConstOf(int64(math.MaxInt64-2), int64(math.MinInt64+2)).Map(func(n int64) aper.CounterTransition {
			return aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n}
		})},
	})
}

func counterConfig() fuzz.Config[*aper.Counter, aper.CounterTransition] {
	return fuzz.Config[*aper.Counter, aper.CounterTransition]{
		New:        func() *aper.Counter { return aper.NewCounter(0) },
		Transition: func(int, *aper.Counter) gopter.Gen { return counterT() },
	}
}

func TestPropCounter(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "counter replicas converge", counterConfig(), params(t))
}

func mapConfig() fuzz.Config[*counterMap, counterMapT] {
	return fuzz.Config[*counterMap, counterMapT]{
		New: func() *counterMap { return aper.NewMap[string, *aper.Counter, aper.CounterTransition]() },
		Transition: func(_ int, m *counterMap) gopter.Gen {
			key := gen.OneConstOf("a", "b", "c", "d")
			return gen.Weighted([]gen.WeightedGen{
				{Weight: 2, Gen: gopter.CombineGens(key, gen.Int64Range(-5, 5)).Map(func(v []any) counterMapT {
					return m.Set(v[0].(string), aper.NewCounter(v[1].(int64)))
				})},
				{Weight: 1, Gen: key.Map(func(k string) counterMapT { return m.Delete(k) })},
				{Weight: 4, Gen: gopter.CombineGens(key, counterT()).Map(func(v []any) counterMapT {
					return m.Update(v[0].(string), v[1].(aper.CounterTransition))
				})},
			})
		},
	}
}

func TestPropMap(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "map replicas converge", mapConfig(), params(t))
}
