package aper_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
)

// sameJSON compares two states by their JSON encoding.
func sameJSON[S any](a, b S) error {
	ea, err := json.Marshal(a)
	if err != nil {
		return err
	}
	eb, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if string(ea) != string(eb) {
		return fmt.Errorf("%s != %s", ea, eb)
	}
	return nil
}

type counterStep = apertest.UndoStep[*aper.Counter, aper.CounterTransition]

// TestUndoCounterProperty: adds by me and others; undoing mine leaves the others' sum.
func TestUndoCounterProperty(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 60, 1), func() *aper.Counter { return aper.NewCounter(7) },
		func(code uint64) counterStep {
			n := int64(code>>8%21) - 10
			return counterStep{Own: code&1 == 0, Join: code&2 == 0, Make: func(*aper.Counter, *aper.Counter) (aper.CounterTransition, bool) {
				return c.Add(n), true
			}}
		}, sameJSON)
}

type atom = aper.Atom[int]
type atomStep = apertest.UndoStep[*atom, aper.AtomTransition[int]]

// TestUndoAtomProperty: sets by me and others, each of a value never set before; undoing mine
// gives back the others' latest, or conflicts where someone set the atom after me.
func TestUndoAtomProperty(t *testing.T) {
	t.Parallel()
	var a *atom
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 30, 1), func() *atom { return aper.NewAtom(0) },
		func(code uint64) atomStep {
			v := int(code >> 8)
			return atomStep{Own: code&1 == 0, Join: code&2 == 0, Make: func(*atom, *atom) (aper.AtomTransition[int], bool) {
				return a.Set(v), true
			}}
		}, sameJSON)
}

type scores = aper.Map[string, *aper.Counter, aper.CounterTransition]
type scoresT = aper.MapTransition[string, *aper.Counter, aper.CounterTransition]
type scoresStep = apertest.UndoStep[*scores, scoresT]

func newScores() *scores {
	m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
	for _, k := range []string{"m0", "m1", "s", "t0", "t1"} {
		_ = m.Apply(aper.On(m.Set(k, aper.NewCounter(1))))
	}
	return m
}

// TestUndoMapProperty: I set, delete and update my keys (m...); others set, delete and update
// theirs (t...); both update the shared key s, which others may delete but never set. Undoing
// mine leaves theirs; an undo of my update of s after they deleted it is a conflict. (The undo
// of an update is an update by the inner inverse, so after someone set the key anew it would
// apply to the new value: a case this property leaves out.)
func TestUndoMapProperty(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 60, 1), newScores,
		func(code uint64) scoresStep {
			own := code&1 == 0
			prefix := "t"
			if own {
				prefix = "m"
			}
			k := fmt.Sprintf("%s%d", prefix, code>>4%3)
			n := int64(code>>8%9) - 4
			return scoresStep{Own: own, Join: code&2 == 0, Make: func(m, _ *scores) (scoresT, bool) {
				switch code >> 12 % 4 {
				case 0:
					return m.Set(k, aper.NewCounter(n)), true
				case 1:
					if !own && code&8 == 0 {
						k = "s"
					}
					return m.Delete(k), true
				case 2:
					if code&8 == 0 {
						k = "s"
					}
					fallthrough
				default:
					return m.Update(k, c.Add(n)), true
				}
			}}
		}, sameJSON)
}

type txn = aper.Transactional[*scores, scoresT]
type txnStep = apertest.UndoStep[*txn, aper.Transaction[scoresT]]

// TestUndoTransactionProperty: transactions of map transitions, undone all or nothing.
func TestUndoTransactionProperty(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	var m *scores
	apertest.UndoProperty(t, fuzz.Parameters(t, 100, 40, 1), func() *txn { return aper.NewTransactional(newScores()) },
		func(code uint64) txnStep {
			own := code&1 == 0
			prefix := "t"
			if own {
				prefix = "m"
			}
			return txnStep{Own: own, Join: code&2 == 0, Make: func(*txn, *txn) (aper.Transaction[scoresT], bool) {
				var tx aper.Transaction[scoresT]
				for i := range int(code>>4%3) + 1 {
					k := fmt.Sprintf("%s%d", prefix, code>>(8+4*i)%3)
					switch code >> (20 + 2*i) % 3 {
					case 0:
						tx = append(tx, m.Set(k, aper.NewCounter(int64(i))))
					case 1:
						tx = append(tx, m.Delete(k))
					default:
						tx = append(tx, m.Update(k, c.Add(int64(i)+1)))
					}
				}
				return tx, true
			}}
		}, sameJSON)
}

