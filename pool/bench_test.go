package pool_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
)

const (
	benchLists = 10
	benchCards = 100_000
)

type benchBoard struct {
	b     *board
	lists []uuid.UUID
	cards []uuid.UUID
}

var (
	benchOnce sync.Once
	bench     benchBoard
)

// benchBase builds, once, a board of 10 lists and 100,000 cards, each card appended to a random
// list.
func benchBase(tb testing.TB) benchBoard {
	tb.Helper()
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		b := pool.New[*aper.Counter, aper.CounterTransition]()
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		for i := range benchLists {
			id, t := b.AppendList(fmt.Sprint("list ", i))
			must(b.Apply(aper.On(t)))
			bench.lists = append(bench.lists, id)
		}
		for i := range benchCards {
			id, t := b.Append(bench.lists[rng.IntN(benchLists)], aper.NewCounter(int64(i)))
			must(b.Apply(aper.On(t)))
			bench.cards = append(bench.cards, id)
		}
		bench.b = b
	})
	return bench
}

// BenchmarkMoveBetweenLists moves a random card to the end of a random list (another list nine
// times in ten).
func BenchmarkMoveBetweenLists(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(3, 4))
	bd := base.b.Clone()
	b.ReportAllocs()
	for b.Loop() {
		_ = bd.Apply(aper.On(bd.Move(base.cards[rng.IntN(benchCards)], base.lists[rng.IntN(benchLists)], list.End())))
	}
}

// BenchmarkMoveToIndex moves a random card to a random index of a random list, the position
// computed by MoveTo (anchored to the neighbours there) and then applied.
func BenchmarkMoveToIndex(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(5, 6))
	bd := base.b.Clone()
	b.ReportAllocs()
	for b.Loop() {
		_ = bd.Apply(aper.On(bd.MoveTo(base.cards[rng.IntN(benchCards)], base.lists[rng.IntN(benchLists)], rng.IntN(benchCards/benchLists))))
	}
}

// BenchmarkAt reads the card at a random index of a random list.
func BenchmarkAt(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(7, 8))
	b.ReportAllocs()
	for b.Loop() {
		base.b.At(base.lists[rng.IntN(benchLists)], rng.IntN(benchCards/benchLists))
	}
}

// BenchmarkUpdate applies a transition to a random card.
func BenchmarkUpdate(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(9, 10))
	bd := base.b.Clone()
	add := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}
	b.ReportAllocs()
	for b.Loop() {
		_ = bd.Apply(aper.On(bd.Update(base.cards[rng.IntN(benchCards)], add)))
	}
}

// BenchmarkClone clones the board: O(1).
func BenchmarkClone(b *testing.B) {
	base := benchBase(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = base.b.Clone()
	}
}

// BenchmarkCloneAndMove clones the board and moves one card to another list, what a client's
// rollback and replay costs per transition: the Clone plus the copies of the B-tree paths the
// move touches.
func BenchmarkCloneAndMove(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(11, 12))
	b.ReportAllocs()
	for b.Loop() {
		bd := base.b.Clone()
		_ = bd.Apply(aper.On(bd.Move(base.cards[rng.IntN(benchCards)], base.lists[rng.IntN(benchLists)], list.End())))
	}
}
