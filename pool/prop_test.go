package pool_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/pool"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// invariants checks that every object is in exactly one list: the lists' objects, read in
// order, are distinct, ListOf agrees with the list each was found in, and Len counts them all.
func invariants(b *board) error {
	seen := map[uuid.UUID]uuid.UUID{}
	lists := map[uuid.UUID]bool{}
	for l := range b.Lists() {
		if lists[l] {
			return fmt.Errorf("list %s twice", l)
		}
		lists[l] = true
		n := 0
		for id := range b.Objects(l) {
			if prev, dup := seen[id]; dup {
				return fmt.Errorf("object %s in lists %s and %s", id, prev, l)
			}
			seen[id] = l
			if got, ok := b.ListOf(id); !ok || got != l {
				return fmt.Errorf("object %s found in %s, ListOf says %s, %v", id, l, got, ok)
			}
			if _, ok := b.Get(id); !ok {
				return fmt.Errorf("object %s: Get fails", id)
			}
			n++
		}
		if n != b.ListLen(l) {
			return fmt.Errorf("list %s: ListLen %d, %d objects", l, b.ListLen(l), n)
		}
	}
	if len(seen) != b.Len() {
		return fmt.Errorf("%d objects in lists, Len = %d (an object in no list)", len(seen), b.Len())
	}
	if len(lists) != b.NumLists() {
		return fmt.Errorf("%d lists, NumLists = %d", len(lists), b.NumLists())
	}
	return nil
}

func checkBoard(t testing.TB, b *board) {
	t.Helper()
	if err := invariants(b); err != nil {
		t.Fatal(err)
	}
}

func numID(n uint64) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// randomTransition builds any transition from random numbers: on objects and lists that exist,
// are gone or never were, at any kind of position.
func randomTransition(b *board, r []uint64) boardT {
	ids := func(x uint64) uuid.UUID { return numID(x%24 + 1) }     // objects: a small id space
	lists := func(x uint64) uuid.UUID { return numID(x%5 + 1000) } // lists: five ids
	var pos list.ListPosition
	switch r[3] % 5 {
	case 0:
		pos = list.Beginning()
	case 1:
		pos = list.End()
	case 2:
		pos = list.After(ids(r[4]), list.ZenoIndex{})
	case 3:
		pos = b.PositionAt(lists(r[2]), int(r[4]%8))
	case 4:
		z, _ := list.ZenoIndexFromBytes([]byte{byte(r[4]) | 1})
		pos = list.At(z)
	}
	switch r[0] % 9 {
	case 0, 1:
		return boardT{Op: pool.OpCreate, ID: ids(r[1]), List: lists(r[2]), Pos: pos, Value: aper.NewCounter(int64(r[1] % 100))}
	case 2, 3:
		return b.Move(ids(r[1]), lists(r[2]), pos)
	case 4:
		return b.Delete(ids(r[1]))
	case 5:
		return b.Update(ids(r[1]), aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
	case 6:
		return boardT{Op: pool.OpAddList, List: lists(r[1]), Name: fmt.Sprint(r[2] % 10), Pos: pos}
	case 7:
		if r[1]%2 == 0 {
			return b.RenameList(lists(r[1]), fmt.Sprint(r[2]%10))
		}
		return b.MoveList(lists(r[1]), list.End())
	default:
		if r[2]%3 == 0 {
			return b.RemoveList(lists(r[1]))
		}
		return b.RemoveListInto(lists(r[1]), lists(r[2]), pos)
	}
}

// TestRandomTransitionsKeepInvariants: random boards and random transitions never leave an
// object in two lists or in none, and a conflict changes nothing.
func TestRandomTransitionsKeepInvariants(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 100, 100, 1))
	props.Property("every object in exactly one list", prop.ForAll(func(steps [][]uint64) string {
		b := pool.New[*aper.Counter, aper.CounterTransition]()
		for i, r := range steps {
			x := randomTransition(b, r)
			if _, err := apertest.TryApply(b, aper.On(x)); err != nil {
				return fmt.Sprintf("step %d: %v", i, err)
			}
			if err := invariants(b); err != nil {
				return fmt.Sprintf("step %d (%s): %v", i, x.Op, err)
			}
		}
		return ""
	}, gen.SliceOf(gen.SliceOfN(5, gen.UInt64()))))
	props.TestingRun(t)
}

