package rooms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	apersync "github.com/aper-go/aper/sync"
)

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		room  string
		lines []string
		want  string
	}{
		{"counter", []string{"add 5", "add -2", "set 10", "add 1"}, "11"},
		{"text/a", []string{"append world", "insert 0 hello, ", "delete 5 1", "append !"}, `"hello world!"`},
		{"todo/b", []string{"add milk", "add eggs", "add tea", "move 3 1", "edit 2 oat milk", "delete 3"}, `1."tea" 2."oat milk"`},
		{"kanban/c", []string{"list To do", "list Done", "add 1 write", "add 1 test", "move 1 2", "add 2 plan", "delete 2"}, `1.To do: 1."test" | 2.Done: 2."plan"`},
	} {
		s, err := New(context.Background(), tc.room)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := KindOf(tc.room)
		for _, l := range tc.lines {
			tr, err := Parse(k, s, l)
			if err != nil {
				t.Fatalf("%s: %q: %v", tc.room, l, err)
			}
			apertest.MustApply(t, s, aper.On(tr))
		}
		if got := Describe(k, s); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.room, got, tc.want)
		}
		for _, got := range apertest.RoundTrip(t, s) {
			apertest.Equal(t, s, got)
		}
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(context.Background(), "chess/1"); !errors.Is(err, apersync.ErrNoRoom) || !strings.Contains(err.Error(), `room "chess/1"`) {
		t.Fatalf("a room of an unknown kind: %v, want an error naming it that matches sync.ErrNoRoom", err)
	}
	s := Empty(TodoKind)
	for _, l := range []string{"frobnicate", "delete 1", "move 1", "edit x y"} {
		if _, err := Parse(TodoKind, s, l); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", l, err)
		}
	}
	if _, err := Parse(Counter, Empty(Counter), "add many"); !errors.Is(err, ErrUsage) {
		t.Errorf("add many: %v", err)
	}
}
