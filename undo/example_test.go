package undo_test

import (
	"fmt"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/undo"
)

// A user types a word into a shared text while another user types after it; undo takes back
// the user's own word only, and redo puts it back.
func Example() {
	doc := text.New("hello world")
	now := time.Unix(0, 0)
	m := undo.New[text.Edit](&undo.Options{Now: func() time.Time { return now }})
	var seq uint64
	event := func(c aper.ClientID) func(text.Edit) aper.Event[text.Edit] {
		return func(e text.Edit) aper.Event[text.Edit] {
			seq++
			return aper.Event[text.Edit]{Seq: seq, Client: c, Transition: e}
		}
	}
	me, other := event("me"), event("other")

	// My edit: applied with ApplyInverse, its inverse recorded.
	inv, _ := doc.ApplyInverse(me(doc.Insert(6, "big ")))
	m.Record(inv)
	// Another user's, later: not mine to undo.
	_ = doc.Apply(other(doc.Insert(10, "new ")))
	fmt.Println(doc)

	apply := undo.Applier(doc, m, me) // a sync client passes its own Apply instead
	r, _ := m.Undo(apply)
	fmt.Println(doc, len(r.Applied), len(r.Conflicts))
	_, _ = m.Redo(apply)
	fmt.Println(doc)
	// Output:
	// hello big new world
	// hello new world 1 0
	// hello big new world
}
