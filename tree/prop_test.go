package tree_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// invariants checks what every tree must hold: the walk from the root reaches every node exactly
// once (so there is no cycle and no orphan), each node's Parent is the node the walk found it
// under, Path and Depth agree with the walk, and siblings' indexes ascend.
func invariants(tr *counters) error {
	seen := map[uuid.UUID]bool{}
	stack := []uuid.UUID{tree.Root}
	for id, depth := range tr.Walk(tree.Root) {
		if seen[id] {
			return fmt.Errorf("node %s reached twice", id)
		}
		if len(seen) > tr.Len() {
			return fmt.Errorf("the walk reaches more than Len = %d nodes", tr.Len())
		}
		seen[id] = true
		if depth < 1 || depth > len(stack) {
			return fmt.Errorf("node %s at depth %d below a stack of %d", id, depth, len(stack))
		}
		stack = stack[:depth]
		p, ok := tr.Parent(id)
		if !ok || p != stack[depth-1] {
			return fmt.Errorf("node %s: Parent = %s, %v; the walk found it under %s", id, p, ok, stack[depth-1])
		}
		if d, _ := tr.Depth(id); d != depth {
			return fmt.Errorf("node %s: Depth = %d, walk depth %d", id, d, depth)
		}
		if path, _ := tr.Path(id); !slices.Equal(path, append(slices.Clone(stack[1:]), id)) {
			return fmt.Errorf("node %s: Path = %v", id, path)
		}
		if _, ok := tr.Get(id); !ok {
			return fmt.Errorf("node %s: Get fails", id)
		}
		stack = append(stack, id)
	}
	if len(seen) != tr.Len() {
		return fmt.Errorf("the walk reaches %d nodes, Len = %d (orphans)", len(seen), tr.Len())
	}
	for _, p := range append([]uuid.UUID{tree.Root}, slices.Collect(func(yield func(uuid.UUID) bool) {
		for id := range seen {
			if !yield(id) {
				return
			}
		}
	})...) {
		var prev list.ZenoIndex
		n := 0
		for c := range tr.Children(p) {
			k, _ := tr.KeyOf(c)
			if n > 0 && !prev.Less(k) {
				return fmt.Errorf("children of %s out of order", p)
			}
			prev = k
			n++
		}
		if n != tr.NumChildren(p) {
			return fmt.Errorf("NumChildren(%s) = %d, Children yields %d", p, tr.NumChildren(p), n)
		}
	}
	return nil
}

func checkInvariants(t testing.TB, tr *counters) {
	t.Helper()
	if err := invariants(tr); err != nil {
		t.Fatal(err)
	}
}

// randomTransition builds a transition from random numbers against tr: any operation, on a
// present, deleted or unknown node, at any kind of position, including indexes of its own and
// anchors that are gone.
func randomTransition(tr *counters, known []uuid.UUID, r []uint64) countersT {
	pick := func(x uint64) uuid.UUID {
		if x%8 == 0 || len(known) == 0 {
			return tree.Root
		}
		return known[x%uint64(len(known))]
	}
	var pos list.ListPosition
	switch r[3] % 6 {
	case 0:
		pos = list.Beginning()
	case 1:
		pos = list.End()
	case 2:
		var b [2]byte
		binary.BigEndian.PutUint16(b[:], uint16(r[4]|1))
		z, _ := list.ZenoIndexFromBytes(b[:])
		pos = list.At(z)
	case 3:
		_, pos = tr.PositionBefore(pick(r[4]))
	case 4:
		_, pos = tr.PositionAfter(pick(r[4]))
	case 5:
		pos = list.After(pick(r[4]), list.ZenoIndex{})
	}
	switch r[0] % 6 {
	case 0, 1:
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[8:], r[5]|1)
		return countersT{Op: tree.OpInsert, ID: id, Parent: pick(r[1]), Pos: pos, Value: aper.NewCounter(int64(r[2] % 100))}
	case 2, 3:
		return tr.Move(pick(r[1]), pick(r[2]), pos)
	case 4:
		return tr.Delete(pick(r[1]))
	default:
		return tr.Update(pick(r[1]), aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
	}
}

