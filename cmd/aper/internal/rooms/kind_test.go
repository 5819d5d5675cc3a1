package rooms

import (
	"context"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
)

// transitionOf returns a transition of a room of kind k that applies to an empty room of k.
func transitionOf(t *testing.T, k Kind) RoomTransition {
	t.Helper()
	s := Empty(k)
	line := map[Kind]string{Counter: "add 6", Text: "append hello", TodoKind: "add milk", Kanban: "list To do", DropFour: "join"}[k]
	tr, err := Parse(k, s, line)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// A room holds only what its kind allows: a transition of another kind is an Invalid conflict
// naming the field, and the room encodes as before (nothing journaled, nothing in a snapshot).
func TestRoomRejectsAnotherKind(t *testing.T) {
	for _, k := range Kinds {
		for _, other := range Kinds {
			s := Empty(k)
			// From a client: a drop-four room seats clients, not server events.
			apertest.MustApply(t, s, aper.Event[RoomTransition]{Client: "tester", Transition: transitionOf(t, k)})
			if other == k {
				continue
			}
			cf := apertest.Conflicts(t, s, aper.Event[RoomTransition]{Client: "tester", Transition: transitionOf(t, other)}, conflict.Invalid)
			if len(cf.Path) != 1 {
				t.Errorf("a %s transition in a %s room: path %v", other, k, cf.Path)
			}
		}
	}
}

// anyRoom is the state of a hostile client: it applies every transition, so the client sends
// whatever it is given.
type anyRoom struct{}

func (*anyRoom) Apply(aper.Event[RoomTransition]) error { return nil }
func (a *anyRoom) Clone() *anyRoom                      { return a }

// Through a server: a client that sends a text to a counter room gets a rejection, and the
// room's state, as the server snapshots it and as a new client receives it, is the counter
// alone.
func TestServerRejectsAnotherKind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := apersync.NewServer(New)
	if err != nil {
		t.Fatal(err)
	}
	network := memory.NewNetwork(nil)
	defer network.Close()
	l, err := network.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { // ended by srv.Close and waited for below
		defer close(served)
		srv.Serve(context.Background(), l)
	}()
	defer func() { srv.Close(); <-served }()

	hostile, err := apersync.Dial[*anyRoom, RoomTransition](ctx, network.Dialer("server"), "counter/x")
	if err != nil {
		t.Fatal(err)
	}
	defer hostile.Close()
	for _, k := range []Kind{Text, TodoKind, Counter} {
		if err := hostile.Apply(transitionOf(t, k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []Kind{Text, TodoKind} {
		select {
		case r := <-hostile.Rejections():
			if r.Conflict == nil || r.Conflict.Kind != conflict.Invalid {
				t.Fatalf("the %s transition: rejected with %v, want an Invalid conflict", k, r.Err)
			}
		case <-ctx.Done():
			t.Fatalf("no rejection of the %s transition", k)
		}
	}
	if err := hostile.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	state, seq, err := srv.Snapshot(ctx, "counter/x")
	if err != nil {
		t.Fatal(err)
	}
	if seq != 1 || state.Text != nil || state.Todo != nil || state.Counter == nil || state.Counter.Value() != 6 {
		t.Fatalf("the room at seq %d holds %+v; want the counter 6 alone at seq 1", seq, state)
	}
	c, err := apersync.Dial[*Room, RoomTransition](ctx, network.Dialer("server"), "counter/x")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	apertest.Equal(t, state, c.State())
}
