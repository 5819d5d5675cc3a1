package browser_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/browser"
	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/websocket"
)

type counterKind = browser.Kind[*aper.Counter, aper.CounterTransition]

// serveCounters serves rooms of counters over WebSocket and returns its URL.
func serveCounters(t *testing.T) string {
	t.Helper()
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := apersync.NewServer(func(context.Context, string) (*aper.Counter, error) { return aper.NewCounter(0), nil })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // ends when srv closes
		defer close(done)
		_ = srv.Serve(context.Background(), l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
		l.Close()
	})
	return "ws://" + l.Addr().String()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func state(t *testing.T, s *browser.Session) string {
	t.Helper()
	b, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitState waits until the session's state is want.
func waitState(t *testing.T, s *browser.Session, want string) {
	t.Helper()
	ctx := ctxT(t)
	for state(t, s) != want {
		select {
		case <-s.Changes():
		case <-ctx.Done():
			t.Fatalf("state %s, want %s", state(t, s), want)
		}
	}
}

// A session applies a page's JSON, shows the state as JSON, and reports a conflict as an error
// that errors.As finds; through a Link, every frame is reported with its type.
func TestSessionThroughLink(t *testing.T) {
	url := serveCounters(t)
	var mu sync.Mutex
	var types []string
	link := browser.NewLink(websocket.Dialer(url, &websocket.DialOptions{Codec: "json"}), func(f browser.Frame) {
		mu.Lock()
		types = append(types, f.Dir+" "+f.Type)
		mu.Unlock()
	})
	defer link.Close()
	a, err := counterKind{}.Open(ctxT(t), link, "r")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := counterKind{}.Open(ctxT(t), websocket.Dialer(url, &websocket.DialOptions{Codec: "json"}), "r")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if err := a.Apply(json.RawMessage(`{"op": 1, "n": 5}`)); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, `5`)
	err = a.Apply(json.RawMessage(`{"op": 1, "n": 9223372036854775807}`))
	var c *conflict.Conflict
	if !errors.As(err, &c) {
		t.Fatalf("an overflow applied: %v", err)
	}
	if err := a.Apply(json.RawMessage(`{"op": 1, "n": "x"}`)); !errors.Is(err, browser.ErrAction) {
		t.Fatalf("a malformed action: %v, want ErrAction", err)
	}
	ctx := ctxT(t)
	for a.Pending() > 0 { // until the server confirmed the add
		select {
		case <-a.Changes():
		case <-ctx.Done():
			t.Fatal("the add was never confirmed")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"up hello", "down welcome", "up submit", "down confirmed"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %q frame among %q", want, types)
		}
	}
}

// waitStatus waits until the session's connection state is want.
func waitStatus(t *testing.T, s *browser.Session, want apersync.ConnState) {
	t.Helper()
	ctx := ctxT(t)
	for s.Status().State != want {
		select {
		case <-s.StatusChanges():
		case <-ctx.Done():
			t.Fatalf("status %v, want %v", s.Status().State, want)
		}
	}
}

func openCounter(t *testing.T, d transport.Dialer) *browser.Session {
	t.Helper()
	s, err := counterKind{}.Open(ctxT(t), d, "r", apersync.WithBackoff(time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func add(t *testing.T, s *browser.Session, n int) {
	t.Helper()
	if err := s.Apply(json.RawMessage(fmt.Sprintf(`{"op": 1, "n": %d}`, n))); err != nil {
		t.Fatal(err)
	}
}

// A partitioned client keeps its changes and sends them when the Link heals; a dropped frame
// breaks the connection, and the client's change still counts exactly once.
func TestLinkFaults(t *testing.T) {
	url := serveCounters(t)
	ws := websocket.Dialer(url, &websocket.DialOptions{Codec: "json"})
	var mu sync.Mutex
	var dropped []string
	link := browser.NewLink(ws, func(f browser.Frame) {
		if f.Dropped {
			mu.Lock()
			dropped = append(dropped, f.Dir+" "+f.Type)
			mu.Unlock()
		}
	})
	defer link.Close()
	a, b := openCounter(t, link), openCounter(t, ws)

	link.Partition()
	waitStatus(t, a, apersync.Disconnected)
	if !link.Partitioned() {
		t.Fatal("Partitioned is false after Partition")
	}
	add(t, a, 1)
	add(t, b, 10)
	waitState(t, b, "10")
	if got := state(t, a); got != "1" {
		t.Fatalf("a partitioned client shows %s, want its own change only, 1", got)
	}
	link.Heal()
	waitState(t, a, "11")
	waitState(t, b, "11")

	link.DropNext()
	add(t, a, 100) // its submit is lost with its connection; the client sends it again
	waitState(t, b, "111")
	waitState(t, a, "111")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dropped) != 1 { // the submit, unless a ping passed first
		t.Fatalf("dropped frames %q, want one", dropped)
	}
}

// A delayed Link still delivers everything, in order.
func TestLinkDelay(t *testing.T) {
	url := serveCounters(t)
	ws := websocket.Dialer(url, &websocket.DialOptions{Codec: "json"})
	link := browser.NewLink(ws, nil)
	defer link.Close()
	a, b := openCounter(t, link), openCounter(t, ws)
	link.SetDelay(20 * time.Millisecond)
	for range 5 {
		add(t, a, 1)
		add(t, b, 2)
	}
	waitState(t, a, "15")
	waitState(t, b, "15")
}
