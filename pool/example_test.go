package pool_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
)

// A three-column board whose cards are titles.
func Example() {
	type card = aper.Atom[string]
	board := pool.New[*card, aper.AtomTransition[string]]()
	apply := func(t pool.Transition[*card, aper.AtomTransition[string]]) error {
		return board.Apply(aper.On(t)) // in an application, a sync.Client sends it to the server
	}

	todo, t := board.AppendList("To do")
	_ = apply(t)
	doing, t := board.AppendList("Doing")
	_ = apply(t)
	done, t := board.AppendList("Done")
	_ = apply(t)

	docs, t := board.Append(todo, aper.NewAtom("Write the docs"))
	_ = apply(t)
	tests, t := board.Append(todo, aper.NewAtom("Fix the flaky test"))
	_ = apply(t)
	release, t := board.Append(todo, aper.NewAtom("Release 1.0"))
	_ = apply(t)

	// Moves between lists are atomic; several at once go through aper.Transaction.
	_ = apply(board.Move(tests, doing, list.End()))
	both := aper.Transaction[pool.Transition[*card, aper.AtomTransition[string]]]{
		board.Move(tests, done, list.End()),
		board.Move(docs, doing, list.End()),
	}
	board, _ = aper.ApplyTransaction(board, aper.On(both))
	_ = apply(board.MoveTo(release, todo, 0))
	_ = apply(board.RenameList(done, "Done ✓"))

	// A list that still holds cards cannot be removed unless the cards go somewhere.
	err := apply(board.RemoveList(todo))
	fmt.Println(errors.Is(err, pool.ErrNotEmpty), errors.Is(err, conflict.ErrNotFound))

	for id, name := range board.Lists() {
		var titles []string
		for _, c := range board.Objects(id) {
			titles = append(titles, c.Get())
		}
		fmt.Printf("%-7s %s\n", name+":", strings.Join(titles, ", "))
	}
	// Output:
	// true false
	// To do:  Release 1.0
	// Doing:  Write the docs
	// Done ✓: Fix the flaky test
}
