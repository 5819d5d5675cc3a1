package list_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
	"github.com/leanovate/gopter/gen"
)

// model is the naive reference: the items as two parallel slices.
type model struct {
	ids  []uuid.UUID
	vals []int64
}

func (m model) clone() model { return model{ids: slices.Clone(m.ids), vals: slices.Clone(m.vals)} }

// system is the list under test; commands may replace it (clone, decode).
type system struct{ l *counters }

// observed is what a command saw: the list's contents read three ways, and Apply's error.
type observed struct {
	m   model
	err error
	bad string // a read that disagreed with the order of All
}

func observe(l *counters, err error) observed {
	var o observed
	o.err = err
	for id, v := range l.All() {
		o.m.ids = append(o.m.ids, id)
		o.m.vals = append(o.m.vals, v.Value())
	}
	if l.Len() != len(o.m.ids) {
		o.bad = fmt.Sprintf("Len %d, All yields %d", l.Len(), len(o.m.ids))
	}
	for i, id := range o.m.ids {
		if j, ok := l.IndexOf(id); !ok || j != i {
			o.bad = fmt.Sprintf("IndexOf(item %d) = %d, %v", i, j, ok)
		}
		if got, _, ok := l.At(i); !ok || got != id {
			o.bad = fmt.Sprintf("At(%d) is not the %dth item of All", i, i)
		}
	}
	var back []uuid.UUID
	for id := range l.Backward() {
		back = append(back, id)
	}
	slices.Reverse(back)
	if !slices.Equal(back, o.m.ids) {
		o.bad = "Backward is not All reversed"
	}
	return o
}

type cmd struct {
	name string
	run  func(s *system) error
	next func(m model) model
	pre  func(m model) bool
}

func (c cmd) command() commands.Command {
	return &commands.ProtoCommand{
		Name: c.name,
		RunFunc: func(sut commands.SystemUnderTest) commands.Result {
			s := sut.(*system)
			err := c.run(s)
			return observe(s.l, err)
		},
		NextStateFunc: func(st commands.State) commands.State { return c.next(st.(model).clone()) },
		PreConditionFunc: func(st commands.State) bool {
			return c.pre == nil || c.pre(st.(model))
		},
		PostConditionFunc: func(st commands.State, res commands.Result) *gopter.PropResult {
			o := res.(observed)
			want := st.(model)
			switch {
			case o.err != nil:
				return &gopter.PropResult{Status: gopter.PropError, Error: o.err}
			case o.bad != "":
				return &gopter.PropResult{Status: gopter.PropError, Error: fmt.Errorf("%s", o.bad)}
			case !slices.Equal(o.m.ids, want.ids):
				return &gopter.PropResult{Status: gopter.PropError, Error: fmt.Errorf("ids differ: got %v, want %v", o.m.ids, want.ids)}
			case !slices.Equal(o.m.vals, want.vals):
				return &gopter.PropResult{Status: gopter.PropError, Error: fmt.Errorf("values differ: got %v, want %v", o.m.vals, want.vals)}
			}
			return &gopter.PropResult{Status: gopter.PropTrue}
		},
	}
}

func nonEmpty(m model) bool { return len(m.ids) > 0 }

func apply(s *system, t countersT) error { return s.l.Apply(aper.On(t)) }

// conflicts applies t, which must be a conflict that leaves the list's encoding unchanged.
func conflicts(s *system, t countersT) error {
	cf, err := apertest.TryApply(s.l, aper.On(t))
	if err == nil && cf == nil {
		err = errors.New("applied, want a conflict")
	}
	return err
}

func insertCmd(i int, v int64, hi, lo uint64) commands.Command {
	id := uuid.UUID{}
	for k := range 8 {
		id[k], id[8+k] = byte(hi>>(8*k)), byte(lo>>(8*k))
	}
	id[6] = id[6]&0x0f | 0x40 // a valid version 4 id, never the nil id
	return cmd{
		name: fmt.Sprintf("insert(%d, %d)", i, v),
		run: func(s *system) error {
			_, t := s.l.InsertAt(i%(s.l.Len()+1), aper.NewCounter(v))
			t.ID = id
			return apply(s, t)
		},
		next: func(m model) model {
			at := i % (len(m.ids) + 1)
			m.ids = slices.Insert(m.ids, at, id)
			m.vals = slices.Insert(m.vals, at, v)
			return m
		},
		pre: func(m model) bool { return !slices.Contains(m.ids, id) },
	}.command()
}

func deleteCmd(i int) commands.Command {
	return cmd{
		name: fmt.Sprintf("delete(%d)", i),
		run: func(s *system) error {
			id, _, _ := s.l.At(i % s.l.Len())
			return apply(s, s.l.Delete(id))
		},
		next: func(m model) model {
			at := i % len(m.ids)
			m.ids = slices.Delete(m.ids, at, at+1)
			m.vals = slices.Delete(m.vals, at, at+1)
			return m
		},
		pre: nonEmpty,
	}.command()
}