func TestUndoCounterInverses(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	for _, tc := range []struct {
		name     string
		start    int64
		tr, want aper.CounterTransition
	}{
		{"add", 5, c.Add(3), c.Add(-3)},
		{"subtract", 5, c.Add(-3), c.Add(3)},
		{"set", 5, c.Set(9), c.Set(5)},
		{"add of the least int64", 0, c.Add(math.MinInt64), c.Set(0)},
	} {
		x := aper.NewCounter(tc.start)
		inv, err := x.ApplyInverse(aper.On(tc.tr))
		if err != nil || inv != tc.want {
			t.Errorf("%s: ApplyInverse = %+v, %v; want %+v", tc.name, inv, err, tc.want)
			continue
		}
		if err := x.Apply(aper.On(inv)); err != nil || x.Value() != tc.start {
			t.Errorf("%s: the inverse gives %d, %v; want %d", tc.name, x.Value(), err, tc.start)
		}
	}
	x := aper.NewCounter(math.MaxInt64)
	if _, err := x.ApplyInverse(aper.On(c.Add(1))); !errors.Is(err, conflict.ErrOutOfRange) || x.Value() != math.MaxInt64 {
		t.Errorf("an overflowing add: %v, value %d; want OutOfRange, unchanged", err, x.Value())
	}
}

// TestUndoConflicts: the inverses that conflict once others changed the state since.
func TestUndoConflicts(t *testing.T) {
	t.Parallel()
	var c *aper.Counter
	a := aper.NewAtom("a")
	inv, _ := a.ApplyInverse(aper.On(a.Set("b")))
	apertest.MustApply(t, a, aper.On(a.Set("c")))
	apertest.Conflicts(t, a, aper.On(inv), conflict.Mismatch)

	m := newScores()
	inv2, _ := m.ApplyInverse(aper.On(m.Update("t0", c.Add(2))))
	apertest.MustApply(t, m, aper.On(m.Delete("t0")))
	cf := apertest.Conflicts(t, m, aper.On(inv2), conflict.NotFound)
	if len(cf.Path) != 1 || cf.Path[0] != "t0" {
		t.Errorf("conflict path %v, want [t0]", cf.Path)
	}

	x := aper.NewTransactional(newScores())
	inv3, err := x.ApplyInverse(aper.On(aper.Transaction[scoresT]{m.Delete("m0"), m.Update("t1", c.Add(1))}))
	if err != nil {
		t.Fatal(err)
	}
	apertest.MustApply(t, x, aper.On(aper.Transaction[scoresT]{m.Delete("t1")}))
	apertest.Conflicts(t, x, aper.On(inv3), conflict.NotFound) // and m0 stays deleted: all or nothing
	if x.State().Has("m0") {
		t.Error("a conflicting undo of a transaction restored part of it")
	}
}

// TestApplyInverseNoInverter: a state that is no Inverter changes nothing.
func TestApplyInverseNoInverter(t *testing.T) {
	t.Parallel()
	s := &noInverse{}
	if _, err := aper.ApplyInverse[int](s, aper.On(1)); !errors.Is(err, aper.ErrNoInverse) || s.n != 0 {
		t.Errorf("ApplyInverse on no Inverter: %v, n = %d", err, s.n)
	}
	x := aper.NewTransactional(s)
	if _, err := x.ApplyInverse(aper.On(aper.Transaction[int]{1})); !errors.Is(err, aper.ErrNoInverse) || x.State().n != 0 {
		t.Errorf("a transaction of a state with no inverse: %v", err)
	}
}

type noInverse struct{ n int }

func (s *noInverse) Apply(ev aper.Event[int]) error { s.n += ev.Transition; return nil }
func (s *noInverse) Clone() *noInverse              { c := *s; return &c }
