package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/text"
)

// exactlyOnce says NO when a transition is missing or doubled, or when the state is not what
// the confirmed transitions add up to, in each kind of room.
func TestExactlyOnceCatchesLossAndDoubling(t *testing.T) {
	todo := func(n int) *rooms.Room {
		l := list.New[*aper.Atom[string], aper.AtomTransition[string]]()
		for range n {
			_, tr := l.Append(aper.NewAtom("x"))
			if err := l.Apply(aper.On(tr)); err != nil {
				t.Fatal(err)
			}
		}
		return &rooms.Room{Todo: l}
	}
	cases := []struct {
		name             string
		room             rooms.Kind
		state            *rooms.Room
		seq              uint64
		rejected         int
		added            int64
		inserts, deletes int
		ok               bool
		want             string
	}{
		{"counter", rooms.Counter, &rooms.Room{Counter: aper.NewCounter(12)}, 9, 1, 12, 0, 0, true, "9 confirmed + 1 rejected = 10 applied; the counter grew by the sum"},
		{"counter lost", rooms.Counter, &rooms.Room{Counter: aper.NewCounter(12)}, 8, 1, 12, 0, 0, false, "8 confirmed + 1 rejected, but 10 applied"},
		{"counter doubled", rooms.Counter, &rooms.Room{Counter: aper.NewCounter(15)}, 9, 1, 12, 0, 0, false, "grew by 15, not by the sum of the confirmed adds, 12"},
		{"todo", rooms.TodoKind, todo(4), 10, 0, 0, 6, 2, true, "the list grew by the 6 confirmed inserts - 2 deletes"},
		{"todo doubled", rooms.TodoKind, todo(5), 10, 0, 0, 6, 2, false, "the list grew by 5 items, not by 6 inserted - 2 deleted"},
		{"text", rooms.Text, &rooms.Room{Text: text.New("abcde")}, 10, 0, 0, 7, 3, true, "in [7 inserted - 3 deleted, 7]"},
		{"text doubled", rooms.Text, &rooms.Room{Text: text.New("abcdefgh")}, 10, 0, 0, 7, 3, false, "grew by 8 letters, not between 7 inserted - 3 deleted and 7"},
		{"text empty room", rooms.Text, &rooms.Room{}, 10, 0, 0, 7, 3, false, "holds no text"},
	}
	for _, c := range cases {
		ok, why := exactlyOnce(simConfig{room: c.room, transitions: 10}, rooms.Empty(c.room), c.state, int(c.seq), c.rejected, c.added, c.inserts, c.deletes)
		if ok != c.ok || !strings.Contains(why, c.want) {
			t.Errorf("%s: %v, %q; want %v and %q", c.name, ok, why, c.ok, c.want)
		}
	}
}

// Against a running server, the room need not start empty: the check counts from its state
// before the run.
func TestExactlyOnceFromAStartingState(t *testing.T) {
	cfg := simConfig{room: rooms.Counter, transitions: 10}
	before := &rooms.Room{Counter: aper.NewCounter(100)}
	if ok, why := exactlyOnce(cfg, before, &rooms.Room{Counter: aper.NewCounter(112)}, 10, 0, 12, 0, 0); !ok {
		t.Errorf("from 100 to 112 by adds of 12: %s", why)
	}
	if ok, why := exactlyOnce(cfg, before, &rooms.Room{Counter: aper.NewCounter(12)}, 10, 0, 12, 0, 0); ok {
		t.Errorf("from 100 to 12 by adds of 12: %s", why)
	}
}

func TestParseServerURL(t *testing.T) {
	for _, c := range []struct{ in, tr, addr string }{
		{"ws://127.0.0.1:8080/aper", "ws", "ws://127.0.0.1:8080/aper"},
		{"ws://localhost:8080", "ws", "ws://localhost:8080/aper"},
		{"wss://example.com/rooms", "ws", "wss://example.com/rooms"},
		{"quic://127.0.0.1:8443", "quic", "127.0.0.1:8443"},
		{"quic://127.0.0.1:8443/x", "", ""},
		{"http://127.0.0.1:8080", "", ""},
		{"127.0.0.1:8080", "", ""},
	} {
		tr, addr, err := parseServerURL(c.in)
		if tr != c.tr || addr != c.addr || (c.tr == "") != errors.Is(err, errUsage) {
			t.Errorf("parseServerURL(%q) = %q, %q, %v; want %q, %q", c.in, tr, addr, err, c.tr, c.addr)
		}
	}
}

// The sim counts the rejections that reach their clients' channels after it started waiting for
// them: a client counts a transition resolved before its rejection can be received, and a
// drain that did not wait missed it (the sim then said a transition was lost). Missing ones are
// waited for until the grace ends, and a closed channel is left aside.
func TestAwaitRejectionsCountsLateOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := make(chan int), make(chan int), make(chan int)
		close(c)
		var got []int
		done := make(chan int)
		go func() {
			done <- awaitRejections(t.Context(), []<-chan int{a, b, c}, 2, time.Minute, func(i, r int) { got = append(got, 10*i+r) })
		}()
		synctest.Wait() // awaiting, with nothing received yet
		b <- 1
		synctest.Wait()
		a <- 2
		if n := <-done; n != 2 || !slices.Equal(got, []int{11, 2}) {
			t.Fatalf("received %d: %v; want 2: [11 2]", n, got)
		}

		got = nil
		start := time.Now()
		go func() {
			done <- awaitRejections(t.Context(), []<-chan int{a, b, c}, 2, time.Minute, func(i, r int) { got = append(got, 10*i+r) })
		}()
		synctest.Wait()
		a <- 3
		if n := <-done; n != 1 || !slices.Equal(got, []int{3}) || time.Since(start) != time.Minute {
			t.Fatalf("received %d: %v after %v; want 1: [3] after the grace, 1m", n, got, time.Since(start))
		}

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if n := awaitRejections(ctx, []<-chan int{a}, 1, time.Minute, func(int, int) {}); n != 0 {
			t.Fatalf("received %d after the context ended", n)
		}
	})
}
