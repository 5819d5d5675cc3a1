package text_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/undo"
)

// apply applies e as client c's, confirmed (a nonzero Seq), and fails the test on an error.
func apply(t *testing.T, x *text.Text, c aper.ClientID, e text.Edit) {
	t.Helper()
	if err := x.Apply(aper.Event[text.Edit]{Seq: x.Version() + 1, Client: c, Transition: e}); err != nil {
		t.Fatal(err)
	}
}

// undoEdit forwards inv over what x applied since and applies it as c's.
func undoEdit(t *testing.T, x *text.Text, c aper.ClientID, inv text.Edit) {
	t.Helper()
	f, err := x.Forward(inv, nil)
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
	undoEdit(t, x, "me", inv)
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
	f, err := x.Forward(inv, nil)
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
	undoEdit(t, x, "me", redo)
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
	if _, err := x.Forward(inv, nil); !errors.Is(err, conflict.ErrStaleBase) {
		t.Errorf("Forward beyond the history: %v, want StaleBase", err)
	}
	if _, err := x.Forward(text.Edit{Base: x.Version() + 1}, nil); !errors.Is(err, conflict.ErrInvalid) {
		t.Errorf("Forward from the future: %v, want Invalid", err)
	}
	if _, err := x.Forward(text.Edit{Base: x.Version(), Op: text.MustOp(text.Retain(1))}, nil); !errors.Is(err, conflict.ErrOutOfRange) {
		t.Errorf("Forward of an op that does not fit: %v, want OutOfRange", err)
	}
}

type textStep = apertest.UndoStep[*text.Text, text.Edit]

const initialText = "abcdefghijklmnopqrstuvwxyz"

// mineChar and theirsChar say whose a character is: mine are the upper-case letters I type and
// the initial a to m, theirs the digits others type and the initial n to z.
func mineChar(r rune) bool   { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'm' }
func theirsChar(r rune) bool { return r >= '0' && r <= '9' || r >= 'n' && r <= 'z' }

// span returns a run of up to n characters from position i on (mod the length) that keep
// accepts, or false.
func span(s []rune, i, n uint64, keep func(rune) bool) (int, int, bool) {
	if len(s) == 0 {
		return 0, 0, false
	}
	p := int(i % uint64(len(s)))
	if !keep(s[p]) {
		return 0, 0, false
	}
	q := p
	for q < len(s) && q-p < int(n) && keep(s[q]) {
		q++
	}
	return p, q - p, true
}

// TestUndoTextProperty: I type upper-case text anywhere and delete runs of my characters; others,
// who never see my edits (each of their edits is based at version 0 plus their own), type digits
// after their characters and delete runs of theirs. Undoing every own edit, each re-expressed
// with Forward over everything since, gives exactly the text of the others' edits alone.
func TestUndoTextProperty(t *testing.T) {
	t.Parallel()
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 60, 1), func() *text.Text { return text.New(initialText) },
		func(code uint64) textStep {
			own, ins, arg := code&1 == 0, code&4 == 0, code>>8
			return textStep{Own: own, Join: code&2 == 0, Make: func(mine, theirs *text.Text) (text.Edit, bool) {
				if own {
					s := []rune(mine.String())
					if ins {
						w := strings.Repeat(string(rune('A'+arg%26)), int(arg>>5%3)+1)
						return mine.Insert(int(arg>>8%uint64(len(s)+1)), w), true
					}
					p, n, ok := span(s, arg, arg>>16%4+1, mineChar)
					return mine.Delete(p, n), ok
				}
				s := []rune(theirs.String())
				var op text.Op
				var err error
				if ins {
					p := int(arg >> 8 % uint64(len(s)+1))
					if p == 0 || !theirsChar(s[p-1]) {
						return text.Edit{}, false
					}
					op, err = text.Splice(len(s), p, 0, strings.Repeat(string(rune('0'+arg%10)), int(arg>>5%3)+1))
				} else {
					p, n, ok := span(s, arg, arg>>16%4+1, theirsChar)
					if !ok {
						return text.Edit{}, false
					}
					op, err = text.Splice(len(s), p, n, "")
				}
				return text.Edit{Base: 0, Op: op}, err == nil
			}}
		}, sameText)
}