func moveCmd(i, j int) commands.Command {
	return cmd{
		name: fmt.Sprintf("move(%d, %d)", i, j),
		run: func(s *system) error {
			n := s.l.Len()
			id, _, _ := s.l.At(i % n)
			return apply(s, s.l.MoveTo(id, j%n))
		},
		next: func(m model) model {
			n := len(m.ids)
			from, to := i%n, j%n
			id, v := m.ids[from], m.vals[from]
			m.ids = slices.Insert(slices.Delete(m.ids, from, from+1), to, id)
			m.vals = slices.Insert(slices.Delete(m.vals, from, from+1), to, v)
			return m
		},
		pre: nonEmpty,
	}.command()
}

func updateCmd(i int, d int64) commands.Command {
	return cmd{
		name: fmt.Sprintf("update(%d, %+d)", i, d),
		run: func(s *system) error {
			id, _, _ := s.l.At(i % s.l.Len())
			return apply(s, s.l.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: d}))
		},
		next: func(m model) model {
			m.vals[i%len(m.vals)] += d
			return m
		},
		pre: nonEmpty,
	}.command()
}

// cloneCmd continues with a clone, after changing the original in every way: the clone must
// not see it.
var cloneCmd = cmd{
	name: "clone",
	run: func(s *system) error {
		c := s.l.Clone()
		if s.l.Len() > 0 {
			id, _, _ := s.l.At(0)
			if err := apply(s, s.l.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1000})); err != nil {
				return err
			}
			last, _, _ := s.l.At(s.l.Len() - 1)
			if err := apply(s, s.l.MoveTo(last, 0)); err != nil {
				return err
			}
			if err := apply(s, s.l.Delete(id)); err != nil {
				return err
			}
		}
		_, t := s.l.Append(aper.NewCounter(-1))
		if err := apply(s, t); err != nil {
			return err
		}
		s.l = c
		return nil
	},
	next: func(m model) model { return m },
}.command()

// decodeCmd continues with the list decoded from its encoding, alternating codecs.
func decodeCmd(codec int) commands.Command {
	c := aper.Codecs()[codec%len(aper.Codecs())]
	return cmd{
		name: "decode " + c.Name(),
		run: func(s *system) error {
			b, err := c.Marshal(s.l)
			if err != nil {
				return err
			}
			var l counters
			if err := c.Unmarshal(b, &l); err != nil {
				return err
			}
			s.l = &l
			return nil
		},
		next: func(m model) model { return m },
	}.command()
}

// conflictCmd applies transitions that must conflict and change nothing.
var conflictCmd = cmd{
	name: "conflicts",
	run: func(s *system) error {
		missing := uuid.New()
		for _, t := range []countersT{s.l.Delete(missing), s.l.Move(missing, list.End()), s.l.Update(missing, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})} {
			if err := conflicts(s, t); err != nil {
				return fmt.Errorf("%v on a missing id: %w", t.Op, err)
			}
		}
		if s.l.Len() > 0 {
			id, _, _ := s.l.At(0)
			if err := conflicts(s, countersT{Op: list.OpInsert, ID: id, Pos: list.End(), Value: aper.NewCounter(0)}); err != nil {
				return fmt.Errorf("a duplicate insert: %w", err)
			}
			if err := conflicts(s, s.l.Move(id, list.After(missing, list.ZenoIndex{}))); err != nil {
				return fmt.Errorf("a move after a missing anchor: %w", err)
			}
		}
		return nil
	},
	next: func(m model) model { return m },
}.command()

// TestListAgainstModel runs random command sequences on a List and on a plain slice and
// compares them after every step.
func TestListAgainstModel(t *testing.T) {
	cmds := &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(commands.State) commands.SystemUnderTest {
			return &system{l: list.New[*aper.Counter, aper.CounterTransition]()}
		},
		InitialStateGen: gen.Const(model{}),
		GenCommandFunc: func(commands.State) gopter.Gen {
			return gen.Weighted([]gen.WeightedGen{
				{Weight: 6, Gen: gopter.CombineGens(gen.IntRange(0, 1000), gen.Int64Range(-100, 100), gen.UInt64(), gen.UInt64()).
					Map(func(v []any) commands.Command {
						return insertCmd(v[0].(int), v[1].(int64), v[2].(uint64), v[3].(uint64))
					})},
				{Weight: 2, Gen: gen.IntRange(0, 1000).Map(func(i int) commands.Command { return deleteCmd(i) })},
				{Weight: 2, Gen: gopter.CombineGens(gen.IntRange(0, 1000), gen.IntRange(0, 1000)).
					Map(func(v []any) commands.Command { return moveCmd(v[0].(int), v[1].(int)) })},
				{Weight: 2, Gen: gopter.CombineGens(gen.IntRange(0, 1000), gen.Int64Range(-5, 5)).
					Map(func(v []any) commands.Command { return updateCmd(v[0].(int), v[1].(int64)) })},
				{Weight: 1, Gen: gen.Const(cloneCmd)},
				{Weight: 1, Gen: gen.IntRange(0, 1).Map(func(i int) commands.Command { return decodeCmd(i) })},
				{Weight: 1, Gen: gen.Const(conflictCmd)},
			})
		},
	}
	props := gopter.NewProperties(fuzz.Parameters(t, 150, 120, 1))
	props.Property("List behaves as a slice", commands.Prop(cmds))
	props.TestingRun(t)
}