// TestRandomTransitionsKeepInvariants applies random sequences of transitions, conflicting or
// not, and checks after each that the invariants hold and that a conflict changed nothing.
func TestRandomTransitionsKeepInvariants(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 100, 100, 1))
	props.Property("invariants", prop.ForAll(func(steps [][]uint64) string {
		tr := tree.New[*aper.Counter, aper.CounterTransition]()
		var known []uuid.UUID
		for i, r := range steps {
			x := randomTransition(tr, known, r)
			cf, err := apertest.TryApply(tr, aper.On(x))
			if err != nil {
				return fmt.Sprintf("step %d: %v", i, err)
			}
			if cf == nil && x.Op == tree.OpInsert {
				known = append(known, x.ID)
			}
			if err := invariants(tr); err != nil {
				return fmt.Sprintf("step %d (%s): %v", i, x.Op, err)
			}
		}
		return ""
	}, gen.SliceOf(gen.SliceOfN(6, gen.UInt64()))))
	props.TestingRun(t)
}

// TestConcurrentMovesConverge: clients each make one random move against the same base tree and
// apply it at once; the server applies them in a random order, rejecting the conflicts; each
// client then rolls back and replays the server's log. Every replica ends equal to the server,
// and acyclic.
func TestConcurrentMovesConverge(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 100, 100, 1))
	props.Property("converge", prop.ForAll(func(build [][]uint64, moves [][]uint64, order []int) string {
		base := tree.New[*aper.Counter, aper.CounterTransition]()
		var known []uuid.UUID
		for _, r := range build {
			_, parent := r[0], tree.Root
			if len(known) > 0 && r[0]%4 != 0 {
				parent = known[r[0]%uint64(len(known))]
			}
			id, x := base.Append(parent, aper.NewCounter(int64(r[1]%100)))
			if base.Apply(aper.On(x)) == nil {
				known = append(known, id)
			}
		}
		if len(known) < 2 {
			return ""
		}
		clients := make([]*counters, len(moves))
		sent := make([]countersT, len(moves))
		for i, r := range moves {
			clients[i] = base.Clone()
			sent[i] = clients[i].Move(known[r[0]%uint64(len(known))], known[r[1]%uint64(len(known))], list.End())
			_ = clients[i].Apply(aper.On(sent[i])) // optimistic
		}
		server := base.Clone()
		var log []countersT
		perm := slices.Clone(order[:len(moves)])
		for _, i := range permutation(perm) {
			if err := server.Apply(aper.On(sent[i])); err == nil {
				log = append(log, sent[i])
			} else if !errors.Is(err, conflict.ErrCycle) && !errors.Is(err, conflict.ErrNotFound) {
				return err.Error()
			}
		}
		want, _ := aper.CBOR.Marshal(server)
		for i := range clients {
			clients[i] = base.Clone()
			for _, x := range log {
				if err := clients[i].Apply(aper.On(x)); err != nil {
					return "replaying the log: " + err.Error()
				}
			}
			if got, _ := aper.CBOR.Marshal(clients[i]); !bytes.Equal(want, got) {
				return "a client differs from the server"
			}
		}
		if err := invariants(server); err != nil {
			return err.Error()
		}
		return ""
	},
		gen.SliceOfN(30, gen.SliceOfN(2, gen.UInt64())),
		gen.SliceOfN(4, gen.SliceOfN(2, gen.UInt64())),
		gen.SliceOfN(4, gen.IntRange(0, 1000)),
	))
	props.TestingRun(t)
}

// permutation turns random keys into the order of their ranks.
func permutation(keys []int) []int {
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return keys[a] - keys[b] })
	return idx
}

