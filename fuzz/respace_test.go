package fuzz_test

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

// respaceTransition draws list edits that crowd the list and so make its constructors respace
// it: most inserts go at the middle (each between the two closest indexes, the pattern that
// crowds fastest), or next to an item, with deletes, moves (by position and next to an item),
// and respaces of a random run that the client asks for itself.
func respaceTransition(_ int, l *counterList) gopter.Gen {
	var ids []uuid.UUID
	for id := range l.All() {
		ids = append(ids, id)
	}
	anchored := func(anchors []uuid.UUID) gopter.Gen {
		return gopter.CombineGens(genUUID(), pick(anchors), gen.Bool(), gen.Int64Range(-3, 3)).Map(func(v []any) counterListT {
			pos := l.PositionAfter(v[1].(uuid.UUID))
			if v[2].(bool) {
				pos = l.PositionBefore(v[1].(uuid.UUID))
			}
			return counterListT{Op: list.OpInsert, ID: v[0].(uuid.UUID), Pos: pos, Value: aper.NewCounter(v[3].(int64))}
		})
	}
	insertAt := func(lo, hi int) gopter.Gen {
		return gopter.CombineGens(genUUID(), gen.IntRange(lo, hi), gen.Int64Range(-3, 3)).Map(func(v []any) counterListT {
			return counterListT{Op: list.OpInsert, ID: v[0].(uuid.UUID), Pos: l.PositionAt(v[1].(int)), Value: aper.NewCounter(v[2].(int64))}
		})
	}
	if len(ids) == 0 {
		return insertAt(0, 0)
	}
	return weighted(
		gen.WeightedGen{Weight: 10, Gen: insertAt(len(ids)/2, len(ids)/2)},
		gen.WeightedGen{Weight: 3, Gen: anchored(ids)},
		gen.WeightedGen{Weight: 2, Gen: insertAt(0, len(ids))},
		gen.WeightedGen{Weight: 2, Gen: pick(ids).Map(l.Delete)},
		gen.WeightedGen{Weight: 1, Gen: gopter.CombineGens(pick(ids), gen.IntRange(0, len(ids))).Map(func(v []any) counterListT {
			return l.MoveTo(v[0].(uuid.UUID), v[1].(int))
		})},
		gen.WeightedGen{Weight: 1, Gen: gopter.CombineGens(pick(ids), pick(ids), gen.Bool()).Map(func(v []any) counterListT {
			pos := l.PositionAfter(v[1].(uuid.UUID))
			if v[2].(bool) {
				pos = l.PositionBefore(v[1].(uuid.UUID))
			}
			return l.Move(v[0].(uuid.UUID), pos)
		})},
		gen.WeightedGen{Weight: 1, Gen: gopter.CombineGens(pick(ids), pick(ids)).Map(func(v []any) counterListT {
			return l.Respace(v[0].(uuid.UUID), v[1].(uuid.UUID))
		})},
	)
}

// crowdedList is the room's initial list: twelve items, the middle eight of them crowded
// together with indexes of 4 to 11 bytes (as a run of inserts between the same two items leaves
// them), so that edits near them respace from the first step.
func crowdedList() *counterList {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	keys := []string{"20", "30"}
	for i := range 8 {
		keys = append(keys, "40"+strings.Repeat("00", 9-i)+"01")
	}
	keys = append(keys, "50", "60")
	for i, k := range keys {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i)}) // the same ids on every replay
		t := counterListT{Op: list.OpInsert, ID: id, Pos: list.At(list.MustParseZenoIndex(k)), Value: aper.NewCounter(int64(i))}
		if err := l.Apply(aper.On(t)); err != nil {
			panic(err)
		}
	}
	return l
}

// respaceIntent replays the server's order from the initial list (what every replica does) and
// checks, after each transition, the order of intent: an insert or a move anchored to an item
// (Before, After) that is there when it applies lands right next to it, whatever respaces were
// ordered before it or carried with it; a respace changes no item's place; no index the server
// holds is longer than list.RespaceLen. The built-in checks have already compared the replicas.
func respaceIntent(q fuzz.Quiescent[*counterList, counterListT]) error {
	l := crowdedList()
	for _, ev := range q.Ordered {
		t := ev.Transition
		if !t.Pos.Respace.IsZero() && t.Op != list.OpRespace {
			carried.Add(1)
		}
		before := idsOf(l)
		if err := l.Apply(aper.On(t)); err != nil {
			return errorf("seq %d (%s) does not apply on a replay of the server's order: %v", ev.Seq, t.Op, err)
		}
		switch t.Op {
		case list.OpRespace:
			if after := idsOf(l); !slices.Equal(before, after) {
				return errorf("seq %d: a respace changed the order", ev.Seq)
			}
		case list.OpInsert, list.OpMove:
			p := t.Pos
			if (p.Kind != list.PosBefore && p.Kind != list.PosAfter) || p.ID == t.ID || !l.Has(p.ID) {
				continue
			}
			i, _ := l.IndexOf(t.ID)
			a, _ := l.IndexOf(p.ID)
			if p.Kind == list.PosAfter && i != a+1 || p.Kind == list.PosBefore && i != a-1 {
				return errorf("seq %d: %s of %s %s %s landed at %d, the anchor is at %d", ev.Seq, t.Op, t.ID, p.Kind, p.ID, i, a)
			}
		}
	}
	for id, k := range q.Server.Keys() {
		if k.Len() > list.RespaceLen {
			return errorf("item %s has an index of %d bytes", id, k.Len())
		}
	}
	return listInvariants(q.Server)
}

// carried counts the inserts and moves carrying a respace that respaceIntent has seen (each
// as often as it was checked): the property must make some.
var carried atomic.Int64

func idsOf(l *counterList) []uuid.UUID {
	var out []uuid.UUID
	for id := range l.All() {
		out = append(out, id)
	}
	return out
}

// TestPropListRespace: clients that crowd one place of a shared list, so that their inserts
// carry respaces, and that respace runs of their own, concurrently with deletes and moves,
// converge; the server's order keeps every anchored insert and move next to its anchor.
func TestPropListRespace(t *testing.T) {
	t.Parallel()
	cfg := fuzz.Config[*counterList, counterListT]{
		New:        crowdedList,
		Transition: respaceTransition,
		Check:      respaceIntent,
	}
	fuzz.Check(t, "list replicas converge under respacing, anchored edits next to their anchors", cfg, params(t))
	if carried.Load() == 0 {
		t.Error("no insert or move carried a respace: the property does not crowd the list")
	}
	t.Logf("inserts and moves carrying a respace, as checked: %d", carried.Load())
}
