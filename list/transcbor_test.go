package list_test

import (
	"encoding/hex"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

type (
	strAtoms  = list.List[*aper.Atom[string], aper.AtomTransition[string]]
	atomTrans = list.Transition[*aper.Atom[string], aper.AtomTransition[string]]
)

// sameTransitionDecode checks, for a target that starts as start (copied for each decoder),
// that the hand-written decoder, when it takes b, gives what the general decoder gives, which
// must accept b; and that UnmarshalCBOR and aper.CBOR agree with the general decoder, errors
// included. It reports whether the hand-written decoder took b.
func sameTransitionDecode[V any, T any](t *testing.T, b []byte, start func() list.Transition[V, T]) bool {
	t.Helper()
	want := start()
	werr := list.DecodeTransitionGeneral(b, &want)
	got := start()
	ok := list.DecodeTransitionFast(b, &got)
	if ok && (werr != nil || !reflect.DeepEqual(got, want)) {
		t.Fatalf("% x: the fast decoder gives %+v, the general one %+v (%v)", b, got, want, werr)
	}
	if !ok && !reflect.DeepEqual(got, start()) {
		t.Fatalf("% x: the fast decoder refused it but changed the target to %+v", b, got)
	}
	for name, decode := range map[string]func(*list.Transition[V, T]) error{
		"UnmarshalCBOR": func(tr *list.Transition[V, T]) error { return tr.UnmarshalCBOR(b) },
		"aper.CBOR":     func(tr *list.Transition[V, T]) error { return aper.CBOR.Unmarshal(b, tr) },
	} {
		tr := start()
		err := decode(&tr)
		if (err != nil) != (werr != nil) || (err == nil && !reflect.DeepEqual(tr, want)) {
			t.Fatalf("% x: %s gives %+v (%v), the general decoder %+v (%v)", b, name, tr, err, want, werr)
		}
	}
	return ok
}

func zeroAtomTrans() atomTrans { return atomTrans{} }

// randomTransition makes one transition of every kind the constructors make, on a list of
// strings that r keeps editing, with ids and indexes of any value.
func randomTransition(r *rand.Rand, l *strAtoms, ids *[]uuid.UUID) atomTrans {
	pick := func() uuid.UUID {
		if len(*ids) == 0 || r.IntN(8) == 0 {
			return uuid.New()
		}
		return (*ids)[r.IntN(len(*ids))]
	}
	word := func() *aper.Atom[string] {
		return aper.NewAtom(string([]rune("aé😀 z")[:r.IntN(6)]) + string(make([]byte, r.IntN(40))))
	}
	var tr atomTrans
	switch r.IntN(9) {
	case 0:
		_, tr = l.InsertAt(r.IntN(l.Len()+1), word())
	case 1:
		_, tr = l.InsertAfter(pick(), word())
	case 2:
		_, tr = l.InsertBefore(pick(), word())
	case 3:
		_, tr = l.Append(word())
	case 4:
		_, tr = l.Prepend(word())
	case 5:
		tr = l.Delete(pick())
	case 6:
		tr = l.MoveTo(pick(), r.IntN(l.Len()+1))
	case 7:
		tr = l.Update(pick(), aper.NewAtom("").Set(word().Get()))
	default:
		tr = l.Respace(pick(), pick())
	}
	if err := l.Apply(aper.On(tr)); err == nil && tr.Op == list.OpInsert {
		*ids = append(*ids, tr.ID)
	}
	return tr
}

// Encoded transitions decode alike by both decoders, and so do the same bytes damaged: cut,
// extended, or with a byte changed. The hand-written decoder takes every undamaged encoding.
func TestDecodeTransitionCBORProperty(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 300, 100, 0))
	props.Property("fast decode == general decode", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 15))
		l := list.New[*aper.Atom[string], aper.AtomTransition[string]]()
		var ids []uuid.UUID
		for range 60 {
			tr := randomTransition(r, l, &ids)
			b, err := aper.CBOR.Marshal(tr)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTransitionDecode(t, b, zeroAtomTrans) {
				t.Fatalf("% x: the fast decoder did not take the encoding of %+v", b, tr)
			}
			for range 8 {
				d := append([]byte(nil), b...)
				switch r.IntN(3) {
				case 0:
					d = d[:r.IntN(len(d))]
				case 1:
					d = append(d, byte(r.IntN(256)))
				default:
					d[r.IntN(len(d))] = byte(r.IntN(256))
				}
				sameTransitionDecode(t, d, zeroAtomTrans)
			}
		}
		return !t.Failed()
	}, gen.UInt64()))
	props.TestingRun(t)
}

