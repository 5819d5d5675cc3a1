// Command editor is a shared text document (package text) with presence cursors: alice and bob
// type into one document at once over WebSocket, each client keeps its caret as a text.Anchor and
// publishes it as a presence value (unordered, not part of the state, gone when the client
// leaves), and a third client, carol, draws the document with everybody's cursor in the terminal,
// each right after the character its owner had just typed.
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

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport/websocket"
)

type client = apersync.Client[*text.Text, text.Edit]

// Cursor is a client's presence value: who it is and where its caret is, as a text.Anchor. A
// viewer resolves the anchor on its own replica (Text.Resolve): the caret stands right after
// the character it stood after when it was published, whatever the viewer's replica holds.
type Cursor struct {
	Name string      `json:"name" cbor:"1,keyasint"`
	At   text.Anchor `json:"at" cbor:"2,keyasint"`
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

	// Alice types alone, then both type at once. Each keeps a caret: alice's where she starts
	// typing (the start of the empty document, then after her "Hello world"), bob's at the start.
	aliceAt, err := caret(alice, 0)
	if err != nil {
		return err
	}
	aliceAt, err = typeAt(ctx, alice, "alice", "Hello world", aliceAt, delay)
	if err != nil {
		return err
	}
	if err := settle(ctx, alice, bob); err != nil { // carol's channels are the view's alone
		return err
	}
	bobAt, err := caret(bob, 0)
	if err != nil {
		return err
	}
	type result struct {
		at  text.Anchor
		err error
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	go func() { at, err := typeAt(ctx, alice, "alice", " again", aliceAt, delay); ra <- result{at, err} }()
	go func() { at, err := typeAt(ctx, bob, "bob", "Dear reader, ", bobAt, delay); rb <- result{at, err} }()
	a, b := <-ra, <-rb
	if err := errors.Join(a.err, b.err); err != nil {
		return err
	}
	if err := settle(ctx, alice, bob); err != nil {
		return err
	}
	// Everybody is at the same version now: publish the final cursors anchored there, as an
	// editor re-anchors its caret when the text changes.
	for _, x := range []struct {
		c    *client
		name string
		at   text.Anchor
	}{{alice, "alice", a.at}, {bob, "bob", b.at}} {
		t := x.c.State()
		pos, err := t.Resolve(x.at)
		if err != nil {
			return err
		}
		if err := publish(x.c, x.name, t, pos); err != nil {
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

// caret returns an anchor at pos of c's view, sticking to the character before it.
func caret(c *client, pos int) (text.Anchor, error) {
	return c.State().Anchor(pos, text.Left)
}

// typeAt types s one code point at a time at the caret, publishing the caret after each
// keystroke, and returns the caret once the server has confirmed everything typed.
func typeAt(ctx context.Context, c *client, name, s string, at text.Anchor, delay time.Duration) (text.Anchor, error) {
	for _, r := range s {
		var err error
		if at, err = keystroke(c, name, r, at); err != nil {
			return at, err
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return at, ctx.Err()
			}
		}
	}
	return at, c.Sync(ctx)
}

// keystroke types r at the caret and publishes the caret after it, which it returns.
//
// The keystroke is made on the view as State returns it, and the caret is anchored on that view
// with the keystroke applied as the client's Apply applies it (with the client's id): so the
// anchor names the character just typed, which holds wherever the server orders it. (State read
// again after Apply may already hold others' edits that came in meanwhile, and pos+1 there need
// not be after r.)
func keystroke(c *client, name string, r rune, at text.Anchor) (text.Anchor, error) {
	t := c.State()
	pos, err := t.Resolve(at)
	if err != nil {
		return at, err
	}
	e := t.Insert(pos, string(r))
	if err := c.Apply(e); err != nil {
		return at, err
	}
	if err := t.Apply(aper.Event[text.Edit]{Client: c.ID(), Transition: e}); err != nil {
		return at, err
	}
	if at, err = t.Anchor(pos+1, text.Left); err != nil {
		return at, err
	}
	return at, c.SetPresence(Cursor{Name: name, At: at})
}

// publish sets c's presence to a caret at pos of t, c's view.
func publish(c *client, name string, t *text.Text, pos int) error {
	at, err := t.Anchor(pos, text.Left)
	if err != nil {
		return err
	}
	return c.SetPresence(Cursor{Name: name, At: at})
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

// current counts the cursors anchored at the version c holds.
func current(c *client) int {
	n := 0
	doc := c.State()
	for _, p := range c.Presence() {
		var cur Cursor
		if p.Decode(&cur) == nil && cur.At.Version == doc.Version() {
			n++
		}
	}
	return n
}

// mark is a cursor drawn at a position of the document.
type mark struct {
	pos  int
	name string
}

// marks returns where the cursors stand in doc, in order. A cursor that doc cannot place yet (its
// anchor names a version doc has not confirmed: the viewer is behind its owner) is left out of
// this frame; a malformed one is left out too.
func marks(doc *text.Text, ps []apersync.Presence) []mark {
	var ms []mark
	for _, p := range ps {
		var cur Cursor
		if p.Decode(&cur) != nil {
			continue
		}
		if pos, err := doc.Resolve(cur.At); err == nil {
			ms = append(ms, mark{pos, cur.Name})
		}
	}
	slices.SortStableFunc(ms, func(a, b mark) int { return a.pos - b.pos })
	return ms
}

// render draws the document with a marker at each cursor: ‸alice.
func render(c *client) string {
	doc := c.State()
	var b strings.Builder
	b.WriteByte('"')
	at := 0
	for _, m := range marks(doc, c.Presence()) {
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
