package list

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

type strList = List[*aper.Atom[string], aper.AtomTransition[string]]

// applyGeneral applies ev to l with the shortcut of besideAnchor off.
func applyGeneral(l *strList, ev aper.Event[Transition[*aper.Atom[string], aper.AtomTransition[string]]]) error {
	beside = false
	defer func() { beside = true }()
	return l.Apply(ev)
}

// sameList reports how a and b differ, item by item (ids, indexes and values), or "".
func sameList(a, b *strList) string {
	type row struct {
		id  uuid.UUID
		key ZenoIndex
		v   string
	}
	rows := func(l *strList) ([]row, bool) {
		var out []row
		for it := range l.items.All() {
			out = append(out, row{it.id, it.key, it.value.Get()})
			if k, ok := l.KeyOf(it.id); !ok || k != it.key {
				return nil, false
			}
		}
		return out, l.ids.Len() == len(out)
	}
	ra, oka := rows(a)
	rb, okb := rows(b)
	switch {
	case !oka || !okb:
		return "the ids do not match the items"
	case !slices.Equal(ra, rb):
		return "the lists differ"
	}
	return ""
}

// Transitions made on stale copies of a list (so that their positions' fallback indexes are
// often no longer beside their anchors), on the list itself, and by hand with any anchor and
// index, give the same result and the same error with the shortcut of besideAnchor as with the
// general path (Resolve), on lists cloned now and then.
func TestBesideAnchorSameAsGeneral(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 200, 100, 0))
	props.Property("shortcut == general", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 16))
		fast, general := New[*aper.Atom[string], aper.AtomTransition[string]](), New[*aper.Atom[string], aper.AtomTransition[string]]()
		stale := []*strList{fast.Clone()}
		var ids []uuid.UUID
		pick := func() uuid.UUID {
			if len(ids) == 0 || r.IntN(10) == 0 {
				return uuid.New()
			}
			return ids[r.IntN(len(ids))]
		}
		index := func(l *strList) ZenoIndex {
			if l.Len() > 0 && r.IntN(2) == 0 {
				_, k := items[*aper.Atom[string], aper.AtomTransition[string]]{l}.At(r.IntN(l.Len()))
				if r.IntN(2) == 0 {
					return k // taken
				}
				return k.After()
			}
			return ZenoIndex{b: string([]byte{byte(1 + r.IntN(255)), byte(1 + r.IntN(255))})}
		}
		var prev Transition[*aper.Atom[string], aper.AtomTransition[string]]
		for range 300 {
			on := fast
			if r.IntN(2) == 0 {
				on = stale[r.IntN(len(stale))]
			}
			v := aper.NewAtom(string(rune('a' + r.IntN(26))))
			var tr Transition[*aper.Atom[string], aper.AtomTransition[string]]
			switch r.IntN(10) {
			case 0, 1:
				_, tr = on.InsertAt(r.IntN(on.Len()+1), v)
			case 2:
				_, tr = on.InsertAfter(pick(), v)
			case 3:
				_, tr = on.InsertBefore(pick(), v)
			case 4:
				_, tr = on.Insert(ListPosition{Kind: PositionKind(PosAfter + PositionKind(r.IntN(2))), ID: pick(), Index: index(on)}, v)
			case 5:
				tr = on.MoveTo(pick(), r.IntN(on.Len()+1))
			case 6:
				tr = on.Move(pick(), ListPosition{Kind: PositionKind(PosAfter + PositionKind(r.IntN(2))), ID: pick(), Index: index(on)})
			case 7:
				tr = on.Delete(pick())
			case 8:
				tr = prev // again: a duplicate insert, a move to where it went, a delete of nothing
				if tr.Op == 0 {
					tr = on.Delete(pick())
				}
			default:
				tr = on.Update(pick(), v.Set("u"))
			}
			prev = tr
			errF := fast.Apply(aper.On(tr))
			errG := applyGeneral(general, aper.On(tr))
			if (errF == nil) != (errG == nil) || errF != nil && (errF.Error() != errG.Error() || !reflect.DeepEqual(conflict.As(errF), conflict.As(errG))) {
				t.Fatalf("%+v: the shortcut gives %v, the general path %v", tr, errF, errG)
			}
			if d := sameList(fast, general); d != "" {
				t.Fatalf("%+v: %s", tr, d)
			}
			if errF == nil && tr.Op == OpInsert {
				ids = append(ids, tr.ID)
			}
			switch r.IntN(12) {
			case 0:
				stale = append(stale, fast.Clone())
			case 1:
				fast, general = fast.Clone(), general.Clone()
			}
		}
		return !t.Failed()
	}, gen.UInt64()))
	props.TestingRun(t)
}
