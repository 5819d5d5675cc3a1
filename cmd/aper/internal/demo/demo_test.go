package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/aper-go/aper/cmd/aper/internal/rooms"
)

func key(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func newModel(t *testing.T, k rooms.Kind) *Model {
	t.Helper()
	m, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// settle delivers every message until cond holds for the model, waiting for the next message
// (or the clients' reaction to the last one) in between; it fails after 10s.
func settle(t *testing.T, m *Model, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		m.Update(key("enter"))
		if cond() {
			return
		}
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Millisecond)
		m.net.WaitPending(wctx, 1)
		wcancel()
		if ctx.Err() != nil {
			t.Fatalf("%s: not reached; the view is:\n%s", what, m.View())
		}
	}
}

func TestOptimisticThenConfirmed(t *testing.T) {
	m := newModel(t, rooms.TodoKind)
	m.Update(key("1"))
	v := m.View()
	if !strings.Contains(v, `view: 1."alice's item 1"`) || !strings.Contains(v, "pending: 1") {
		t.Fatalf("alice's item is not in her view at once:\n%s", v)
	}
	if !strings.Contains(v, "state: (empty)") {
		t.Fatalf("the server has the item before anything was delivered:\n%s", v)
	}
	m.Update(key("8"))
	settle(t, m, "both items confirmed everywhere", func() bool {
		a, b := m.sides[0].c, m.sides[1].c
		return m.serverSeq == 2 && a.Seq() == 2 && b.Seq() == 2 && a.Pending() == 0 && b.Pending() == 0
	})
	v = m.View()
	a, b := rooms.Describe(m.kind, m.sides[0].c.State()), rooms.Describe(m.kind, m.sides[1].c.State())
	if a != m.serverState || b != m.serverState || !strings.Contains(a, "alice's item 1") || !strings.Contains(a, "bob's item 1") {
		t.Fatalf("alice (%s), the server (%s) and bob (%s) differ:\n%s", a, m.serverState, b, v)
	}
	if !strings.Contains(v, "delivered") || !strings.Contains(v, "submit") || !strings.Contains(v, "confirmed") {
		t.Fatalf("the log does not show the frames that passed:\n%s", v)
	}
}

func TestConcurrentDeleteIsRejected(t *testing.T) {
	m := newModel(t, rooms.TodoKind)
	m.Update(key("1"))
	settle(t, m, "the item confirmed", func() bool {
		return m.sides[0].c.Pending() == 0 && m.sides[1].c.Seq() == 1
	})
	m.Update(key("2")) // alice deletes the first item...
	m.Update(key("9")) // ...and so does bob, before he hears of hers
	settle(t, m, "one delete rejected", func() bool {
		return m.sides[0].rejections+m.sides[1].rejections == 1 && m.sides[0].c.Pending() == 0 && m.sides[1].c.Pending() == 0
	})
	if v := m.View(); !strings.Contains(v, "REJECTED") || !strings.Contains(v, "not found") {
		t.Fatalf("the rejection is not shown:\n%s", v)
	}
}

func TestPartitionHoldsAndHealDelivers(t *testing.T) {
	m := newModel(t, rooms.Counter)
	m.Update(key("p")) // partition alice
	m.Update(key("1"))
	m.Update(key("enter"))
	if v := m.View(); !strings.Contains(v, "partitioned") || m.serverSeq != 0 {
		t.Fatalf("alice's add got through the partition:\n%s", v)
	}
	m.Update(key("a")) // auto delivery
	m.Update(key("p")) // heal
	settle(t, m, "alice's add reaches bob after the heal", func() bool {
		m.Update(TickMsg{})
		return m.sides[1].c.State().Counter.Value() == 1 && m.sides[0].c.Pending() == 0
	})
}

func TestCutReconnectsAndResends(t *testing.T) {
	m := newModel(t, rooms.Counter)
	m.Update(key("2")) // alice adds 10
	m.Update(key("x")) // its submit is dropped on the way
	m.Update(key("c")) // cut her connection: she reconnects and resends
	settle(t, m, "the add applied once", func() bool {
		return m.serverSeq == 1 && m.sides[0].c.Pending() == 0 && m.sides[1].c.Seq() == 1
	})
	if got := m.sides[1].c.State().Counter.Value(); got != 10 {
		t.Fatalf("bob sees %d, want 10", got)
	}
}

// The view fits the terminal it is told of: no line wider than it, no more lines than it has,
// the panels side by side on a wide one and stacked on a narrow one, and the keys' help
// wrapped rather than one long line.
func TestViewFitsTheTerminal(t *testing.T) {
	m := newModel(t, rooms.TodoKind)
	for range 6 {
		m.Update(key("1"))
		m.Update(key("8"))
	}
	settle(t, m, "the items confirmed", func() bool {
		return m.serverSeq == 12 && m.sides[0].c.Pending() == 0 && m.sides[1].c.Pending() == 0
	})
	m.Update(key("2")) // alice and bob delete the same item: one is rejected
	m.Update(key("9"))
	settle(t, m, "one delete rejected", func() bool {
		return m.sides[0].rejections+m.sides[1].rejections == 1 && m.sides[0].c.Pending() == 0 && m.sides[1].c.Pending() == 0
	})
	m.Update(key("p")) // partition alice, and leave both sides' transitions waiting
	m.Update(key("1"))
	m.Update(key("3"))
	m.Update(key("8"))
	m.Update(key("0"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.net.WaitPending(ctx, 1) // bob's submits
	m.Update(TickMsg{})
	if len(m.pending) == 0 {
		t.Fatal("no message waits; the view would not show the list")
	}
	for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 24}, {Width: 160, Height: 40}, {Width: 109, Height: 30}, {Width: 110, Height: 30}} {
		m.Update(size)
		v := m.View()
		lines := strings.Split(v, "\n")
		if len(lines) > size.Height {
			t.Errorf("%dx%d: %d lines:\n%s", size.Width, size.Height, len(lines), v)
		}
		for i, l := range lines {
			if w := lipgloss.Width(l); w > size.Width {
				t.Errorf("%dx%d: line %d is %d wide: %q", size.Width, size.Height, i+1, w, l)
			}
		}
		for _, want := range []string{"alice", "bob", "server", "waiting on the network", "what happened", "q: quit", "last: not found", "pending: 2"} {
			if !strings.Contains(v, want) {
				t.Errorf("%dx%d: no %q in the view:\n%s", size.Width, size.Height, want, v)
			}
		}
		sideBySide := false
		for _, l := range lines {
			if strings.Contains(l, "alice") && strings.Contains(l, "server") && strings.Contains(l, "bob") {
				sideBySide = true
			}
		}
		if wide := size.Width >= WideWidth; sideBySide != wide {
			t.Errorf("%dx%d: panels side by side %v, want %v:\n%s", size.Width, size.Height, sideBySide, wide, v)
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("%dx%d:\n%s", size.Width, size.Height, v)
		}
		if t.Failed() {
			return
		}
	}
}
