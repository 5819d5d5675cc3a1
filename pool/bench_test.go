package pool_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
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

// blob is a state machine that is not copy-on-write: Clone copies its 4 KiB, as a card holding
// a plain struct with a slice or a map does.
type blob struct{ data []byte }

// blobT sets one byte of a blob.
type blobT struct{ At, B int }

func (b *blob) Apply(ev aper.Event[blobT]) error {
	b.data[ev.Transition.At%len(b.data)] = byte(ev.Transition.B)
	return nil
}

func (b *blob) Clone() *blob { return &blob{data: slices.Clone(b.data)} }

const blobCards = 10_000

var (
	blobOnce  sync.Once
	blobBoard *pool.Board[*blob, blobT]
	blobIDs   []uuid.UUID
)

// blobBase builds, once, a board of 10 lists and 10,000 cards of 4 KiB each.
func blobBase(tb testing.TB) (*pool.Board[*blob, blobT], []uuid.UUID, []uuid.UUID) {
	tb.Helper()
	lists := benchBase(tb).lists // the same list ids, on a board of its own
	blobOnce.Do(func() {
		rng := rand.New(rand.NewPCG(13, 14))
		b := pool.New[*blob, blobT]()
		for i, id := range lists {
			if err := b.Apply(aper.On(pool.Transition[*blob, blobT]{Op: pool.OpAddList, List: id, Name: fmt.Sprint("list ", i), Pos: list.End()})); err != nil {
				panic(err)
			}
		}
		for range blobCards {
			id, t := b.Append(lists[rng.IntN(benchLists)], &blob{data: make([]byte, 4096)})
			if err := b.Apply(aper.On(t)); err != nil {
				panic(err)
			}
			blobIDs = append(blobIDs, id)
		}
		blobBoard = b
	})
	return blobBoard, lists, blobIDs
}

// BenchmarkMoveBetweenListsLargeValue moves a random 4 KiB card to the end of a random list: what
// a move costs for a value that is not copy-on-write.
func BenchmarkMoveBetweenListsLargeValue(b *testing.B) {
	base, lists, cards := blobBase(b)
	rng := rand.New(rand.NewPCG(15, 16))
	bd := base.Clone()
	b.ReportAllocs()
	for b.Loop() {
		_ = bd.Apply(aper.On(bd.Move(cards[rng.IntN(len(cards))], lists[rng.IntN(benchLists)], list.End())))
	}
}

// BenchmarkMoveAndUpdateLargeValue moves a random 4 KiB card to the end of a random list, then
// changes one byte of it.
func BenchmarkMoveAndUpdateLargeValue(b *testing.B) {
	base, lists, cards := blobBase(b)
	rng := rand.New(rand.NewPCG(17, 18))
	bd := base.Clone()
	b.ReportAllocs()
	for b.Loop() {
		id := cards[rng.IntN(len(cards))]
		_ = bd.Apply(aper.On(bd.Move(id, lists[rng.IntN(benchLists)], list.End())))
		_ = bd.Apply(aper.On(bd.Update(id, blobT{At: rng.IntN(4096), B: 1})))
	}
}

// BenchmarkObjectsThenMove reads the first card of a random list through Objects, then moves a
// random card to the end of a random list: what an iteration costs the write after it.
func BenchmarkObjectsThenMove(b *testing.B) {
	base := benchBase(b)
	rng := rand.New(rand.NewPCG(19, 20))
	bd := base.b.Clone()
	b.ReportAllocs()
	for b.Loop() {
		for range bd.Objects(base.lists[rng.IntN(benchLists)]) {
			break
		}
		_ = bd.Apply(aper.On(bd.Move(base.cards[rng.IntN(benchCards)], base.lists[rng.IntN(benchLists)], list.End())))
	}
}