// tmodel is the naive model: parent pointers and a slice of children per node.
type tmodel struct {
	parent map[uuid.UUID]uuid.UUID
	kids   map[uuid.UUID][]uuid.UUID
	value  map[uuid.UUID]int64
	next   uint64
}

func (m *tmodel) clone() *tmodel {
	c := &tmodel{parent: map[uuid.UUID]uuid.UUID{}, kids: map[uuid.UUID][]uuid.UUID{}, value: map[uuid.UUID]int64{}, next: m.next}
	for k, v := range m.parent {
		c.parent[k] = v
	}
	for k, v := range m.kids {
		c.kids[k] = slices.Clone(v)
	}
	for k, v := range m.value {
		c.value[k] = v
	}
	return c
}

func (m *tmodel) has(id uuid.UUID) bool {
	_, ok := m.parent[id]
	return ok || id == tree.Root
}

// nodes lists the root and every node, in a deterministic order.
func (m *tmodel) nodes() []uuid.UUID {
	out := []uuid.UUID{tree.Root}
	var walk func(uuid.UUID)
	walk = func(p uuid.UUID) {
		for _, c := range m.kids[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(tree.Root)
	return out
}

func (m *tmodel) cycle(id, parent uuid.UUID) bool {
	for a := parent; a != tree.Root; a = m.parent[a] {
		if a == id {
			return true
		}
	}
	return false
}

// place puts id among parent's children as pos says.
func (m *tmodel) place(id, parent uuid.UUID, pos mpos) {
	ks := m.kids[parent]
	i := len(ks)
	switch pos.kind {
	case 0:
		i = 0
	case 2:
		i = slices.Index(ks, pos.anchor)
	case 3:
		i = slices.Index(ks, pos.anchor) + 1
	}
	m.kids[parent] = slices.Insert(ks, i, id)
	m.parent[id] = parent
}

func (m *tmodel) unlink(id uuid.UUID) {
	p := m.parent[id]
	m.kids[p] = slices.DeleteFunc(m.kids[p], func(c uuid.UUID) bool { return c == id })
	delete(m.parent, id)
}

// mpos is a position: 0 beginning, 1 end, 2 before anchor, 3 after anchor.
type mpos struct {
	kind   int
	anchor uuid.UUID
}

func (p mpos) list() list.ListPosition {
	switch p.kind {
	case 0:
		return list.Beginning()
	case 2:
		return list.Before(p.anchor, list.ZenoIndex{})
	case 3:
		return list.After(p.anchor, list.ZenoIndex{})
	}
	return list.End()
}

func (p mpos) valid(m *tmodel, parent, moving uuid.UUID) bool {
	if p.kind < 2 {
		return true
	}
	return p.anchor != moving && m.parent[p.anchor] == parent && m.has(p.anchor) && p.anchor != tree.Root
}

// view is what Run observed of the tree after a command.
type view struct {
	err  error
	kids map[uuid.UUID][]uuid.UUID
	vals map[uuid.UUID]int64
	inv  error
	n    int
}

func observe(tr *counters, err error) view {
	v := view{err: err, kids: map[uuid.UUID][]uuid.UUID{}, vals: map[uuid.UUID]int64{}, n: tr.Len(), inv: invariants(tr)}
	v.kids[tree.Root] = slices.Collect(func(yield func(uuid.UUID) bool) {
		for c := range tr.Children(tree.Root) {
			yield(c)
		}
	})
	for id, val := range tr.All() {
		v.vals[id] = val.Value()
		for c := range tr.Children(id) {
			v.kids[id] = append(v.kids[id], c)
		}
	}
	return v
}

func (v view) matches(m *tmodel, want conflict.Kind) *gopter.PropResult {
	fail := func(format string, args ...any) *gopter.PropResult {
		return &gopter.PropResult{Status: gopter.PropFalse, Error: fmt.Errorf(format, args...)}
	}
	switch {
	case v.inv != nil:
		return fail("invariants: %v", v.inv)
	case want == "" && v.err != nil:
		return fail("unexpected %v", v.err)
	case want != "" && (conflict.As(v.err) == nil || conflict.As(v.err).Kind != want):
		return fail("got %v, want a %s conflict", v.err, want)
	case v.n != len(m.parent):
		return fail("Len = %d, model %d", v.n, len(m.parent))
	}
	for _, p := range m.nodes() {
		if !slices.Equal(v.kids[p], m.kids[p]) && (len(v.kids[p]) > 0 || len(m.kids[p]) > 0) {
			return fail("children of %s: %v, model %v", p, v.kids[p], m.kids[p])
		}
		if p != tree.Root && v.vals[p] != m.value[p] {
			return fail("value of %s: %d, model %d", p, v.vals[p], m.value[p])
		}
	}
	return &gopter.PropResult{Status: gopter.PropTrue}
}

func modelID(n uint64) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// command builds a command from the model's state and random numbers.
func (m *tmodel) command(r []int) commands.Command {
	nodes := m.nodes()
	pick := func(x int) uuid.UUID { return nodes[x%len(nodes)] }
	posAmong := func(x int, parent, moving uuid.UUID) mpos {
		var cand []uuid.UUID
		for _, c := range m.kids[parent] {
			if c != moving {
				cand = append(cand, c)
			}
		}
		p := mpos{kind: x % 4}
		if p.kind >= 2 {
			if len(cand) == 0 {
				p.kind = 1
			} else {
				p.anchor = cand[(x/4)%len(cand)]
			}
		}
		return p
	}
	kind := r[0] % 10
	if len(nodes) == 1 && kind >= 4 && kind < 9 {
		kind = 0
	}
	switch {
	case kind < 4:
		id, parent := modelID(m.next+1), pick(r[1])
		pos, v := posAmong(r[2], parent, uuid.Nil), int64(r[3]%100)
		return &commands.ProtoCommand{
			Name: fmt.Sprintf("insert %s under %s at %+v", id, parent, pos),
			RunFunc: func(s commands.SystemUnderTest) commands.Result {
				tr := s.(*counters)
				return observe(tr, tr.Apply(aper.On(countersT{Op: tree.OpInsert, ID: id, Parent: parent, Pos: pos.list(), Value: aper.NewCounter(v)})))
			},
			PreConditionFunc: func(s commands.State) bool {
				m := s.(*tmodel)
				return !m.has(id) && m.has(parent) && pos.valid(m, parent, uuid.Nil)
			},
			NextStateFunc: func(s commands.State) commands.State {
				m := s.(*tmodel).clone()
				m.place(id, parent, pos)
				m.value[id] = v
				m.next = max(m.next, binary.BigEndian.Uint64(id[8:]))
				return m
			},
			PostConditionFunc: func(s commands.State, res commands.Result) *gopter.PropResult {
				return res.(view).matches(s.(*tmodel), "")
			},
		}
	case kind < 7:
		id, parent := pick(r[1]|1), pick(r[2])
		if id == tree.Root {
			id = nodes[1]
		}
		pos := posAmong(r[3], parent, id)
		cycle := m.cycle(id, parent)
		want := conflict.Kind("")
		if cycle {
			want = conflict.Cycle
		}
		return &commands.ProtoCommand{
			Name: fmt.Sprintf("move %s under %s at %+v (cycle %v)", id, parent, pos, cycle),
			RunFunc: func(s commands.SystemUnderTest) commands.Result {
				tr := s.(*counters)
				return observe(tr, tr.Apply(aper.On(tr.Move(id, parent, pos.list()))))
			},
			PreConditionFunc: func(s commands.State) bool {
				m := s.(*tmodel)
				return m.has(id) && id != tree.Root && m.has(parent) && pos.valid(m, parent, id) && m.cycle(id, parent) == cycle
			},
			NextStateFunc: func(s commands.State) commands.State {
				m := s.(*tmodel).clone()
				if !cycle {
					m.unlink(id)
					m.place(id, parent, pos)
				}
				return m
			},
			PostConditionFunc: func(s commands.State, res commands.Result) *gopter.PropResult {
				return res.(view).matches(s.(*tmodel), want)
			},
		}
	case kind == 7:
		id := pick(r[1] | 1)
		if id == tree.Root {
			id = nodes[1]
		}
		return &commands.ProtoCommand{
			Name: fmt.Sprintf("delete %s", id),
			RunFunc: func(s commands.SystemUnderTest) commands.Result {
				tr := s.(*counters)
				return observe(tr, tr.Apply(aper.On(tr.Delete(id))))
			},
			PreConditionFunc: func(s commands.State) bool { return s.(*tmodel).has(id) && id != tree.Root },
			NextStateFunc: func(s commands.State) commands.State {
				m := s.(*tmodel).clone()
				doomed := []uuid.UUID{id}
				for i := 0; i < len(doomed); i++ {
					doomed = append(doomed, m.kids[doomed[i]]...)
				}
				m.unlink(id)
				for _, d := range doomed {
					delete(m.parent, d)
					delete(m.kids, d)
					delete(m.value, d)
				}
				return m
			},
			PostConditionFunc: func(s commands.State, res commands.Result) *gopter.PropResult {
				return res.(view).matches(s.(*tmodel), "")
			},
		}
	case kind == 8:
		id, n := pick(r[1]|1), int64(r[2]%10)
		if id == tree.Root {
			id = nodes[1]
		}
		return &commands.ProtoCommand{
			Name: fmt.Sprintf("update %s add %d", id, n),
			RunFunc: func(s commands.SystemUnderTest) commands.Result {
				tr := s.(*counters)
				return observe(tr, tr.Apply(aper.On(tr.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n}))))
			},
			PreConditionFunc: func(s commands.State) bool { return s.(*tmodel).has(id) && id != tree.Root },
			NextStateFunc: func(s commands.State) commands.State {
				m := s.(*tmodel).clone()
				m.value[id] += n
				return m
			},
			PostConditionFunc: func(s commands.State, res commands.Result) *gopter.PropResult {
				return res.(view).matches(s.(*tmodel), "")
			},
		}
	default:
		ghost := modelID(1 << 40)
		return &commands.ProtoCommand{
			Name: "delete a ghost",
			RunFunc: func(s commands.SystemUnderTest) commands.Result {
				tr := s.(*counters)
				return observe(tr, tr.Apply(aper.On(tr.Delete(ghost))))
			},
			PostConditionFunc: func(s commands.State, res commands.Result) *gopter.PropResult {
				return res.(view).matches(s.(*tmodel), conflict.NotFound)
			},
		}
	}
}

// TestModel runs random command sequences against the tree and the naive parent-pointer model,
// and compares every node's children and value after each command.
func TestModel(t *testing.T) {
	cmds := &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(commands.State) commands.SystemUnderTest {
			return tree.New[*aper.Counter, aper.CounterTransition]()
		},
		InitialStateGen: gen.Const(0).Map(func(int) *tmodel {
			return &tmodel{parent: map[uuid.UUID]uuid.UUID{}, kids: map[uuid.UUID][]uuid.UUID{}, value: map[uuid.UUID]int64{}}
		}),
		GenCommandFunc: func(s commands.State) gopter.Gen {
			m := s.(*tmodel)
			return gen.SliceOfN(4, gen.IntRange(0, 1<<20)).Map(func(r []int) commands.Command { return m.command(r) })
		},
	}
	props := gopter.NewProperties(fuzz.Parameters(t, 100, 100, 1))
	props.Property("tree matches the model", commands.Prop(cmds))
	props.TestingRun(t)
}
