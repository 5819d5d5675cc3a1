package tree_test

import (
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// within runs f and fails the test if it has not returned after a few seconds: an iterator that
// holds a lock while its loop body writes deadlocks, and one that follows what the body inserts
// may never end. A deadlocked f is left behind; the test has failed by then.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end: deadlock, or an iteration that never finishes")
	}
}

// iterTree is a small tree for the iteration tests: a (with a1, a2, a3 under it, and wide more
// children), b, c at the top level, a11 under a1.
func iterTree(t *testing.T, wide int) (tr *counters, a, a1, a2, a3, a11 uuid.UUID) {
	tr = tree.New[*aper.Counter, aper.CounterTransition]()
	a = add(t, tr, tree.Root, 1)
	add(t, tr, tree.Root, 2)
	add(t, tr, tree.Root, 3)
	a1 = add(t, tr, a, 11)
	a2 = add(t, tr, a, 12)
	a3 = add(t, tr, a, 13)
	a11 = add(t, tr, a1, 111)
	for i := range wide {
		add(t, tr, a, int64(20+i))
	}
	return
}

// bodies are loop bodies that change the tree (or Clone it) at each node the loop yields. They
// do not stop at a conflict: a node deleted earlier in the same loop may be yielded again from
// the snapshot, and deleting it a second time is a NotFound that changes nothing.
var bodies = []struct {
	name string
	do   func(tr *counters, id uuid.UUID)
}{
	{"delete it", func(tr *counters, id uuid.UUID) { _ = tr.Apply(aper.On(tr.Delete(id))) }},
	{"move it last", func(tr *counters, id uuid.UUID) {
		p, _ := tr.Parent(id)
		_ = tr.Apply(aper.On(tr.Move(id, p, list.End())))
	}},
	{"move it to the top level", func(tr *counters, id uuid.UUID) {
		_ = tr.Apply(aper.On(tr.Move(id, tree.Root, list.Beginning())))
	}},
	{"insert a child under it", func(tr *counters, id uuid.UUID) {
		_, x := tr.Append(id, aper.NewCounter(7))
		_ = tr.Apply(aper.On(x))
	}},
	{"insert a sibling after it", func(tr *counters, id uuid.UUID) {
		_, x := tr.InsertAfter(id, aper.NewCounter(8))
		_ = tr.Apply(aper.On(x))
	}},
	{"update it", func(tr *counters, id uuid.UUID) {
		_ = tr.Apply(aper.On(tr.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))
	}},
	{"clone the tree", func(tr *counters, _ uuid.UUID) { _ = tr.Clone() }},
	{"clone and delete", func(tr *counters, id uuid.UUID) {
		_ = tr.Clone()
		_ = tr.Apply(aper.On(tr.Delete(id)))
	}},
}

// TestIteratorsAllowChangesInTheLoop: the loop body of Children, Walk and All may Apply
// transitions to the tree and Clone it. The loop neither deadlocks (Children used to yield while
// it held the B-tree's read lock, which Apply and Clone wait for) nor follows the changes (a
// walk that follows them never ends when the body inserts under each node): it yields exactly
// what the tree held when it started, with no zero id or nil value, and the tree keeps its
// invariants. The wide tree gives a 20 children more than Children copies out, so that it
// iterates over a snapshot.
func TestIteratorsAllowChangesInTheLoop(t *testing.T) {
	type step struct {
		id    uuid.UUID
		depth int
	}
	iterators := []struct {
		name string
		run  func(tr *counters, from uuid.UUID, each func(uuid.UUID)) []step
	}{
		{"Children", func(tr *counters, from uuid.UUID, each func(uuid.UUID)) (out []step) {
			for id, v := range tr.Children(from) {
				require.NotNil(t, v)
				out = append(out, step{id, 1})
				if each != nil {
					each(id)
				}
				if len(out) > 100 {
					break
				}
			}
			return out
		}},
		{"Walk", func(tr *counters, from uuid.UUID, each func(uuid.UUID)) (out []step) {
			for id, depth := range tr.Walk(from) {
				out = append(out, step{id, depth})
				if each != nil {
					each(id)
				}
				if len(out) > 100 {
					break
				}
			}
			return out
		}},
		{"All", func(tr *counters, from uuid.UUID, each func(uuid.UUID)) (out []step) {
			require.Equal(t, tree.Root, from)
			for id, v := range tr.All() {
				require.NotNil(t, v)
				out = append(out, step{id, 0})
				if each != nil {
					each(id)
				}
				if len(out) > 100 {
					break
				}
			}
			return out
		}},
	}
	for _, it := range iterators {
		for _, body := range bodies {
			for _, from := range []string{"root", "a", "wide a"} {
				if it.name == "All" && from != "root" {
					continue
				}
				t.Run(it.name+"/"+from+"/"+body.name, func(t *testing.T) {
					wide := 0
					if from == "wide a" {
						wide = 20
					}
					tr, a, _, _, _, _ := iterTree(t, wide)
					start := tree.Root
					if from != "root" {
						start = a
					}
					want := it.run(tr, start, nil)
					require.NotEmpty(t, want)
					var got []step
					within(t, func() {
						got = it.run(tr, start, func(id uuid.UUID) { body.do(tr, id) })
					})
					assert.Equal(t, want, got, "the loop yields what the tree held when it started")
					for _, s := range got {
						assert.NotEqual(t, uuid.Nil, s.id)
					}
					checkInvariants(t, tr)
				})
			}
		}
	}
}

// TestChildrenSnapshotValues: a value that Children yields is a node's state machine, never nil,
// even when the body deleted that node before the loop reached it; and stopping the loop early
// works.
func TestChildrenSnapshotValues(t *testing.T) {
	for _, wide := range []int{0, 20} {
		tr, a, a1, a2, a3, _ := iterTree(t, wide)
		var got []int64
		within(t, func() {
			for id, v := range tr.Children(a) {
				got = append(got, v.Value())
				if id == a1 {
					mustApply(t, tr, tr.Delete(a2))
					mustApply(t, tr, tr.Delete(a3))
				}
			}
		})
		assert.Equal(t, []int64{11, 12, 13}, got[:3])
		assert.Len(t, got, 3+wide)
		assert.Equal(t, []int64{11}, children(tr, a)[:1])
		assert.Len(t, children(tr, a), 1+wide)
	}
	tr, _, _, _, _, _ := iterTree(t, 0)
	n := 0
	for range tr.Children(tree.Root) {
		n++
		break
	}
	assert.Equal(t, 1, n)
}

func mustApply(t *testing.T, tr *counters, x countersT) {
	t.Helper()
	require.NoError(t, tr.Apply(aper.On(x)))
}
