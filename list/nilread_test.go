package list_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
)

// A nil *List, an unset field of a generated struct, reads as empty.
func TestNilListReads(t *testing.T) {
	var l *list.List[*aper.Counter, aper.CounterTransition]
	id := uuid.New()
	if l.Len() != 0 || l.Has(id) {
		t.Fatalf("nil list: Len %d, Has %v", l.Len(), l.Has(id))
	}
	if _, ok := l.KeyOf(id); ok {
		t.Fatal("nil list: KeyOf found an item")
	}
	if v, ok := l.Get(id); ok || v != nil {
		t.Fatalf("nil list: Get = %v, %v", v, ok)
	}
	if _, v, ok := l.At(0); ok || v != nil {
		t.Fatalf("nil list: At(0) = %v, %v", v, ok)
	}
	if i, ok := l.IndexOf(id); ok || i != -1 {
		t.Fatalf("nil list: IndexOf = %d, %v", i, ok)
	}
	for range l.All() {
		t.Fatal("nil list: All yields an item")
	}
	for range l.Backward() {
		t.Fatal("nil list: Backward yields an item")
	}
	for range l.Keys() {
		t.Fatal("nil list: Keys yields an item")
	}
}
