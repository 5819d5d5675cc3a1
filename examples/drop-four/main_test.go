package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/examples/drop-four/dropfour"
	"github.com/aper-go/aper/fuzz"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	// O sleeps through its third turn, so the timer ends that turn. On a loaded machine the
	// timer may also end one of X's turns first; either is the server's timer at work.
	if err := run(context.Background(), &out, 500*time.Millisecond, 1); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"observer: both seats are taken: you can watch",
		"O tries to move first: illegal move conflict: not your turn",
		"the server's timer ended ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "X wins\n") && !strings.HasSuffix(s, "O wins\n") && !strings.HasSuffix(s, "a draw\n") {
		t.Errorf("the game did not end:\n%s", s)
	}
}

func at(client aper.ClientID, sec int64, m dropfour.Move) aper.Event[dropfour.Move] {
	return aper.Event[dropfour.Move]{Client: client, Time: time.Unix(sec, 0), Transition: m}
}

func TestRules(t *testing.T) {
	g := dropfour.NewGame(10 * time.Second)
	apertest.MustApply(t, g, at("x", 0, dropfour.Move{Op: "join"}))
	apertest.Conflicts(t, g, at("o", 1, dropfour.Move{Op: "drop"}), dropfour.IllegalMove) // no second player yet
	apertest.MustApply(t, g, at("o", 1, dropfour.Move{Op: "join"}))
	apertest.Conflicts(t, g, at("z", 1, dropfour.Move{Op: "join"}), dropfour.IllegalMove)
	apertest.Conflicts(t, g, at("o", 2, dropfour.Move{Op: "drop"}), dropfour.IllegalMove) // X's turn
	apertest.Conflicts(t, g, at("x", 2, dropfour.Move{Op: "drop", Column: 7}), dropfour.IllegalMove)
	apertest.Conflicts(t, g, at("", 5, dropfour.Move{Op: "timeout"}), dropfour.IllegalMove) // not due
	apertest.Conflicts(t, g, at("x", 20, dropfour.Move{Op: "timeout"}), dropfour.IllegalMove)

	m, due, ok := g.NextTimer()
	if !ok || m.Op != "timeout" || !due.Equal(time.Unix(11, 0)) {
		t.Fatalf("NextTimer = %v %v %v, want a timeout at 11s", m, due, ok)
	}
	apertest.MustApply(t, g, at("", 11, dropfour.Move{Op: "timeout"})) // X ran out of time
	// O plays column 0 four times and X column 1 in between: O wins.
	for i := range 4 {
		apertest.MustApply(t, g, at("o", int64(12+2*i), dropfour.Move{Op: "drop", Column: 0}))
		if g.Winner != "" {
			break
		}
		apertest.MustApply(t, g, at("x", int64(13+2*i), dropfour.Move{Op: "drop", Column: 1}))
	}
	if g.Winner != "O" {
		t.Fatalf("winner %q, want O:\n%s", g.Winner, g)
	}
	if _, _, ok := g.NextTimer(); ok {
		t.Fatal("a timer after the game ended")
	}
	apertest.Conflicts(t, g, at("x", 30, dropfour.Move{Op: "drop", Column: 2}), dropfour.IllegalMove)
	for _, got := range apertest.RoundTrip(t, g) {
		apertest.Equal(t, g, got)
	}
	apertest.RoundTrip(t, dropfour.Move{Op: "drop", Column: 3})
}

// genMove draws a move: mostly drops into any column (some illegal: out of turn, full column),
// sometimes a join (legal twice per game) or a client's forbidden timeout.
func genMove() gopter.Gen {
	return gen.Weighted([]gen.WeightedGen{
		{Weight: 8, Gen: gen.IntRange(0, dropfour.Cols-1).Map(func(c int) dropfour.Move { return dropfour.Move{Op: "drop", Column: c} })},
		{Weight: 2, Gen: gen.Const(dropfour.Move{Op: "join"})},
		{Weight: 1, Gen: gen.Const(dropfour.Move{Op: "timeout"})},
	})
}

// Replicas of a game converge whatever the network does: the fuzz harness runs a server and
// three clients over an in-memory network with random delivery, disconnects, partitions and a
// fake clock that makes the turn timer fire.
func TestGameConverges(t *testing.T) {
	fuzz.Check(t, "drop-four converges", fuzz.Config[*dropfour.Game, dropfour.Move]{
		New:        func() *dropfour.Game { return dropfour.NewGame(time.Second) },
		Transition: func(int, *dropfour.Game) gopter.Gen { return genMove() },
		Check: func(q fuzz.Quiescent[*dropfour.Game, dropfour.Move]) error {
			if x, o := strings.Count(q.Server.Cells, "X"), strings.Count(q.Server.Cells, "O"); x < o || x > o+1 {
				return fmt.Errorf("%d X and %d O on the board", x, o)
			}
			return nil
		},
	}, fuzz.Parameters(t, 30, 60, 1))
}