// pmodel is the naive model: the lists in order, and a slice of object ids per list.
type pmodel struct {
	lists []uuid.UUID
	name  map[uuid.UUID]string
	objs  map[uuid.UUID][]uuid.UUID
	val   map[uuid.UUID]int64
	next  uint64
}

func (m *pmodel) clone() *pmodel {
	c := &pmodel{lists: slices.Clone(m.lists), name: map[uuid.UUID]string{}, objs: map[uuid.UUID][]uuid.UUID{}, val: map[uuid.UUID]int64{}, next: m.next}
	for k, v := range m.name {
		c.name[k] = v
	}
	for k, v := range m.objs {
		c.objs[k] = slices.Clone(v)
	}
	for k, v := range m.val {
		c.val[k] = v
	}
	return c
}

func (m *pmodel) listOf(id uuid.UUID) (uuid.UUID, bool) {
	for _, l := range m.lists {
		if slices.Contains(m.objs[l], id) {
			return l, true
		}
	}
	return uuid.Nil, false
}

func (m *pmodel) objects() []uuid.UUID {
	var out []uuid.UUID
	for _, l := range m.lists {
		out = append(out, m.objs[l]...)
	}
	return out
}

// mpos is a position among a slice: 0 beginning, 1 end, 2 before anchor, 3 after anchor.
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

func (p mpos) valid(among []uuid.UUID, moving uuid.UUID) bool {
	return p.kind < 2 || (p.anchor != moving && slices.Contains(among, p.anchor))
}

func (p mpos) insert(s []uuid.UUID, id uuid.UUID) []uuid.UUID {
	switch p.kind {
	case 0:
		return slices.Insert(s, 0, id)
	case 2:
		return slices.Insert(s, slices.Index(s, p.anchor), id)
	case 3:
		return slices.Insert(s, slices.Index(s, p.anchor)+1, id)
	}
	return append(s, id)
}

