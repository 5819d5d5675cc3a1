package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "of the deleted card, ") {
		t.Fatalf("bob's edit of the deleted card was not refused:\n%s", s)
	}
	if !strings.Contains(s, ": not found conflict at Board/") {
		t.Fatalf("the conflict does not name the field:\n%s", s)
	}
	if !strings.Contains(s, "tag release") || strings.Contains(s[strings.Index(s, "after"):], "record demo") {
		t.Fatalf("unexpected board:\n%s", s)
	}
}

// The generated composition round-trips through both codecs, and a conflict in the board names
// the field in its path.
func TestProjectIsAStateMachine(t *testing.T) {
	p, err := newProject(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	todo := column(p, 0)
	id, tr := p.Board.Append(todo, aper.NewAtom("card"))
	apertest.MustApply(t, p, aper.On(p.UpdateBoard(tr)))
	for _, got := range apertest.RoundTrip(t, p) {
		apertest.Equal(t, p, got)
	}
	apertest.MustApply(t, p, aper.On(p.UpdateBoard(p.Board.Delete(id))))
	c := apertest.Conflicts(t, p, aper.On(p.UpdateBoard(p.Board.Delete(id))), conflict.NotFound)
	if len(c.Path) == 0 || c.Path[0] != "Board" {
		t.Fatalf("path %v, want it to start with Board", c.Path)
	}
}
