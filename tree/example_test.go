package tree_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
)

// A comment thread: each comment is a node whose value is its text, replies are its children.
func Example() {
	type text = aper.Atom[string]
	thread := tree.New[*text, aper.AtomTransition[string]]()
	// Constructors return the new node's id and a transition; Apply is what a server orders.
	q, tr := thread.Append(tree.Root, aper.NewAtom("Ship on Friday?"))
	_ = thread.Apply(aper.On(tr))
	yes, tr := thread.Append(q, aper.NewAtom("Yes, tests are green."))
	_ = thread.Apply(aper.On(tr))
	no, tr := thread.Append(q, aper.NewAtom("No: the docs are not done."))
	_ = thread.Apply(aper.On(tr))
	_, tr = thread.Append(no, aper.NewAtom("I can write them today."))
	_ = thread.Apply(aper.On(tr))
	other, tr := thread.Append(tree.Root, aper.NewAtom("Lunch?"))
	_ = thread.Apply(aper.On(tr))

	// Edit a comment (one call: no Get needed), and move a reply that landed in the wrong thread.
	_ = thread.Apply(aper.On(thread.Update(yes, aper.SetAtom("Yes, all tests are green."))))
	_ = thread.Apply(aper.On(thread.Move(other, q, list.Beginning())))

	// A comment cannot become a reply to its own reply.
	err := thread.Apply(aper.On(thread.Move(q, no, list.End())))
	fmt.Println(errors.Is(err, conflict.ErrCycle))

	for id, depth := range thread.Walk(tree.Root) {
		v, _ := thread.Get(id)
		fmt.Printf("%s%s\n", strings.Repeat("  ", depth-1), v.Get())
	}
	// Output:
	// true
	// Ship on Friday?
	//   Lunch?
	//   Yes, all tests are green.
	//   No: the docs are not done.
	//     I can write them today.
}

// A UI draws a tree as an outline with Nodes (each node with its depth and index), or sends it
// nested to a web page with Nested.
func ExampleTree_Nodes() {
	type text = aper.Atom[string]
	outline := tree.New[*text, aper.AtomTransition[string]]()
	add := func(parent uuid.UUID, s string) uuid.UUID {
		id, tr := outline.Append(parent, aper.NewAtom(s))
		_ = outline.Apply(aper.On(tr))
		return id
	}
	plan := add(tree.Root, "Plan")
	add(plan, "Scope")
	ship := add(tree.Root, "Ship")
	review := add(tree.Root, "Review")
	_ = outline.Apply(aper.On(outline.MoveUnder(review, ship)))

	for depth, n := range outline.Nodes(tree.Root) {
		fmt.Printf("%s%d. %s\n", strings.Repeat("   ", depth-1), n.Index+1, n.Value.Get())
	}
	b, _ := json.Marshal(outline.Nested(ship))
	fmt.Println(strings.ReplaceAll(string(b), review.String(), "<review>"))
	// Output:
	// 1. Plan
	//    1. Scope
	// 2. Ship
	//    1. Review
	// [{"id":"<review>","value":"Review","children":[]}]
}
