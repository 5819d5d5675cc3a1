// Command planner is a shared project planner over WebSocket: a Planner (a tree of tasks, each a
// title and a done flag, and a text of notes) composed by aper-gen, a server, and two clients,
// alice and bob, in one process. They add tasks at once, move them at once (one move would make
// a cycle: a typed conflict), rename, type notes at carets held as anchors, and bob goes offline
// and comes back. Both replicas end equal.
//
//	go run ./examples/planner
//
// After changing planner.go, regenerate planner_aper.go with go generate ./examples/planner.
package main

import (
	"context"
	"encoding/json"
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
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport/websocket"
	"github.com/aper-go/aper/tree"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// newPlanner is the room factory: an empty plan with a heading in its notes.
func newPlanner(context.Context, string) (*Planner, error) {
	return &Planner{Tasks: tree.New[*Task, TaskTransition](), Notes: text.New("Notes:\n--\n")}, nil
}

func newTask(title string) *Task {
	return &Task{Title: aper.NewAtom(title), Done: aper.NewAtom(false)}
}

// user is a client and its caret in the notes.
type user struct {
	*PlannerClient
	caret text.Anchor
}

// add appends a task under parent and returns its id.
func (u *user) add(parent uuid.UUID, title string) (uuid.UUID, error) {
	id, t := u.State().Tasks.Append(parent, newTask(title))
	return id, u.Apply(UpdatePlannerTasks(t))
}

// typeText types s one character at a time at the user's caret, which follows the typing.
func (u *user) typeText(s string) error {
	for _, r := range s {
		view := u.State()
		pos, err := view.Notes.Resolve(u.caret)
		if err != nil {
			return err
		}
		t := UpdatePlannerNotes(view.Notes.Insert(pos, string(r)))
		if err := u.Apply(t); err != nil {
			return err
		}
		if err := view.Apply(aper.Event[PlannerTransition]{Client: u.ID(), Transition: t}); err != nil {
			return err
		}
		if u.caret, err = view.Notes.Anchor(pos+1, text.Left); err != nil {
			return err
		}
	}
	return nil
}

// interleave has a and b type sa and sb at once, a character each in turn.
func interleave(a *user, sa string, b *user, sb string) error {
	ra, rb := []rune(sa), []rune(sb)
	for i := range max(len(ra), len(rb)) {
		if i < len(ra) {
			if err := a.typeText(string(ra[i])); err != nil {
				return err
			}
		}
		if i < len(rb) {
			if err := b.typeText(string(rb[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

func run(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := NewPlannerServer(newPlanner)
	if err != nil {
		return err
	}
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		return err
	}
	go srv.Serve(ctx, l) // returns when Close (deferred below) closes the listener
	defer srv.Close()
	var alice, bob user
	for _, u := range []*user{&alice, &bob} {
		if u.PlannerClient, err = DialPlanner(ctx, websocket.Dialer("ws://"+l.Addr().String(), nil), "plan"); err != nil {
			return err
		}
		defer u.Close()
	}
	settle := func() error {
		for _, u := range []*user{&alice, &bob} {
			if err := u.Settled(ctx); err != nil {
				return err
			}
		}
		seq, err := srv.Seq(ctx, "plan")
		for _, u := range []*user{&alice, &bob} {
			err = errors.Join(err, u.WaitSeq(ctx, seq))
		}
		return err
	}
	notes := alice.State().Notes
	alice.caret, _ = notes.Anchor(len("Notes:\n"), text.Left) // after the heading
	bob.caret, _ = notes.Anchor(notes.Len(), text.Left)       // at the end

	// Both add a task at once.
	design, err := alice.add(tree.Root, "design")
	if err != nil {
		return err
	}
	build, err := bob.add(tree.Root, "build")
	if err != nil {
		return err
	}
	if err := settle(); err != nil {
		return err
	}
	// Both move at once: alice build under design, bob design under build. Whichever the server
	// orders second would make a cycle: a typed conflict, from the handle or at once.
	ha, errA := alice.Submit(UpdatePlannerTasks(alice.State().Tasks.MoveUnder(build, design)))
	hb, errB := bob.Submit(UpdatePlannerTasks(bob.State().Tasks.MoveUnder(design, build)))
	for _, h := range []*apersync.Handle{ha, hb} {
		if h != nil {
			if err := h.Wait(ctx); err != nil {
				errA = errors.Join(errA, err)
			}
		}
	}
	if err := errors.Join(errA, errB); !errors.Is(err, conflict.ErrCycle) {
		return fmt.Errorf("the crossed moves gave %v, want a cycle conflict", err)
	}
	fmt.Fprintln(w, "crossed moves: one made a cycle and was refused")

	// Renames and notes typed at once at the two carets.
	if err := alice.Apply(UpdatePlannerTasksAt(design, SetTaskTitle("design the API"))); err != nil {
		return err
	}
	if err := interleave(&alice, "Ship on Friday. ", &bob, "Ask Carol. "); err != nil {
		return err
	}
	if err := settle(); err != nil {
		return err
	}

	// Bob goes offline and keeps working; alice too. He comes back and both converge.
	if err := bob.Disconnect(); err != nil {
		return err
	}
	if _, err := bob.add(build, "write tests"); err != nil {
		return err
	}
	if err := interleave(&bob, "Offline idea. ", &alice, "Demo at 3. "); err != nil {
		return err
	}
	if err := alice.Apply(UpdatePlannerTasksAt(build, SetTaskDone(true))); err != nil {
		return err
	}
	if err := bob.Reconnect(); err != nil {
		return err
	}
	if err := settle(); err != nil {
		return err
	}
	a, _ := json.Marshal(alice.State())
	b, _ := json.Marshal(bob.State())
	if string(a) != string(b) {
		return fmt.Errorf("replicas differ:\n%s\n%s", a, b)
	}
	show(w, alice.State())
	return nil
}

// show prints the plan as an outline, then the notes.
func show(w io.Writer, p *Planner) {
	for depth, n := range p.Tasks.Nodes(tree.Root) {
		mark := " "
		if n.Value.Done.Get() {
			mark = "x"
		}
		fmt.Fprintf(w, "%s[%s] %s\n", strings.Repeat("  ", depth-1), mark, n.Value.Title.Get())
	}
	fmt.Fprint(w, p.Notes.String(), "\n")
}
