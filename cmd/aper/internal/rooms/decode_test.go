package rooms

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/stretchr/testify/require"
)

// decodeGeneral decodes b into t as the general decoder did before aper-gen gave RoomTransition
// an UnmarshalCBOR: into a type of the same name and fields without it, so that its errors name
// the same type.
func decodeGeneral(b []byte, t *RoomTransition) error {
	type methods = RoomTransition
	type RoomTransition methods
	return aper.CBOR.Unmarshal(b, (*RoomTransition)(t))
}

// sameTransitionDecode checks that UnmarshalCBOR gives what the general decoder gives for b:
// both fail with the same error, or both succeed with transitions that encode alike. Each starts
// from a transition that start makes (a zero one, or one with a field set already).
func sameTransitionDecode(t *testing.T, b []byte, start func() RoomTransition) {
	t.Helper()
	want := start()
	werr := decodeGeneral(b, &want)
	got := start()
	err := got.UnmarshalCBOR(b)
	if fmt.Sprint(err) != fmt.Sprint(werr) {
		t.Fatalf("% x: UnmarshalCBOR fails with %v, the general decoder with %v", b, err, werr)
	}
	gb, gerr := aper.CBOR.Marshal(got)
	wb, werr := aper.CBOR.Marshal(want)
	require.NoError(t, gerr)
	require.NoError(t, werr)
	if string(gb) != string(wb) {
		t.Fatalf("% x: UnmarshalCBOR gives %v (% x), the general decoder %v (% x)", b, got, gb, want, wb)
	}
}

// zero starts a decode from a zero transition; counterSet from one whose Counter is set already,
// which the general decoder leaves set, or decodes into when the input sets it (a field the input
// does not hold keeps its value), and UnmarshalCBOR must do the same.
func zero() RoomTransition { return RoomTransition{} }

func counterSet() RoomTransition {
	return RoomTransition{Counter: &aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3}}
}

// randLine is a command of kind k, valid or not for the state it is given.
func randLine(r *rand.Rand, k Kind) string {
	word := []string{"milk", "héllo wörld", "", "x", strings.Repeat("ab", 40)}[r.IntN(5)]
	n := func() int { return r.IntN(6) }
	switch k {
	case Counter:
		return fmt.Sprintf("%s %d", []string{"add", "set"}[r.IntN(2)], r.Int64N(1<<40)-1<<39)
	case Text:
		switch r.IntN(3) {
		case 0:
			return "append " + word
		case 1:
			return fmt.Sprintf("insert %d %s", n(), word)
		}
		return fmt.Sprintf("delete %d %d", n(), n())
	case TodoKind:
		switch r.IntN(4) {
		case 0:
			return "add " + word
		case 1:
			return fmt.Sprintf("edit %d %s", 1+n(), word)
		case 2:
			return fmt.Sprintf("delete %d", 1+n())
		}
		return fmt.Sprintf("move %d %d", 1+n(), 1+n())
	case Kanban:
		switch r.IntN(4) {
		case 0:
			return "list " + word
		case 1:
			return fmt.Sprintf("add %d %s", 1+r.IntN(2), word)
		case 2:
			return fmt.Sprintf("move %d %d", 1+n(), 1+r.IntN(2))
		}
		return fmt.Sprintf("delete %d", 1+n())
	}
	return []string{"join", fmt.Sprintf("drop %d", r.IntN(7))}[r.IntN(2)]
}

// randTransitions makes transitions of a room of a random kind, applied one after another,
// with the ordered form of each (a text edit's carries its Version and Applied).
func randTransitions(r *rand.Rand) []RoomTransition {
	k := Kinds[r.IntN(len(Kinds))]
	s := Empty(k)
	var out []RoomTransition
	for range 1 + r.IntN(8) {
		tr, err := Parse(k, s, randLine(r, k))
		if err != nil {
			continue
		}
		if s.Apply(aper.On(tr)) != nil {
			continue
		}
		out = append(out, tr, s.Ordered(tr))
	}
	return out
}

// Encoded transitions of every kind decode alike by UnmarshalCBOR and the general decoder, from a
// zero transition and from one with a field set, and so do the same bytes damaged: cut, extended,
// or with a byte changed.
func TestTransitionCBORProperty(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 1000, 100, 0))
	props.Property("UnmarshalCBOR == general decoder", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 23))
		for _, tr := range randTransitions(r) {
			b, err := aper.CBOR.Marshal(tr)
			require.NoError(t, err)
			for _, start := range []func() RoomTransition{zero, counterSet} {
				sameTransitionDecode(t, b, start)
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
				sameTransitionDecode(t, d, zero)
			}
		}
		return !t.Failed()
	}, gen.UInt64()))
	props.TestingRun(t)
}

