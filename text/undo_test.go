package text_test

import (
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/text"
)

// apply applies e as client c's, confirmed (a nonzero Seq), and fails the test on an error.
func apply(t *testing.T, x *text.Text, c aper.ClientID, e text.Edit) {
	t.Helper()
	if err := x.Apply(aper.Event[text.Edit]{Seq: x.Version() + 1, Client: c, Transition: e}); err != nil {
		t.Fatal(err)
	}
}

// undo forwards inv over what x applied since and applies it as c's.
func undo(t *testing.T, x *text.Text, c aper.ClientID, inv text.Edit) {
	t.Helper()
	f, err := x.Forward(inv)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, x, c, f)
}

// TestUndoIntent is the intent case: undoing my word while another user types after it removes
// my word and keeps the other's typing where it was.
func TestUndoIntent(t *testing.T) {
	x := text.New("hello world")
	base := x.Version()
	inv, err := x.ApplyInverse(aper.Event[text.Edit]{Seq: 1, Client: "me", Transition: x.Insert(6, "big ")})
	if err != nil {
		t.Fatal(err)
	}
	// The other typed "new " just after my word, and "!" at the end, from the version before it.
	apply(t, x, "other", text.Edit{Base: base, Op: text.MustOp(text.Retain(11), text.Insert("!"))})
	apply(t, x, "other", x.Insert(10, "new "))
	if got, want := x.String(), "hello big new world!"; got != want {
		t.Fatalf("before the undo: %q, want %q", got, want)
	}
	undo(t, x, "me", inv)
	if got, want := x.String(), "hello new world!"; got != want {
		t.Errorf("after the undo: %q, want %q", got, want)
	}
}

// TestUndoDeleteReinserts: undoing a delete puts the text back where it was, around others'
// later typing, and redoing deletes it again.
func TestUndoDeleteReinserts(t *testing.T) {
	x := text.New("one two three")
	inv, err := x.ApplyInverse(aper.Event[text.Edit]{Seq: 1, Client: "me", Transition: x.Delete(4, 4)})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, x, "other", x.Insert(0, ">> "))
	apply(t, x, "other", x.Insert(x.Len(), "."))
	f, err := x.Forward(inv)
	if err != nil {
		t.Fatal(err)
	}
	redo, err := x.ApplyInverse(aper.Event[text.Edit]{Seq: x.Version() + 1, Client: "me", Transition: f})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.String(), ">> one two three."; got != want {
		t.Fatalf("after the undo: %q, want %q", got, want)
	}
	undo(t, x, "me", redo)
	if got, want := x.String(), ">> one three."; got != want {
		t.Errorf("after the redo: %q, want %q", got, want)
	}
}

func TestForwardErrors(t *testing.T) {
	x := text.NewWithHistory("abc", 2)
	inv, err := x.ApplyInverse(aper.On(x.Insert(0, "x")))
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if err := x.Apply(aper.On(x.Insert(0, "y"))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.Forward(inv); !errors.Is(err, conflict.ErrStaleBase) {
		t.Errorf("Forward beyond the history: %v, want StaleBase", err)
	}
	if _, err := x.Forward(text.Edit{Base: x.Version() + 1}); !errors.Is(err, conflict.ErrInvalid) {
		t.Errorf("Forward from the future: %v, want Invalid", err)
	}
	if _, err := x.Forward(text.Edit{Base: x.Version(), Op: text.MustOp(text.Retain(1))}); !errors.Is(err, conflict.ErrOutOfRange) {
		t.Errorf("Forward of an op that does not fit: %v, want OutOfRange", err)
	}
}
