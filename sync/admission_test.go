package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	"github.com/aper-go/aper/transport/memory"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  stdsync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// counterServer serves counter rooms on a fresh memory network, with the server's clock set to
// clock when it is not nil.
func counterServer(t *testing.T, clock *fakeClock, opts ...ServerOption) (*Server[*aper.Counter, aper.CounterTransition], *memory.Network) {
	t.Helper()
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		srv.cfg.now = clock.Now
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, n
}

// joinAs joins room as the client holding key, from the memory address from; it closes the
// connection at the end of the test and returns the refusal, if any.
func joinAs(t *testing.T, n *memory.Network, from, key, room string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := rawJoin(ctx, n.DialerWith("server", &memory.DialOptions{From: from}), room, key)
	if err != nil {
		var se *ServerError
		if !errors.As(err, &se) {
			t.Fatalf("join %q: %v", room, err)
		}
		return err
	}
	t.Cleanup(func() { p.conn.Close() })
	return nil
}

func wantNewRoomsRefusal(t *testing.T, err error, what string) {
	t.Helper()
	var se *ServerError
	if !errors.As(err, &se) || se.Code != codeNewRooms || se.Fatal || !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want a non-fatal %q refusal matching ErrLimit", err, codeNewRooms)
	}
	if want := "this " + what + " loaded"; !strings.Contains(se.Message, want) {
		t.Fatalf("refusal %q does not say %q", se.Message, want)
	}
}

const (
	keyA = "key-of-client-a-0123456789"
	keyB = "key-of-client-b-0123456789"
)

// A client may load only so many rooms per minute; loaded rooms do not count, the budget
// refills over the minute, and another client has its own.
func TestNewRoomsPerClient(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	_, n := counterServer(t, clock, WithNewRoomsPerMinute(3, 0))
	for i := range 3 {
		if err := joinAs(t, n, "a1", keyA, fmt.Sprintf("r%d", i)); err != nil {
			t.Fatalf("room %d: %v", i, err)
		}
	}
	wantNewRoomsRefusal(t, joinAs(t, n, "a2", keyA, "r3"), "client")
	if err := joinAs(t, n, "a3", keyA, "r0"); err != nil {
		t.Fatalf("a loaded room: %v", err)
	}
	if err := joinAs(t, n, "b", keyB, "r3"); err != nil {
		t.Fatalf("another client: %v", err)
	}
	clock.Add(20 * time.Second) // one room's worth of the minute
	if err := joinAs(t, n, "a4", keyA, "r4"); err != nil {
		t.Fatalf("after 20s: %v", err)
	}
	wantNewRoomsRefusal(t, joinAs(t, n, "a5", keyA, "r5"), "client")
}

// A client without an authenticated identity can make keys at will: its address has a budget
// too. An identity given by the authentication hook is counted by itself, not by its address.
func TestNewRoomsPerAddress(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	_, n := counterServer(t, clock, WithNewRoomsPerMinute(10, 2))
	key := func(i int) string { return fmt.Sprintf("a-fresh-key-for-each-join-%d", i) }
	for i := range 2 {
		if err := joinAs(t, n, "attacker", key(i), fmt.Sprintf("spam/%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	wantNewRoomsRefusal(t, joinAs(t, n, "attacker", key(2), "spam/2"), "address")
	if err := joinAs(t, n, "honest", keyB, "spam/2"); err != nil {
		t.Fatalf("another address: %v", err)
	}

	_, n = counterServer(t, clock, WithNewRoomsPerMinute(3, 1), WithAuth(func(ctx context.Context, r AuthRequest) (Identity, error) {
		return Identity{Client: aper.ClientID(r.Token)}, nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 4 {
		d := n.DialerWith("server", &memory.DialOptions{From: "office"})
		c, err := Dial[*aper.Counter, aper.CounterTransition](ctx, d, fmt.Sprintf("doc/%d", i), WithToken("alice"))
		if i == 3 {
			if err == nil {
				c.Close()
			}
			wantNewRoomsRefusal(t, err, "client")
			break
		}
		if err != nil {
			t.Fatalf("an authenticated client's room %d: %v", i, err)
		}
		defer c.Close()
	}
}

// The bounds are options that validate, and the server has them by default.
func TestRoomLimitOptions(t *testing.T) {
	srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) { return aper.NewCounter(0), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.cfg.maxRooms != DefaultMaxRooms || srv.cfg.newRoomsPerClient != DefaultNewRoomsPerClient || srv.cfg.newRoomsPerAddr != DefaultNewRoomsPerAddress {
		t.Fatalf("defaults: max rooms %d, new rooms %d per client and %d per address", srv.cfg.maxRooms, srv.cfg.newRoomsPerClient, srv.cfg.newRoomsPerAddr)
	}
	for _, o := range []ServerOption{WithMaxRooms(-1), WithNewRoomsPerMinute(-1, 0), WithNewRoomsPerMinute(0, -1)} {
		if _, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) { return aper.NewCounter(0), nil }, o); !errors.Is(err, ErrInvalidOption) {
			t.Fatalf("got %v, want ErrInvalidOption", err)
		}
	}
}

// A room that a client joined but where nothing was ordered leaves nothing in the journal's
// folder; a room with a transition does.
func TestEmptyRoomLeavesNothingOnDisk(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	srv, n := counterServer(t, nil, WithJournal(j))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, room := range []string{"counter/empty", "counter/full"} {
		p, err := rawJoin(ctx, n.Dialer("server"), room, keyA)
		if err != nil {
			t.Fatal(err)
		}
		if room == "counter/full" {
			if err := submitRaw(ctx, p, 1, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if err := leaveRaw(ctx, srv, p, room); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close()
	rooms, err := j.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "rooms"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || rooms[0] != "counter/full" || len(ents) != 1 {
		t.Fatalf("the journal holds rooms %q in %d folders, want only counter/full", rooms, len(ents))
	}
}