func pickPos(x int, among []uuid.UUID, moving uuid.UUID) mpos {
	var cand []uuid.UUID
	for _, c := range among {
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

func without(s []uuid.UUID, id uuid.UUID) []uuid.UUID {
	return slices.DeleteFunc(slices.Clone(s), func(c uuid.UUID) bool { return c == id })
}

// view is what a command observed of the board after it ran.
type view struct {
	err   error
	lists []uuid.UUID
	names []string
	objs  map[uuid.UUID][]uuid.UUID
	vals  map[uuid.UUID]int64
	inv   error
}

func observe(b *board, err error) view {
	v := view{err: err, objs: map[uuid.UUID][]uuid.UUID{}, vals: map[uuid.UUID]int64{}, inv: invariants(b)}
	for l, n := range b.Lists() {
		v.lists = append(v.lists, l)
		v.names = append(v.names, n)
		for id, val := range b.Objects(l) {
			v.objs[l] = append(v.objs[l], id)
			v.vals[id] = val.Value()
		}
	}
	return v
}

func (v view) matches(m *pmodel, want conflict.Kind) *gopter.PropResult {
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
	case !slices.Equal(v.lists, m.lists):
		return fail("lists %v, model %v", v.lists, m.lists)
	}
	for i, l := range m.lists {
		if v.names[i] != m.name[l] {
			return fail("name of %s: %q, model %q", l, v.names[i], m.name[l])
		}
		if !slices.Equal(v.objs[l], m.objs[l]) {
			return fail("objects of %s: %v, model %v", l, v.objs[l], m.objs[l])
		}
		for _, id := range m.objs[l] {
			if v.vals[id] != m.val[id] {
				return fail("value of %s: %d, model %d", id, v.vals[id], m.val[id])
			}
		}
	}
	return &gopter.PropResult{Status: gopter.PropTrue}
}

// cmd is a command: run on the board, next on the model, pre says whether it still makes sense
// (after shrinking), want is the conflict it must return.
type cmd struct {
	name string
	run  func(b *board) error
	pre  func(m *pmodel) bool
	next func(m *pmodel)
	want conflict.Kind
}

func (c cmd) command() commands.Command {
	return &commands.ProtoCommand{
		Name:    c.name,
		RunFunc: func(s commands.SystemUnderTest) commands.Result { b := s.(*board); return observe(b, c.run(b)) },
		PreConditionFunc: func(s commands.State) bool {
			return c.pre == nil || c.pre(s.(*pmodel))
		},
		NextStateFunc: func(s commands.State) commands.State {
			m := s.(*pmodel).clone()
			if c.next != nil {
				c.next(m)
			}
			return m
		},
		PostConditionFunc: func(s commands.State, res commands.Result) *gopter.PropResult {
			return res.(view).matches(s.(*pmodel), c.want)
		},
	}
}

func (m *pmodel) command(r []int) commands.Command {
	objs := m.objects()
	kind := r[0] % 12
	if len(m.lists) == 0 {
		kind = 0
	} else if len(objs) == 0 && kind >= 7 {
		kind = 4
	}
	apply := func(x boardT) func(*board) error { return func(b *board) error { return b.Apply(aper.On(x)) } }
	switch {
	case kind < 2: // add a list
		id, pos, name := numID(m.next+1), pickPos(r[1], m.lists, uuid.Nil), fmt.Sprint("L", r[2]%100)
		return cmd{
			name: fmt.Sprintf("add list %s at %+v", id, pos),
			run:  apply(boardT{Op: pool.OpAddList, List: id, Name: name, Pos: pos.list()}),
			pre:  func(m *pmodel) bool { return !slices.Contains(m.lists, id) && pos.valid(m.lists, uuid.Nil) },
			next: func(m *pmodel) {
				m.lists = pos.insert(m.lists, id)
				m.name[id] = name
				m.next = max(m.next, binary.BigEndian.Uint64(id[8:]))
			},
		}.command()
	case kind == 2: // rename or move a list
		id := m.lists[r[1]%len(m.lists)]
		if r[2]%2 == 0 {
			name := fmt.Sprint("R", r[3]%100)
			return cmd{
				name: fmt.Sprintf("rename list %s", id),
				run:  func(b *board) error { return b.Apply(aper.On(b.RenameList(id, name))) },
				pre:  func(m *pmodel) bool { return slices.Contains(m.lists, id) },
				next: func(m *pmodel) { m.name[id] = name },
			}.command()
		}
		pos := pickPos(r[3], m.lists, id)
		return cmd{
			name: fmt.Sprintf("move list %s to %+v", id, pos),
			run:  func(b *board) error { return b.Apply(aper.On(b.MoveList(id, pos.list()))) },
			pre:  func(m *pmodel) bool { return slices.Contains(m.lists, id) && pos.valid(m.lists, id) },
			next: func(m *pmodel) { m.lists = pos.insert(without(m.lists, id), id) },
		}.command()
	case kind == 3: // remove a list, into another when it is not empty
		id := m.lists[r[1]%len(m.lists)]
		others := without(m.lists, id)
		if len(m.objs[id]) == 0 || len(others) == 0 {
			empty := len(m.objs[id]) == 0
			want := conflict.Kind("")
			if !empty {
				want = pool.NotEmpty
			}
			return cmd{
				name: fmt.Sprintf("remove list %s (empty %v)", id, empty),
				run:  func(b *board) error { return b.Apply(aper.On(b.RemoveList(id))) },
				pre:  func(m *pmodel) bool { return slices.Contains(m.lists, id) && (len(m.objs[id]) == 0) == empty },
				next: func(m *pmodel) {
					if empty {
						m.lists = without(m.lists, id)
						delete(m.objs, id)
					}
				},
				want: want,
			}.command()
		}
		into := others[r[2]%len(others)]
		pos := pickPos(r[3], m.objs[into], uuid.Nil)
		return cmd{
			name: fmt.Sprintf("remove list %s into %s at %+v", id, into, pos),
			run:  func(b *board) error { return b.Apply(aper.On(b.RemoveListInto(id, into, pos.list()))) },
			pre: func(m *pmodel) bool {
				return slices.Contains(m.lists, id) && slices.Contains(m.lists, into) && into != id && pos.valid(m.objs[into], uuid.Nil)
			},
			next: func(m *pmodel) {
				moved := m.objs[id]
				s := m.objs[into]
				i := len(s)
				switch pos.kind {
				case 0:
					i = 0
				case 2:
					i = slices.Index(s, pos.anchor)
				case 3:
					i = slices.Index(s, pos.anchor) + 1
				}
				if len(moved) > 0 {
					m.objs[into] = slices.Insert(s, i, moved...)
				}
				m.lists = without(m.lists, id)
				delete(m.objs, id)
			},
		}.command()
	case kind < 7: // create an object
		id, l := numID(m.next+1), m.lists[r[1]%len(m.lists)]
		pos, v := pickPos(r[2], m.objs[l], uuid.Nil), int64(r[3]%100)
		return cmd{
			name: fmt.Sprintf("create %s in %s at %+v", id, l, pos),
			run:  apply(boardT{Op: pool.OpCreate, ID: id, List: l, Pos: pos.list(), Value: aper.NewCounter(v)}),
			pre: func(m *pmodel) bool {
				_, dup := m.listOf(id)
				return !dup && slices.Contains(m.lists, l) && pos.valid(m.objs[l], uuid.Nil)
			},
			next: func(m *pmodel) {
				m.objs[l] = pos.insert(m.objs[l], id)
				m.val[id] = v
				m.next = max(m.next, binary.BigEndian.Uint64(id[8:]))
			},
		}.command()
	case kind < 10: // move an object
		id, l := objs[r[1]%len(objs)], m.lists[r[2]%len(m.lists)]
		pos := pickPos(r[3], m.objs[l], id)
		return cmd{
			name: fmt.Sprintf("move %s to %s at %+v", id, l, pos),
			run:  func(b *board) error { return b.Apply(aper.On(b.Move(id, l, pos.list()))) },
			pre: func(m *pmodel) bool {
				_, ok := m.listOf(id)
				return ok && slices.Contains(m.lists, l) && pos.valid(m.objs[l], id)
			},
			next: func(m *pmodel) {
				from, _ := m.listOf(id)
				m.objs[from] = without(m.objs[from], id)
				m.objs[l] = pos.insert(m.objs[l], id)
			},
		}.command()
	case kind == 10:
		id := objs[r[1]%len(objs)]
		return cmd{
			name: fmt.Sprintf("delete %s", id),
			run:  func(b *board) error { return b.Apply(aper.On(b.Delete(id))) },
			pre:  func(m *pmodel) bool { _, ok := m.listOf(id); return ok },
			next: func(m *pmodel) {
				from, _ := m.listOf(id)
				m.objs[from] = without(m.objs[from], id)
				delete(m.val, id)
			},
		}.command()
	default:
		id, n := objs[r[1]%len(objs)], int64(r[2]%10)
		return cmd{
			name: fmt.Sprintf("update %s add %d", id, n),
			run: func(b *board) error {
				return b.Apply(aper.On(b.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n})))
			},
			pre:  func(m *pmodel) bool { _, ok := m.listOf(id); return ok },
			next: func(m *pmodel) { m.val[id] += n },
		}.command()
	}
}

// TestModel runs random command sequences against the board and a naive map-of-slices model and
// compares lists, names, objects and values after every command.
func TestModel(t *testing.T) {
	cmds := &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(commands.State) commands.SystemUnderTest {
			return pool.New[*aper.Counter, aper.CounterTransition]()
		},
		InitialStateGen: gen.Const(0).Map(func(int) *pmodel {
			return &pmodel{name: map[uuid.UUID]string{}, objs: map[uuid.UUID][]uuid.UUID{}, val: map[uuid.UUID]int64{}}
		}),
		GenCommandFunc: func(s commands.State) gopter.Gen {
			m := s.(*pmodel)
			return gen.SliceOfN(4, gen.IntRange(0, 1<<20)).Map(func(r []int) commands.Command { return m.command(r) })
		},
	}
	props := gopter.NewProperties(fuzz.Parameters(t, 100, 100, 1))
	props.Property("board matches the model", commands.Prop(cmds))
	props.TestingRun(t)
}