// Forms that the library's encoder does not write, or that set a field by another rule, go to
// the general decoder with the same result.
func TestTransitionCBORForms(t *testing.T) {
	counter := []byte{0xa2, 0x01, 0x01, 0x02, 0x05} // {1: add, 2: 5}
	text := func(k string) []byte { return append([]byte{0xa1, 0x60 + byte(len(k))}, k...) }
	cases := map[string][]byte{
		"counter":             append(text("counter"), counter...),
		"counter amount only": append(text("counter"), 0xa1, 0x02, 0x05),
		"key in another case": append(text("Counter"), counter...),
		"Go field name":       append(text("Game"), 0xa1, 0x01, 0x64, 'j', 'o', 'i', 'n'),
		"unknown key":         append(text("chess"), counter...),
		"null value":          append(text("text"), 0xf6),
		"a counter for text":  append(text("text"), counter...),
		"text for a counter":  append(text("counter"), 0x61, 'x'),
		"two fields": append(append(append([]byte{0xa2}, text("counter")[1:]...), counter...),
			append(text("dropfour")[1:], 0xa1, 0x01, 0x64, 'j', 'o', 'i', 'n')...),
		"empty map":          {0xa0},
		"integer key":        {0xa1, 0x01, 0x00},
		"indefinite map":     append(append([]byte{0xbf}, text("counter")[1:]...), append(counter, 0xff)...),
		"long head for key":  append([]byte{0xa1, 0x78, 0x07}, append([]byte("counter"), counter...)...),
		"an array":           {0x82, 0x01, 0x02},
		"null":               {0xf6},
		"empty input":        nil,
		"trailing byte":      append(append(text("counter"), counter...), 0x00),
		"value cut short":    append(text("counter"), counter[:3]...),
		"invalid UTF-8 key":  append([]byte{0xa1, 0x61, 0xff}, counter...),
		"move with bad op":   append(text("dropfour"), 0xa1, 0x01, 0x05),
		"todo of wrong form": append(text("todo"), 0x83, 0x01, 0x02, 0x03),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			for _, start := range []func() RoomTransition{zero, counterSet} {
				sameTransitionDecode(t, b, start)
			}
		})
	}
	// The errors name RoomTransition, as they did before it had an UnmarshalCBOR.
	var tr RoomTransition
	err := tr.UnmarshalCBOR([]byte{0x82, 0x01, 0x02})
	require.ErrorContains(t, err, "rooms.RoomTransition")
}

// benchTransitions are the encodings the benchmark decodes: the ordered form of a text edit
// (its op, Version and Applied) and the insert of an item into a todo list.
func benchTransitions(b testing.TB) map[string][]byte {
	s := Empty(Text)
	for _, l := range []string{"append hello world, this is a note", "insert 5 ,"} {
		tr, err := Parse(Text, s, l)
		require.NoError(b, err)
		require.NoError(b, s.Apply(aper.On(tr)))
	}
	edit, err := Parse(Text, s, "insert 12 there ")
	require.NoError(b, err)
	require.NoError(b, s.Apply(aper.On(edit)))
	ordered := s.Ordered(edit)
	require.NotNil(b, ordered.Text.Applied, "the ordered form of an edit carries Applied")
	todo := Empty(TodoKind)
	ins, err := Parse(TodoKind, todo, "add oat milk")
	require.NoError(b, err)
	out := map[string][]byte{}
	for name, tr := range map[string]RoomTransition{"ordered-text-edit": ordered, "todo-insert": ins} {
		enc, err := aper.CBOR.Marshal(tr)
		require.NoError(b, err)
		out[name] = enc
	}
	return out
}

// BenchmarkDecodeRoomTransition decodes a transition as every client decodes every transition of
// its room: by RoomTransition's UnmarshalCBOR, called directly as package sync does, and by the
// general decoder alone.
func BenchmarkDecodeRoomTransition(b *testing.B) {
	for name, enc := range benchTransitions(b) {
		b.Run(name+"/UnmarshalCBOR", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var tr RoomTransition
				if err := tr.UnmarshalCBOR(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/general", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var tr RoomTransition
				if err := decodeGeneral(enc, &tr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
