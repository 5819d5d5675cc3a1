// Command editor is a shared text document (package text) with presence cursors: alice and bob
// type into one document at once over WebSocket, each client publishes its cursor as a presence
// value (unordered, not part of the state, gone when the client leaves), and a third client,
// carol, draws the document with everybody's cursor in the terminal.
//
// Run it from the repository root:
//
//	go run ./examples/editor [-delay 40ms]
//
// Alice types "Hello world", then goes on typing " again" at the end while bob types
// "Dear reader, " at the start. Each keystroke is applied at once on the typist's replica; the
// server orders them, operational transformation keeps each typist's words contiguous, and every
// replica ends with "Dear reader, Hello world again".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport/websocket"
)

type client = apersync.Client[*text.Text, text.Edit]

// Cursor is a client's presence value: who it is and where its cursor is, as a position in the
// text at Version (a viewer at a later version moves it with Text.TransformIndex).
type Cursor struct {
	Name    string `json:"name" cbor:"1,keyasint"`
	Pos     int    `json:"pos" cbor:"2,keyasint"`
	Version uint64 `json:"v" cbor:"3,keyasint"`
}

func main() {
	delay := flag.Duration("delay", 40*time.Millisecond, "time between two keystrokes")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *delay); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, delay time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*text.Text, error) {
		return text.New(""), nil
	})
	if err != nil {
		return err
	}
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		return err
	}
	go srv.Serve(ctx, l) // returns when Close (deferred below) closes the listener
	defer srv.Close()
	url := "ws://" + l.Addr().String()
	dial := func() (*client, error) {
		return apersync.Dial[*text.Text, text.Edit](ctx, websocket.Dialer(url, nil), "notes")
	}
	alice, err := dial()
	if err != nil {
		return err
	}
	defer alice.Close()
	bob, err := dial()
	if err != nil {
		return err
	}
	defer bob.Close()
	carol, err := dial()
	if err != nil {
		return err
	}
	defer carol.Close()

	// Carol draws the document with the cursors; once typed is closed, she stops when she has
	// everybody's final cursor.
	typed := make(chan struct{})
	viewDone := make(chan struct{})
	go func() { // owned here: run waits for it below, or cancels it through ctx
		defer close(viewDone)
		view(ctx, w, carol, typed)
	}()
	defer func() { cancel(); <-viewDone }()

	// Alice types alone, then both type at once.
	if _, err := typeAt(ctx, alice, "alice", "Hello world", end, delay); err != nil {
		return err
	}
	if err := settle(ctx, alice, bob); err != nil { // carol's channels are the view's alone
		return err
	}
	type result struct {
		n   int
		err error
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	go func() { n, err := typeAt(ctx, alice, "alice", " again", end, delay); ra <- result{n, err} }()
	go func() { n, err := typeAt(ctx, bob, "bob", "Dear reader, ", start, delay); rb <- result{n, err} }()
	a, b := <-ra, <-rb
	if err := errors.Join(a.err, b.err); err != nil {
		return err
	}
	if err := settle(ctx, alice, bob); err != nil {
		return err
	}
	// Everybody is at the same version now: publish the final cursors there.
	for _, x := range []struct {
		c     *client
		name  string
		where func(*text.Text, int) int
		n     int
	}{{alice, "alice", end, a.n}, {bob, "bob", start, b.n}} {
		t := x.c.State()
		if err := x.c.SetPresence(Cursor{Name: x.name, Pos: x.where(t, x.n), Version: t.Version()}); err != nil {
			return err
		}
	}
	close(typed)
	select {
	case <-viewDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, c := range []*client{alice, bob} {
		if c.State().String() != carol.State().String() {
			return errors.New("editor: the replicas differ")
		}
	}
	return nil
}

// Where a typist types.
var (
	start = func(t *text.Text, typed int) int { return typed }   // from the start, moving forward
	end   = func(t *text.Text, typed int) int { return t.Len() } // at the end
)

// typeAt types s one code point at a time at the place where says, publishing the cursor after
// each keystroke, and returns how many code points it typed once the server has confirmed them.
func typeAt(ctx context.Context, c *client, name, s string, where func(*text.Text, int) int, delay time.Duration) (int, error) {
	typed := 0
	for _, r := range s {
		t := c.State()
		pos := where(t, typed)
		if err := c.Apply(t.Insert(pos, string(r))); err != nil {
			return typed, err
		}
		typed++
		c.SetPresence(Cursor{Name: name, Pos: pos + 1, Version: t.Version() + 1})
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return typed, ctx.Err()
			}
		}
	}
	return typed, c.Sync(ctx)
}

// settle waits until no client has pending edits and all have every edit the server ordered. It
// reads the clients' Changes, so nothing else may.
func settle(ctx context.Context, cs ...*client) error {
	var top uint64
	for _, c := range cs {
		if err := c.Sync(ctx); err != nil {
			return err
		}
		top = max(top, c.Seq())
	}
	for _, c := range cs {
		for c.Seq() < top {
			select {
			case <-c.Changes():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// view prints the document with the other clients' cursors whenever it or they change. After
// typed is closed, it prints the final line and returns once every cursor it knows is at the
// document's version and there are two of them.
func view(ctx context.Context, w io.Writer, c *client, typed <-chan struct{}) {
	last := ""
	done := false
	for {
		if s := render(c); s != last {
			last = s
			fmt.Fprintf(w, "carol sees: %s\n", s)
		}
		if done && current(c) == 2 {
			fmt.Fprintf(w, "final: %s\n", render(c))
			return
		}
		select {
		case <-c.Changes():
		case <-c.PresenceChanges():
		case <-typed:
			done, typed = true, nil
		case <-ctx.Done():
			return
		}
	}
}

// current counts the cursors made at the version c holds.
func current(c *client) int {
	n := 0
	doc := c.State()
	for _, p := range c.Presence() {
		var cur Cursor
		if p.Decode(&cur) == nil && cur.Version == doc.Version() {
			n++
		}
	}
	return n
}

// render draws the document with a marker at each cursor: ‸alice.
func render(c *client) string {
	doc := c.State()
	type mark struct {
		pos  int
		name string
	}
	var marks []mark
	for _, p := range c.Presence() {
		var cur Cursor
		if p.Decode(&cur) != nil {
			continue
		}
		pos := cur.Pos
		if cur.Version <= doc.Version() && cur.Version >= doc.Oldest() {
			if moved, err := doc.TransformIndex(pos, cur.Version, text.Right); err == nil {
				pos = moved
			}
		}
		marks = append(marks, mark{min(max(pos, 0), doc.Len()), cur.Name})
	}
	slices.SortStableFunc(marks, func(a, b mark) int { return a.pos - b.pos })
	var b strings.Builder
	b.WriteByte('"')
	at := 0
	for _, m := range marks {
		s, _ := doc.Slice(at, m.pos)
		b.WriteString(s)
		b.WriteString("‸" + m.name)
		at = m.pos
	}
	s, _ := doc.Slice(at, doc.Len())
	b.WriteString(s)
	b.WriteByte('"')
	return b.String()
}
