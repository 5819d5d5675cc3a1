package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, 200*time.Millisecond, 1); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"observer: both seats are taken: you can watch",
		"O tries to move first: illegal move conflict: not your turn",
		"the server's timer ended O's turn",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "X wins\n") && !strings.HasSuffix(s, "O wins\n") && !strings.HasSuffix(s, "a draw\n") {
		t.Errorf("the game did not end:\n%s", s)
	}
}

func at(client aper.ClientID, sec int64, m Move) aper.Event[Move] {
	return aper.Event[Move]{Client: client, Time: time.Unix(sec, 0), Transition: m}
}

func TestRules(t *testing.T) {
	g := NewGame(10 * time.Second)
	apertest.MustApply(t, g, at("x", 0, Move{Op: "join"}))
	apertest.Conflicts(t, g, at("o", 1, Move{Op: "drop"}), IllegalMove) // no second player yet
	apertest.MustApply(t, g, at("o", 1, Move{Op: "join"}))
	apertest.Conflicts(t, g, at("z", 1, Move{Op: "join"}), IllegalMove)
	apertest.Conflicts(t, g, at("o", 2, Move{Op: "drop"}), IllegalMove) // X's turn
	apertest.Conflicts(t, g, at("x", 2, Move{Op: "drop", Column: 7}), IllegalMove)
	apertest.Conflicts(t, g, at("", 5, Move{Op: "timeout"}), IllegalMove) // not due
	apertest.Conflicts(t, g, at("x", 20, Move{Op: "timeout"}), IllegalMove)

	m, due, ok := g.NextTimer()
	if !ok || m.Op != "timeout" || !due.Equal(time.Unix(11, 0)) {
		t.Fatalf("NextTimer = %v %v %v, want a timeout at 11s", m, due, ok)
	}
	apertest.MustApply(t, g, at("", 11, Move{Op: "timeout"})) // X ran out of time
	// O plays column 0 four times and X column 1 in between: O wins.
	for i := range 4 {
		apertest.MustApply(t, g, at("o", int64(12+2*i), Move{Op: "drop", Column: 0}))
		if g.Winner != "" {
			break
		}
		apertest.MustApply(t, g, at("x", int64(13+2*i), Move{Op: "drop", Column: 1}))
	}
	if g.Winner != "O" {
		t.Fatalf("winner %q, want O:\n%s", g.Winner, g)
	}
	if _, _, ok := g.NextTimer(); ok {
		t.Fatal("a timer after the game ended")
	}
	apertest.Conflicts(t, g, at("x", 30, Move{Op: "drop", Column: 2}), IllegalMove)
	for _, got := range apertest.RoundTrip(t, g) {
		apertest.Equal(t, g, got)
	}
	apertest.RoundTrip(t, Move{Op: "drop", Column: 3})
}
