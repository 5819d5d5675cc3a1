package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

type board = pool.Board[*aper.Counter, aper.CounterTransition]
type boardT = pool.Transition[*aper.Counter, aper.CounterTransition]

// boardTransition favours moves of cards between lists: clients that move the same card to
// different lists at once, and lists removed while cards move into them.
func boardTransition(_ int, b *board) gopter.Gen {
	var lists, cards []uuid.UUID
	for l := range b.Lists() {
		lists = append(lists, l)
		for id := range b.Objects(l) {
			cards = append(cards, id)
		}
	}
	addList := gopter.CombineGens(genUUID(), gen.OneConstOf("todo", "doing", "done")).Map(func(v []any) boardT {
		return boardT{Op: pool.OpAddList, List: v[0].(uuid.UUID), Name: v[1].(string), Pos: list.End()}
	})
	if len(lists) == 0 {
		return addList
	}
	create := gopter.CombineGens(genUUID(), pick(lists), gen.IntRange(0, 3)).Map(func(v []any) boardT {
		l := v[1].(uuid.UUID)
		return boardT{Op: pool.OpCreate, ID: v[0].(uuid.UUID), List: l, Pos: b.PositionAt(l, v[2].(int)), Value: aper.NewCounter(0)}
	})
	return weighted(
		gen.WeightedGen{Weight: 1, Gen: addList},
		gen.WeightedGen{Weight: 4, Gen: create},
		gen.WeightedGen{Weight: ifNonEmpty(cards, 6), Gen: gopter.CombineGens(pick(ifAny(cards)), pick(lists), gen.IntRange(0, 3)).Map(func(v []any) boardT {
			return b.MoveTo(v[0].(uuid.UUID), v[1].(uuid.UUID), v[2].(int))
		})},
		gen.WeightedGen{Weight: ifNonEmpty(cards, 1), Gen: pick(ifAny(cards)).Map(b.Delete)},
		gen.WeightedGen{Weight: ifNonEmpty(cards, 2), Gen: gopter.CombineGens(pick(ifAny(cards)), counterT()).Map(func(v []any) boardT {
			return b.Update(v[0].(uuid.UUID), v[1].(aper.CounterTransition))
		})},
		gen.WeightedGen{Weight: 1, Gen: pick(lists).Map(b.RemoveList)},
		gen.WeightedGen{Weight: 1, Gen: gopter.CombineGens(pick(lists), pick(lists)).Map(func(v []any) boardT {
			return b.RemoveListInto(v[0].(uuid.UUID), v[1].(uuid.UUID), list.End())
		})},
		gen.WeightedGen{Weight: 1, Gen: gopter.CombineGens(pick(lists), gen.IntRange(0, 3)).Map(func(v []any) boardT {
			return b.MoveListTo(v[0].(uuid.UUID), v[1].(int))
		})},
		gen.WeightedGen{Weight: 1, Gen: gopter.CombineGens(pick(lists), gen.OneConstOf("a", "b")).Map(func(v []any) boardT {
			return b.RenameList(v[0].(uuid.UUID), v[1].(string))
		})},
	)
}

// ifAny keeps pick's argument non-empty when its weight is 0 (the generator is built anyway).
func ifAny(ids []uuid.UUID) []uuid.UUID {
	if len(ids) == 0 {
		return []uuid.UUID{uuid.Nil}
	}
	return ids
}

// boardInvariants: every card is in exactly one list, the one ListOf names.
func boardInvariants(b *board) error {
	seen := map[uuid.UUID]bool{}
	for l := range b.Lists() {
		for id := range b.Objects(l) {
			if seen[id] {
				return errorf("card %s in two lists", id)
			}
			seen[id] = true
			if in, ok := b.ListOf(id); !ok || in != l {
				return errorf("card %s is in list %s, ListOf says %s", id, l, in)
			}
		}
	}
	if len(seen) != b.Len() {
		return errorf("the lists hold %d cards, Len = %d", len(seen), b.Len())
	}
	return nil
}

func TestPropBoard(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "board replicas converge under concurrent moves of one card", fuzz.Config[*board, boardT]{
		New:        func() *board { return pool.New[*aper.Counter, aper.CounterTransition]() },
		Transition: boardTransition,
		Check: func(q fuzz.Quiescent[*board, boardT]) error {
			return boardInvariants(q.Server)
		},
	}, params(t))
}
