package pool_test

import (
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
)

// A nil *Board, an unset field of a generated struct, reads as an empty board.
func TestNilBoardReads(t *testing.T) {
	var b *pool.Board[*aper.Counter, aper.CounterTransition]
	id := uuid.New()
	if b.Len() != 0 || b.NumLists() != 0 || b.HasList(id) || b.Has(id) || b.ListLen(id) != 0 {
		t.Fatal("a nil board holds something")
	}
	if _, _, ok := b.ListAt(0); ok {
		t.Fatal("nil board: ListAt(0) found a list")
	}
	if _, ok := b.ListName(id); ok {
		t.Fatal("nil board: ListName found a list")
	}
	if _, ok := b.ListOf(id); ok {
		t.Fatal("nil board: ListOf found a list")
	}
	if v, ok := b.Get(id); ok || v != nil {
		t.Fatalf("nil board: Get = %v, %v", v, ok)
	}
	if _, v, ok := b.At(id, 0); ok || v != nil {
		t.Fatalf("nil board: At = %v, %v", v, ok)
	}
	if i, ok := b.IndexOf(id); ok || i != -1 {
		t.Fatalf("nil board: IndexOf = %d, %v", i, ok)
	}
	for range b.Lists() {
		t.Fatal("nil board: Lists yields a list")
	}
	for range b.Objects(id) {
		t.Fatal("nil board: Objects yields an object")
	}
}

// A nil *Board builds every transition as an empty board does: a list added through one lands
// on an empty board, and moves of what no board has are NotFound, not a panic.
func TestNilBoardBuildsTransitions(t *testing.T) {
	var nb *pool.Board[*aper.Counter, aper.CounterTransition]
	b := pool.New[*aper.Counter, aper.CounterTransition]()
	l, add := nb.AppendList("To do")
	if err := b.Apply(aper.On(add)); err != nil || !b.HasList(l) {
		t.Fatalf("AppendList from a nil board: %v", err)
	}
	_, create := nb.Append(l, aper.NewCounter(1))
	if err := b.Apply(aper.On(create)); err != nil || b.ListLen(l) != 1 {
		t.Fatalf("Append from a nil board: %v", err)
	}
	id := uuid.New()
	for name, tr := range map[string]pool.Transition[*aper.Counter, aper.CounterTransition]{
		"MoveList":   nb.MoveList(id, list.End()),
		"MoveListTo": nb.MoveListTo(id, 1),
		"MoveTo":     nb.MoveTo(id, l, 0),
		"MoveBefore": nb.MoveBefore(id, uuid.New()),
	} {
		if err := b.Apply(aper.On(tr)); !errors.Is(err, conflict.ErrNotFound) {
			t.Errorf("%s of what no board has: %v, want NotFound", name, err)
		}
	}
}
