package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/list"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/tree"
	"github.com/aper-go/aper/undo"
)

// startServer serves rooms of the states that newState makes on a fresh memory network.
func startServer[S aper.StateMachine[S, T], T any](t *testing.T, newState func() S) (*apersync.Server[S, T], *memory.Network) {
	t.Helper()
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := apersync.NewServer(func(context.Context, string) (S, error) { return newState(), nil })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return srv, n
}

func dialAny[S aper.StateMachine[S, T], T any](t *testing.T, d transport.Dialer, opts ...apersync.ClientOption) *apersync.Client[S, T] {
	t.Helper()
	opts = append(opts, apersync.WithBackoff(time.Millisecond, 20*time.Millisecond))
	c, err := apersync.Dial[S, T](ctxT(t), d, "r", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// settle waits until every client is settled and at the server's Seq.
func settle[S aper.StateMachine[S, T], T any](t *testing.T, srv *apersync.Server[S, T], cs ...*apersync.Client[S, T]) {
	t.Helper()
	for _, c := range cs {
		if err := c.Settled(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	seq, err := srv.Seq(ctxT(t), "r")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := c.WaitSeq(ctxT(t), seq); err != nil {
			t.Fatal(err)
		}
	}
}

func mustDo[T any](t *testing.T, apply func(T) error, tr T) {
	t.Helper()
	if err := apply(tr); err != nil {
		t.Fatal(err)
	}
}

// Two clients type in one text; one undoes and redoes its own word while the other types
// after it, before and while the undo travels.
func TestUndoTextThroughServer(t *testing.T) {
	type tc = apersync.Client[*text.Text, text.Edit]
	srv, n := startServer[*text.Text, text.Edit](t, func() *text.Text { return text.New("hello world") })
	a := dialAny[*text.Text, text.Edit](t, n.DialerWith("server", &memory.DialOptions{From: "alice"}), apersync.WithUndo(nil))
	b := dialAny[*text.Text, text.Edit](t, n.Dialer("server"))
	want := func(s string, cs ...*tc) {
		t.Helper()
		settle(t, srv, a, b)
		for _, c := range cs {
			if got := c.State().String(); got != s {
				t.Fatalf("%s sees %q, want %q", c.ID(), got, s)
			}
		}
	}

	// a's word is ordered after b's comma, which a had not seen: its inverse, made on a's view,
	// is made again on the confirmed text.
	n.Partition("alice", "server", memory.Hold)
	mustDo(t, a.Apply, a.State().Insert(6, "big "))
	mustDo(t, b.Apply, b.State().Insert(5, ","))
	if err := b.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	n.Heal("alice", "server")
	want("hello, big world", a, b)
	mustDo(t, b.Apply, b.State().Insert(11, "new "))
	want("hello, big new world", a, b)

	mustDo(t, b.Apply, b.State().Insert(b.State().Len(), "!")) // not yet seen by a
	base := a.State().Base()
	r, err := a.Undo()
	if err != nil || len(r.Applied) != 1 || len(r.Conflicts) != 0 {
		t.Fatalf("Undo = %+v, %v", r, err)
	}
	// Applied is the edit as sent: re-expressed over the text as a saw it, not the inverse as
	// it was recorded (based on the version a's word was applied at).
	if got := r.Applied[0].Base; got != base {
		t.Fatalf("Undo applied an edit based on %d, a's text is at %d", got, base)
	}
	if err := r.Handles[0].Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	want("hello, new world!", a, b)

	if _, err := a.Redo(); err != nil {
		t.Fatal(err)
	}
	want("hello, big new world!", a, b)
	if _, err := b.Undo(); !errors.Is(err, apersync.ErrNoUndo) {
		t.Fatalf("Undo without WithUndo = %v", err)
	}
}

type (
	ulist = list.List[*aper.Counter, aper.CounterTransition]
	ult   = list.Transition[*aper.Counter, aper.CounterTransition]
)

func values(l *ulist) string {
	var b strings.Builder
	for _, v := range l.All() {
		b.WriteByte(byte('a' + v.Value()))
	}
	return b.String()
}

// Undo in a list takes back only the client's own inserts, groups by its interval, reports an
// undo whose item another client deleted as a conflict and goes on past it.
func TestUndoListThroughServer(t *testing.T) {
	srv, n := startServer[*ulist, ult](t, list.New[*aper.Counter, aper.CounterTransition])
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	a := dialAny[*ulist, ult](t, n.Dialer("server"), apersync.WithUndo(&undo.Options{Now: clock}))
	b := dialAny[*ulist, ult](t, n.Dialer("server"))
	want := func(s string) {
		t.Helper()
		settle(t, srv, a, b)
		for _, c := range []*apersync.Client[*ulist, ult]{a, b} {
			if got := values(c.State()); got != s {
				t.Fatalf("%s sees %q, want %q", c.ID(), got, s)
			}
		}
	}
	ins := func(c *apersync.Client[*ulist, ult], v int64) {
		_, tr := c.State().Append(aper.NewCounter(v))
		mustDo(t, c.Apply, tr)
	}

	ins(a, 0) // a: one step
	now = now.Add(time.Second)
	ins(a, 1) // a: b and c in one step, within the interval
	now = now.Add(100 * time.Millisecond)
	ins(a, 2)
	want("abc")
	ins(b, 3) // b's
	want("abcd")
	now = now.Add(time.Second)

	r, err := a.Undo()
	if err != nil || len(r.Applied) != 2 || r.Steps != 1 {
		t.Fatalf("Undo = %+v, %v; want one step of two", r, err)
	}
	want("ad")

	// b deletes a's first item: its undo conflicts, is skipped, and the stack goes on.
	id, _, _ := b.State().At(0)
	mustDo(t, b.Apply, b.State().Delete(id))
	want("d")
	now = now.Add(time.Second)
	ins(a, 4)
	now = now.Add(time.Second)
	want("de")
	r, err = a.Undo()
	if err != nil || len(r.Applied) != 1 {
		t.Fatalf("Undo = %+v, %v", r, err)
	}
	want("d")
	r, err = a.Undo()
	if err != nil || len(r.Applied) != 0 || len(r.Conflicts) != 1 || a.CanUndo() {
		t.Fatalf("Undo = %+v, %v; want the one conflict and an empty stack", r, err)
	}
	var cf *conflict.Conflict
	if !errors.As(r.Conflicts[0], &cf) {
		t.Fatalf("conflict %v is no *conflict.Conflict", r.Conflicts[0])
	}
	want("d")
}

// An undo of a tree move that others' moves since make a cycle is a cycle conflict, reported and
// skipped; the tree stays as the server ordered it.
func TestUndoTreeMoveCycleConflicts(t *testing.T) {
	srv, n := startServer[*ctree, ctt](t, tree.New[*aper.Counter, aper.CounterTransition])
	a := dialAny[*ctree, ctt](t, n.Dialer("server"), apersync.WithUndo(nil))
	b := dialAny[*ctree, ctt](t, n.Dialer("server"))
	x, tr := b.State().Append(tree.Root, aper.NewCounter(1))
	mustDo(t, b.Apply, tr)
	y, tr := b.State().Append(x, aper.NewCounter(2))
	mustDo(t, b.Apply, tr)
	settle(t, srv, a, b)

	mustDo(t, a.Apply, a.State().MoveUnder(y, tree.Root)) // a's: y out from under x
	settle(t, srv, a, b)
	mustDo(t, b.Apply, b.State().MoveUnder(x, y)) // b's: x under y
	settle(t, srv, a, b)

	r, err := a.Undo() // y back under x would put x under itself
	if err != nil || len(r.Applied) != 0 || len(r.Conflicts) != 1 || !errors.Is(r.Conflicts[0], conflict.ErrCycle) {
		t.Fatalf("Undo = %+v, %v; want one cycle conflict", r, err)
	}
	settle(t, srv, a, b)
	for _, c := range []*apersync.Client[*ctree, ctt]{a, b} {
		if p, _ := c.State().Parent(x); p != y {
			t.Fatalf("%s: x's parent %v, want y", c.ID(), p)
		}
	}
}
