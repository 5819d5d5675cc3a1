package sync_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
)

// A transition holding a string that is not valid UTF-8 cannot travel: the decoders refuse
// such text. Client.Apply and Server.Submit refuse it as Invalid and change nothing, so the
// client keeps its connection and the room's journal stays readable (it used to end the
// client for good, and a submitted one made the room unreadable from its journal).
func TestInvalidUTF8IsRefused(t *testing.T) {
	j := journal.NewMemory()
	srv, n := memoryServer(t, nil, apersync.WithJournal(j), apersync.WithSnapshotEvery(1))
	c := dial(t, n.Dialer("server"), "r")
	bad := m.Set("bad\xffkey", aper.NewCounter(1))

	err := c.Apply(bad)
	if cf := (*conflict.Conflict)(nil); !errors.As(err, &cf) || cf.Kind != conflict.Invalid {
		t.Fatalf("Apply: %v, want an Invalid conflict", err)
	}
	if c.Pending() != 0 || c.State().Len() != 0 {
		t.Fatalf("a refused Apply changed the view: %d pending, %d keys", c.Pending(), c.State().Len())
	}
	if _, err := srv.Submit(ctxT(t), "r", apersync.Identity{}, bad); !errors.Is(err, conflict.ErrInvalid) {
		t.Fatalf("Submit: %v, want an Invalid conflict", err)
	}

	mustApply(t, c, m.Set("good", aper.NewCounter(1)))
	if err := c.Sync(ctxT(t)); err != nil {
		t.Fatalf("the client after a refused transition: %v", err)
	}
	if _, err := srv.Submit(ctxT(t), "r", apersync.Identity{}, m.Set("good2", aper.NewCounter(2))); err != nil {
		t.Fatal(err)
	}
	// A server started anew on the journal reads the room back whole.
	srv2 := newMapServer(t, apersync.WithJournal(j))
	st, seq, err := srv2.Snapshot(ctxT(t), "r")
	if err != nil || seq != 2 || st.Len() != 2 {
		t.Fatalf("the room from its journal: seq %d, %v keys, %v; want seq 2 and 2 keys", seq, st, err)
	}
}

// A room's name is text: one that is not valid UTF-8 is refused by Dial as an invalid option,
// as an empty or an overlong one is, rather than by the server as a protocol error.
func TestDialRefusesNonUTF8RoomName(t *testing.T) {
	_, n := memoryServer(t, nil)
	for _, room := range []string{"bad\xff", "", string(make([]byte, 257))} {
		_, err := apersync.Dial[*cmap, cmt](context.Background(), n.Dialer("server"), room)
		if !errors.Is(err, apersync.ErrInvalidOption) {
			t.Errorf("Dial %q: %v, want ErrInvalidOption", room, err)
		}
	}
}

// A room the factory says does not exist refuses a Dial with a fatal error that matches
// ErrNoRoom; a factory that fails otherwise does not match it.
func TestDialNoRoom(t *testing.T) {
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
		if room == "broken" {
			return nil, errors.New("the store is down")
		}
		return nil, fmt.Errorf("room %q: %w", room, apersync.ErrNoRoom)
	})
	if err != nil {
		t.Fatal(err)
	}
	n := onMemory(t, nil, srv)
	for room, want := range map[string]bool{"nope": true, "broken": false} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := apersync.Dial[*cmap, cmt](ctx, n.Dialer("server"), room)
		cancel()
		var se *apersync.ServerError
		if !errors.As(err, &se) || errors.Is(err, apersync.ErrNoRoom) != want || (want && !se.Fatal) {
			t.Errorf("Dial %q: %v (%#v), want a server error that matches ErrNoRoom: %v", room, err, se, want)
		}
	}
}
