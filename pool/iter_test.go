package pool_test

import (
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// within runs f and fails the test if it has not returned after a few seconds: an iterator that
// holds a lock while its loop body writes deadlocks, and one that follows what the body moves
// ahead of it may never end. A stuck f is left behind; the test has failed by then.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end: deadlock, or an iteration that never finishes")
	}
}

// TestObjectsAllowsChangesInTheLoop: the loop body of Objects may Apply transitions to the board
// (to the list being read, too) and Clone it. The loop yields exactly the objects that the list
// held when it started, in their order then, never a zero id or a nil value, and ends; the
// board keeps its invariants.
func TestObjectsAllowsChangesInTheLoop(t *testing.T) {
	bodies := []struct {
		name string
		do   func(bd *board, a, b, id uuid.UUID)
	}{
		{"move it to another list", func(bd *board, _, b, id uuid.UUID) { _ = bd.Apply(aper.On(bd.Move(id, b, list.Beginning()))) }},
		{"move it last", func(bd *board, a, _, id uuid.UUID) { _ = bd.Apply(aper.On(bd.Move(id, a, list.End()))) }},
		{"move it first", func(bd *board, a, _, id uuid.UUID) { _ = bd.Apply(aper.On(bd.Move(id, a, list.Beginning()))) }},
		{"delete it", func(bd *board, _, _, id uuid.UUID) { _ = bd.Apply(aper.On(bd.Delete(id))) }},
		{"delete the next one", func(bd *board, a, _, id uuid.UUID) {
			if i, ok := bd.IndexOf(id); ok {
				if next, _, ok := bd.At(a, i+1); ok {
					_ = bd.Apply(aper.On(bd.Delete(next)))
				}
			}
		}},
		{"create one after it", func(bd *board, a, _, id uuid.UUID) {
			_, x := bd.Create(a, bd.MoveAfter(id, id).Pos, aper.NewCounter(9))
			_ = bd.Apply(aper.On(x))
		}},
		{"create one last", func(bd *board, a, _, _ uuid.UUID) {
			_, x := bd.Append(a, aper.NewCounter(9))
			_ = bd.Apply(aper.On(x))
		}},
		{"update it", func(bd *board, _, _, id uuid.UUID) {
			_ = bd.Apply(aper.On(bd.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 10})))
		}},
		{"remove the list into another", func(bd *board, a, b, _ uuid.UUID) {
			_ = bd.Apply(aper.On(bd.RemoveListInto(a, b, list.End())))
		}},
		{"clone the board", func(bd *board, _, _, _ uuid.UUID) { _ = bd.Clone() }},
		{"clone and move it", func(bd *board, _, b, id uuid.UUID) {
			_ = bd.Clone()
			_ = bd.Apply(aper.On(bd.Move(id, b, list.End())))
		}},
	}
	for _, body := range bodies {
		t.Run(body.name, func(t *testing.T) {
			bd, a, b, _, objs := threeLists(t)
			want := objs[:3]
			var got []uuid.UUID
			within(t, func() {
				for id, v := range bd.Objects(a) {
					require.NotEqual(t, uuid.Nil, id)
					require.NotNil(t, v)
					got = append(got, id)
					if len(got) > 100 {
						break
					}
					body.do(bd, a, b, id)
				}
			})
			assert.Equal(t, want, got, "the loop yields what the list held when it started")
			checkBoard(t, bd)
		})
	}
}

// TestListsAllowsChangesInTheLoop: the same for Lists, whose body may add, remove, move and
// rename lists.
func TestListsAllowsChangesInTheLoop(t *testing.T) {
	bodies := []struct {
		name string
		do   func(bd *board, id uuid.UUID)
	}{
		{"remove it", func(bd *board, id uuid.UUID) {
			var into uuid.UUID
			for l := range bd.Lists() {
				if l != id {
					into = l
				}
			}
			_ = bd.Apply(aper.On(bd.RemoveListInto(id, into, list.End())))
		}},
		{"move it last", func(bd *board, id uuid.UUID) { _ = bd.Apply(aper.On(bd.MoveList(id, list.End()))) }},
		{"add one after it", func(bd *board, id uuid.UUID) {
			_, x := bd.AddList("new", list.After(id, list.ZenoIndex{}))
			_ = bd.Apply(aper.On(x))
		}},
		{"add one last", func(bd *board, _ uuid.UUID) {
			_, x := bd.AppendList("new")
			_ = bd.Apply(aper.On(x))
		}},
		{"rename it", func(bd *board, id uuid.UUID) { _ = bd.Apply(aper.On(bd.RenameList(id, "renamed"))) }},
		{"create an object in it", func(bd *board, id uuid.UUID) {
			_, x := bd.Append(id, aper.NewCounter(9))
			_ = bd.Apply(aper.On(x))
		}},
		{"clone the board", func(bd *board, _ uuid.UUID) { _ = bd.Clone() }},
	}
	for _, body := range bodies {
		t.Run(body.name, func(t *testing.T) {
			bd, a, b, c, _ := threeLists(t)
			var ids []uuid.UUID
			var got []string
			within(t, func() {
				for id, name := range bd.Lists() {
					require.NotEqual(t, uuid.Nil, id)
					ids = append(ids, id)
					got = append(got, name)
					if len(got) > 100 {
						break
					}
					body.do(bd, id)
				}
			})
			assert.Equal(t, []uuid.UUID{a, b, c}, ids)
			assert.Equal(t, []string{"a", "b", "c"}, got)
			checkBoard(t, bd)
		})
	}
}
