package pool_test

import (
	"testing"

	"github.com/aper-go/aper"
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
