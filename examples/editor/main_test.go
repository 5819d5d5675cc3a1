package main

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, 0); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := "final: \"Dear reader, ‸bobHello world again‸alice\"\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Fatalf("want the output to end with %q:\n%s", want, out.String())
	}
}

// TestCursorsExact: while alice types at the end and bob at the start, with their messages and
// carol's delivered in random orders, every frame carol draws has each cursor right after the
// character its owner had just typed when publishing it, or, while carol does not have that
// character yet, right after the owner's last one she has.
func TestCursorsExact(t *testing.T) {
	for seed := range int64(8) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { cursorsExact(t, seed) })
		})
	}
}

func cursorsExact(t *testing.T, seed int64) {
	nw := memory.NewNetwork(&memory.Options{Manual: true})
	defer nw.Close()
	srv, err := apersync.NewServer(func(context.Context, string) (*text.Text, error) { return text.New(""), nil },
		apersync.WithRoomIdle(-1))
	if err != nil {
		t.Fatal(err)
	}
	l, err := nw.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ctx, l) }()
	defer func() { srv.Close(); cancel(); <-served }()
	deliverAll := func() {
		for {
			synctest.Wait()
			if nw.DeliverAll() == 0 {
				time.Sleep(100 * time.Millisecond) // the presence throttles
				synctest.Wait()
				if nw.DeliverAll() == 0 {
					return
				}
			}
		}
	}
	dial := func(name string) *client {
		d := transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
			return nw.DialWith(ctx, "server", &memory.DialOptions{From: name})
		})
		done := make(chan *client, 1)
		go func() {
			c, err := apersync.Dial[*text.Text, text.Edit](ctx, d, "notes")
			if err != nil {
				t.Error(err)
			}
			done <- c
		}()
		deliverAll()
		c := <-done
		if c == nil {
			t.FailNow()
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	alice, bob, carol := dial("alice"), dial("bob"), dial("carol")

	// What each typist typed, and how many characters it had typed when it published an anchor.
	type typist struct {
		c       *client
		name    string
		keys    []rune
		typed   int
		at      text.Anchor
		counted map[text.Anchor]int
	}
	a := &typist{c: alice, name: "alice", keys: []rune("abcdefghijklmnop"), counted: map[text.Anchor]int{}}
	b := &typist{c: bob, name: "bob", keys: []rune("0123456789"), counted: map[text.Anchor]int{}}
	press := func(ty *typist) {
		t.Helper()
		at, err := keystroke(ty.c, ty.name, ty.keys[ty.typed], ty.at)
		if err != nil {
			t.Fatalf("%s types: %v", ty.name, err)
		}
		ty.typed++
		ty.at, ty.counted[at] = at, ty.typed
	}
	if a.at, err = caret(alice, 0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		press(a)
	}
	deliverAll()
	if b.at, err = caret(bob, 0); err != nil {
		t.Fatal(err)
	}

	// check checks the frame carol draws now.
	placed := 0
	check := func(step string) {
		t.Helper()
		doc := carol.State()
		s := doc.String()
		lb := len(strings.TrimLeft(s, "0123456789")) // bob's characters are the leading digits
		lb = len(s) - lb
		for _, p := range carol.Presence() {
			var cur Cursor
			if err := p.Decode(&cur); err != nil {
				t.Fatal(err)
			}
			ms := marks(doc, []apersync.Presence{p})
			if len(ms) == 0 {
				continue // carol is behind the anchor's version: no cursor this frame
			}
			var want int
			switch cur.Name {
			case "bob":
				want = min(b.counted[cur.At], lb)
			case "alice":
				want = lb + min(a.counted[cur.At], len(s)-lb)
			}
			if ms[0].pos != want {
				t.Fatalf("after %s carol draws %s's cursor at %d of %q, want %d (%s)", step, cur.Name, ms[0].pos, s, want, render(carol))
			}
			placed++
		}
	}
	rng := rand.New(rand.NewSource(seed))
	for i := 0; a.typed < len(a.keys) || b.typed < len(b.keys); i++ {
		var step string
		switch x := rng.Intn(10); {
		case x < 2 && a.typed < len(a.keys):
			press(a)
			step = "alice's keystroke"
		case x < 4 && b.typed < len(b.keys):
			press(b)
			step = "bob's keystroke"
		case x < 5:
			time.Sleep(30 * time.Millisecond)
			step = "30ms"
		default:
			if ps := nw.Pending(); len(ps) > 0 {
				m := ps[rng.Intn(len(ps))]
				// Each connection delivers in order: the oldest message of a random link.
				for _, o := range ps {
					if o.Conn == m.Conn && o.From == m.From {
						m = o
						break
					}
				}
				if err := nw.Deliver(m.ID); err != nil {
					t.Fatal(err)
				}
				step = fmt.Sprintf("a message from %s to %s", m.From, m.To)
			}
		}
		synctest.Wait()
		check(step)
	}
	deliverAll()
	check("everything delivered")
	if got, want := carol.State().String(), "0123456789abcdefghijklmnop"; got != want {
		t.Fatalf("carol has %q, want %q", got, want)
	}
	if placed < 20 {
		t.Fatalf("only %d cursors placed in all frames", placed)
	}
}
