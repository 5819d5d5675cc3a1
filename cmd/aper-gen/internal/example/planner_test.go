package example_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/cmd/aper-gen/internal/example"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTask applies the insert of a task with title under parent and returns its id.
func newTask(t *testing.T, p *example.Planner, parent uuid.UUID, title string) uuid.UUID {
	t.Helper()
	task := &example.Task{}
	apertest.MustApply(t, task, aper.On(example.SetTaskTitle(title)))
	id, tr := p.Tasks.Append(parent, task)
	apertest.MustApply(t, p, aper.On(example.UpdatePlannerTasks(tr)))
	return id
}

// A rename is one call with the receiver-free constructors: no Get and no nested wrappers.
func TestRenameInOneCall(t *testing.T) {
	p := &example.Planner{}
	apertest.MustApply(t, p, aper.On(example.SetPlannerName("launch")))
	id := newTask(t, p, tree.Root, "Write docs")
	rename := example.UpdatePlannerTasksAt(id, example.SetTaskTitle("Write the docs"))
	// It is the transition the nested form builds.
	task, _ := p.Tasks.Get(id)
	assert.Equal(t, p.UpdateTasks(p.Tasks.Update(id, task.UpdateTitle(task.Title.Set("Write the docs")))), rename)
	apertest.MustApply(t, p, aper.On(rename))
	task, _ = p.Tasks.Get(id)
	assert.Equal(t, "Write the docs", task.Title.Get())
	assert.Equal(t, "launch", p.Name.Get())
	// A task that is gone is a NotFound conflict whose path goes through the field.
	cf := apertest.Conflicts(t, p, aper.On(example.UpdatePlannerTasksAt(uuid.New(), example.SetTaskDone(true))), conflict.NotFound)
	assert.Equal(t, "Tasks", cf.Path[0])
}

// A nil field reads as its zero value, so a fresh task's unset flag can be read.
func TestNilFieldReads(t *testing.T) {
	task := &example.Task{}
	assert.False(t, task.Done.Get())
	assert.Equal(t, "", task.Title.Get())
	p := &example.Planner{}
	assert.Equal(t, 0, p.Tasks.Len())
	assert.Empty(t, p.Tasks.Nested(tree.Root))
}

// A generated transition names its field and prints its field's transition.
func TestTransitionNamesItsField(t *testing.T) {
	id := uuid.New()
	tr := example.UpdatePlannerTasksAt(id, example.SetTaskTitle("Buy milk"))
	assert.Equal(t, "Tasks", tr.Field())
	assert.Equal(t, fmt.Sprintf(`Tasks: update %s: Title: set "Buy milk"`, id), tr.String())
	assert.Equal(t, tr.String(), fmt.Sprint(tr), "fmt uses String")
	assert.Equal(t, "Done", example.SetTaskDone(true).Field())
	assert.Equal(t, "Done: set true", example.SetTaskDone(true).String())
	var none example.TaskTransition
	assert.Equal(t, "", none.Field())
	assert.Equal(t, "TaskTransition{}", none.String())
	two := example.SetTaskDone(true)
	two.Title = example.SetTaskTitle("x").Title
	assert.Equal(t, "", two.Field(), "a transition that sets two fields, which Apply refuses, names none")
	assert.Equal(t, `Title: set "x"; Done: set true`, two.String())
}

// ApplyInverse is generated when every field has it (Pair, whose Single is generated in the same
// run), and undoes the transition it applied; Mixed, with a field without it, gets none.
func TestApplyInverse(t *testing.T) {
	p := &example.Pair{}
	var _ interface {
		ApplyInverse(aper.Event[example.PairTransition]) (example.PairTransition, error)
	} = p
	inv, err := p.ApplyInverse(aper.On(example.UpdatePairA(example.RegisterSet{V: 5})))
	require.NoError(t, err)
	assert.Equal(t, 5, p.A.V)
	assert.Equal(t, example.UpdatePairA(example.RegisterSet{V: 0}), inv)
	inner, err := p.ApplyInverse(aper.On(example.UpdatePairOne(example.UpdateSingleR(example.RegisterSet{V: 7}))))
	require.NoError(t, err)
	assert.Equal(t, 7, p.One.R.V)
	_, err = p.ApplyInverse(aper.On(inner))
	require.NoError(t, err)
	assert.Equal(t, 0, p.One.R.V)
	_, err = p.ApplyInverse(aper.On(example.PairTransition{}))
	assert.ErrorIs(t, err, conflict.ErrInvalid)
	_, mixed := any(&example.Mixed{}).(interface {
		ApplyInverse(aper.Event[example.MixedTransition]) (example.MixedTransition, error)
	})
	assert.False(t, mixed)
}

// The -sync aliases and constructors need no type arguments.
func TestSyncConstructors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	srv, err := example.NewPlannerServer(func(context.Context, string) (*example.Planner, error) {
		return &example.Planner{}, nil
	})
	require.NoError(t, err)
	defer srv.Close()
	net := memory.NewNetwork(nil)
	l, err := net.Listen("server")
	require.NoError(t, err)
	go srv.Serve(ctx, l)
	var c *example.PlannerClient
	c, err = example.DialPlanner(ctx, net.Dialer("server"), "room")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Apply(example.SetPlannerName("launch")))
	for c.State().Name.Get() != "launch" {
		select {
		case <-c.Changes():
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	// A second client receives it from the server.
	other, err := example.DialPlanner(ctx, net.Dialer("server"), "room")
	require.NoError(t, err)
	defer other.Close()
	for other.State().Name.Get() != "launch" {
		select {
		case <-other.Changes():
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// A one-of's ApplyInverse refuses another field as Apply does, and undoes its own.
func TestOneOfApplyInverse(t *testing.T) {
	e := &example.Either{}
	inv, err := e.ApplyInverse(aper.On(example.UpdateEitherR(example.RegisterSet{V: 3})))
	require.NoError(t, err)
	assert.Equal(t, 3, e.R.V)
	_, err = e.ApplyInverse(aper.On(example.UpdateEitherOne(example.UpdateSingleR(example.RegisterSet{V: 1}))))
	assert.ErrorIs(t, err, conflict.ErrInvalid)
	assert.Nil(t, e.One)
	_, err = e.ApplyInverse(aper.On(inv))
	require.NoError(t, err)
	assert.Equal(t, 0, e.R.V, "the inverse sets the register back; the one-of goes on holding it")
}