func sameText(a, b *text.Text) error {
	if a.String() != b.String() {
		return fmt.Errorf("%q, want %q", a.String(), b.String())
	}
	return nil
}

// BenchmarkUndoText measures one undo on a text of 1 MB (and 100 KB, for the scaling) with
// 1,000 edits by others after the undone one: Forward over them, then ApplyInverse, on a Clone
// of the text each time.
func BenchmarkUndoText(b *testing.B) {
	for _, size := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			x := text.New(strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz\n", size/37+1)[:size])
			inv, err := x.ApplyInverse(aper.Event[text.Edit]{Seq: 1, Client: "me", Transition: x.Insert(size/2, "my word ")})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				e := x.Insert(i*7919%x.Len(), "x")
				if err := x.Apply(aper.Event[text.Edit]{Seq: uint64(i + 2), Client: "other", Transition: e}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				y := x.Clone()
				f, err := y.Forward(inv, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := y.ApplyInverse(aper.Event[text.Edit]{Seq: 2000, Client: "me", Transition: f}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestUndoRedoThroughManager: two deletes, the second over where the first was, undone and
// redone with a Manager. Undoing the second puts back text around the first's place, which a
// plain transformation of the first's inverse over both would lose (it gave "bcdaefg...").
func TestUndoRedoThroughManager(t *testing.T) {
	x := text.New("abcdefghij")
	m := undo.New[text.Edit](&undo.Options{Interval: -1})
	seq := uint64(0)
	event := func(e text.Edit) aper.Event[text.Edit] {
		seq++
		return aper.Event[text.Edit]{Seq: seq, Client: "me", Transition: e}
	}
	apply := undo.Applier(x, m, event)
	for _, pos := range []int{1, 0} {
		inv, err := x.ApplyInverse(event(x.Delete(pos, 3)))
		if err != nil {
			t.Fatal(err)
		}
		m.Record(inv)
	}
	if got := x.String(); got != "ghij" {
		t.Fatalf("after the deletes: %q", got)
	}
	for i, want := range []string{"aefghij", "abcdefghij"} {
		if _, err := m.Undo(apply); err != nil || x.String() != want {
			t.Fatalf("undo %d: %q, %v; want %q", i+1, x.String(), err, want)
		}
	}
	for i, want := range []string{"aefghij", "ghij"} {
		if _, err := m.Redo(apply); err != nil || x.String() != want {
			t.Fatalf("redo %d: %q, %v; want %q", i+1, x.String(), err, want)
		}
	}
	if _, err := m.Undo(apply); err != nil || x.String() != "aefghij" {
		t.Fatalf("undo after redo: %q, %v", x.String(), err)
	}
}

// TestApplyInverseTransformed: the inverse of an edit that Apply transforms (based on a version
// before another's edit) inverts the edit as applied, with what it deleted there.
func TestApplyInverseTransformed(t *testing.T) {
	x := text.New("hello world")
	old := x.Version()
	mine := x.Replace(6, 5, "there") // made on version 0
	apply(t, x, "other", x.Insert(0, ">> "))
	before := x.String()
	inv, err := x.ApplyInverse(aper.Event[text.Edit]{Seq: x.Version() + 1, Client: "me", Transition: mine})
	if err != nil || mine.Base != old {
		t.Fatal(err)
	}
	if got, want := x.String(), ">> hello there"; got != want {
		t.Fatalf("after the edit: %q, want %q", got, want)
	}
	undoEdit(t, x, "me", inv)
	if got := x.String(); got != before {
		t.Errorf("after its inverse: %q, want %q", got, before)
	}
}