// Forms that a CBOR encoder may write but the library's does not, and broken ones; and decoding
// into a transition that already holds fields.
func TestDecodeTransitionCBORForms(t *testing.T) {
	id := "50" + "0102030405060708090a0b0c0d0e0f10"
	id2 := "50" + "1112131415161718191a1b1c1d1e1f20"
	cases := []struct {
		name string
		hex  string
		fast bool // the hand-written decoder takes it
	}{
		{"delete", "a2" + "0102" + "02" + id, true},
		{"insert after", "a4" + "0101" + "02" + id + "03a3010502" + id2 + "034280" + "40" + "04" + "6161", true},
		{"insert with a respace", "a4" + "0101" + "02" + id + "03a20101" + "04a201" + id + "02" + id2 + "04" + "6161", true},
		{"update", "a3" + "0104" + "02" + id + "05a1016178", true},
		{"empty map", "a0", true},
		{"no id", "a1" + "0102", true},
		{"op in a longer form", "a2" + "011802" + "02" + id, true},
		{"map length in a longer form", "b802" + "0102" + "02" + id, true},
		{"an empty index", "a2" + "0101" + "03a2010303" + "40", true},
		{"keys out of order", "a2" + "02" + id + "0102", false},
		{"duplicate key", "a2" + "0102" + "0103", false},
		{"unknown key", "a2" + "0102" + "06" + "00", false},
		{"text key", "a1" + "6131" + "02", false},
		{"op over 255", "a1" + "01190100", false},
		{"negative op", "a1" + "0120", false},
		{"id of 15 bytes", "a1" + "02" + "4f" + "0102030405060708090a0b0c0d0e0f", false},
		{"id as an array", "a1" + "02" + "90" + "00000000000000000000000000000000", false},
		{"index ending in zero", "a1" + "03a2010303" + "420100", false},
		{"index as text", "a1" + "03a2010303" + "6161", false},
		{"respace with one end", "a1" + "03a20101" + "04a101" + id, false},
		{"null value", "a2" + "0101" + "04f6", false},
		{"value of the wrong type", "a2" + "0101" + "0401", false},
		{"tagged value", "a2" + "0101" + "04c0" + "6161", false},
		{"indefinite-length map", "bf" + "0102" + "ff", false},
		{"indefinite-length value", "a1" + "04" + "7f6161ff", false},
		{"invalid UTF-8 value", "a1" + "04" + "61ff", false},
		{"trailing byte", "a1" + "0102" + "00", false},
		{"cut short", "a2" + "0102", false},
		{"a count past the input", "bb" + "ffffffffffffffff", false},
		{"null", "f6", false},
		{"empty input", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mustHex(t, c.hex)
			if got := sameTransitionDecode(t, b, zeroAtomTrans); got != c.fast {
				t.Errorf("the fast decoder took it: %v, want %v", got, c.fast)
			}
			// Into a transition that holds fields already: those the input does not hold stay.
			held := func() atomTrans {
				return atomTrans{Op: list.OpMove, ID: uuid.UUID{9}, Pos: list.After(uuid.UUID{8}, list.MustParseZenoIndex("90")), Inner: aper.AtomTransition[string]{Value: "old"}}
			}
			sameTransitionDecode(t, b, held)
		})
	}
}

// A list of counters decodes its transitions alike by both decoders too.
func TestDecodeTransitionCBORCounters(t *testing.T) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	a, ins := l.Append(aper.NewCounter(7))
	if err := l.Apply(aper.On(ins)); err != nil {
		t.Fatal(err)
	}
	_, after := l.InsertAfter(a, aper.NewCounter(-3))
	for _, tr := range []list.Transition[*aper.Counter, aper.CounterTransition]{ins, after, l.Update(a, aper.NewCounter(0).Add(5)), l.Delete(a)} {
		b, err := aper.CBOR.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTransitionDecode(t, b, func() list.Transition[*aper.Counter, aper.CounterTransition] {
			return list.Transition[*aper.Counter, aper.CounterTransition]{}
		}) {
			t.Errorf("% x: the fast decoder did not take the encoding of %+v", b, tr)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkDecodeTransitionCBOR decodes the encodings of a list of strings' usual transitions
// (inserts after an item, moves, deletes, updates), with the general decoder alone and with
// UnmarshalCBOR (the hand-written decoder).
func BenchmarkDecodeTransitionCBOR(b *testing.B) {
	l := list.New[*aper.Atom[string], aper.AtomTransition[string]]()
	r := rand.New(rand.NewPCG(1, 2))
	var ids []uuid.UUID
	for range 100 {
		id, tr := l.InsertAt(r.IntN(l.Len()+1), aper.NewAtom("item 123"))
		if err := l.Apply(aper.On(tr)); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	var encoded [][]byte
	for i := range 64 {
		id := ids[r.IntN(len(ids))]
		var tr atomTrans
		switch i % 4 {
		case 0:
			_, tr = l.InsertAt(r.IntN(l.Len()+1), aper.NewAtom("item 456"))
		case 1:
			tr = l.MoveTo(id, r.IntN(l.Len()))
		case 2:
			tr = l.Delete(id)
		default:
			tr = l.Update(id, aper.NewAtom("").Set("done"))
		}
		e, err := aper.CBOR.Marshal(tr)
		if err != nil {
			b.Fatal(err)
		}
		encoded = append(encoded, e)
	}
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			var tr atomTrans
			if err := list.DecodeTransitionGeneral(encoded[i%len(encoded)], &tr); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("UnmarshalCBOR", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			var tr atomTrans
			if err := tr.UnmarshalCBOR(encoded[i%len(encoded)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
