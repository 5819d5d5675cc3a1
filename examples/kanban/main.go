// Command kanban is a shared Kanban board over WebSocket: a Project (a title and a pool.Board of
// cards) composed by aper-gen, a server, and two clients, alice and bob, in one process.
//
// Run it from the repository root:
//
//	go run ./examples/kanban
//
// Alice sets up the board; then alice and bob move the same card at the same time (the server's
// order decides where it ends, on both replicas alike), and bob edits a card that alice has just
// deleted, which the server rejects with a not-found conflict whose path names the field.
//
// After changing project.go, regenerate project_aper.go with go generate ./examples/kanban.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/pool"
	"github.com/aper-go/aper/transport/websocket"
)

// client is spelled once, by aper-gen -sync Project: ProjectClient is
// apersync.Client[*Project, ProjectTransition].
type client = ProjectClient

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// newProject is the room factory: every room starts as a board with three empty columns. It runs
// on the server only; clients receive the state it made in their welcome.
func newProject(ctx context.Context, room string) (*Project, error) {
	p := &Project{Title: aper.NewAtom(room), Board: pool.New[*aper.Atom[string], aper.AtomTransition[string]]()}
	for _, name := range []string{"todo", "doing", "done"} {
		_, t := p.Board.AppendList(name)
		if err := p.Apply(aper.On(p.UpdateBoard(t))); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func run(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := NewProjectServer(newProject)
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
		return DialProject(ctx, websocket.Dialer(url, nil), "launch")
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

	// Alice names the project and adds three cards to "todo".
	p := alice.State()
	todo, doing, done := column(p, 0), column(p, 1), column(p, 2)
	must := func(c *client, t ProjectTransition) error { return c.Apply(t) }
	if err := must(alice, SetProjectTitle("Launch")); err != nil {
		return err
	}
	var cards []uuid.UUID
	for _, text := range []string{"write README", "record demo", "tag release"} {
		p = alice.State()
		id, t := p.Board.Append(todo, aper.NewAtom(text))
		if err := must(alice, p.UpdateBoard(t)); err != nil {
			return err
		}
		cards = append(cards, id)
	}
	if err := settle(ctx, alice, bob); err != nil {
		return err
	}
	fmt.Fprintln(w, "alice set up the board:")
	show(w, bob.State())

	// Both move "write README" at once: alice to done, bob to doing.
	pa, pb := alice.State(), bob.State()
	if err := must(alice, pa.UpdateBoard(pa.Board.MoveTo(cards[0], done, 0))); err != nil {
		return err
	}
	if err := must(bob, pb.UpdateBoard(pb.Board.MoveTo(cards[0], doing, 0))); err != nil {
		return err
	}
	// Alice deletes "record demo"; once the server has ordered that, bob renames it. If bob has
	// not heard of the delete yet, the server rejects his rename; if he has, his own replica
	// refuses it at once. Either way it is the same conflict, and it changes nothing.
	pa = alice.State()
	if err := must(alice, pa.UpdateBoard(pa.Board.Delete(cards[1]))); err != nil {
		return err
	}
	if err := alice.Sync(ctx); err != nil {
		return err
	}
	rename := UpdateProjectBoardAt(cards[1], aper.SetAtom("record a demo"))
	if err := bob.Apply(rename); err != nil {
		fmt.Fprintf(w, "bob's rename of the deleted card, refused by his replica: %v\n", conflict.As(err))
	} else {
		select {
		case r := <-bob.Rejections():
			fmt.Fprintf(w, "bob's rename of the deleted card, rejected by the server: %v\n", r.Conflict)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := settle(ctx, alice, bob); err != nil {
		return err
	}
	fmt.Fprintln(w, "after the concurrent moves, alice sees:")
	show(w, alice.State())
	fmt.Fprintln(w, "and bob sees:")
	show(w, bob.State())
	if render(alice.State()) != render(bob.State()) {
		return errors.New("kanban: the replicas differ")
	}
	return nil
}

// column returns the id of the i-th column.
func column(p *Project, i int) uuid.UUID {
	id, _, _ := p.Board.ListAt(i)
	return id
}

// settle waits until neither client has pending transitions and both have every transition the
// server ordered.
func settle(ctx context.Context, cs ...*client) error {
	for _, c := range cs {
		if err := c.Sync(ctx); err != nil {
			return err
		}
	}
	var top uint64
	for _, c := range cs {
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

func show(w io.Writer, p *Project) { fmt.Fprint(w, render(p)) }

func render(p *Project) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s\n", p.Title.Get())
	for id, name := range p.Board.Lists() {
		var cards []string
		for _, c := range p.Board.Objects(id) {
			cards = append(cards, c.Get())
		}
		fmt.Fprintf(&b, "  %-6s %s\n", name+":", strings.Join(cards, ", "))
	}
	return b.String()
}
