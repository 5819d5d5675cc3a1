package text_test

import (
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/stretchr/testify/require"
)

// sameEditDecode checks that the hand-written decoder, when it takes b, gives the edit the
// general decoder gives, which must accept b; and that UnmarshalCBOR agrees with the general
// decoder. It reports whether the hand-written decoder took b.
func sameEditDecode(t *testing.T, b []byte) bool {
	t.Helper()
	var w text.EditCBORGeneral
	werr := aper.CBOR.Unmarshal(b, &w)
	want := text.Edit(w)
	got, ok := text.DecodeEditCBORFast(b)
	if ok && (werr != nil || !sameEdit(got, want)) {
		t.Fatalf("% x: the fast decoder gives %+v, the general one %+v (%v)", b, got, want, werr)
	}
	var e text.Edit
	err := e.UnmarshalCBOR(b)
	if (err != nil) != (werr != nil) || (err == nil && !sameEdit(e, want)) {
		t.Fatalf("% x: UnmarshalCBOR gives %+v (%v), the general decoder %+v (%v)", b, e, err, want, werr)
	}
	return ok
}

func sameEdit(a, b text.Edit) bool {
	if a.Base != b.Base || a.Version != b.Version || !a.Op.Equal(b.Op) || (a.Applied == nil) != (b.Applied == nil) {
		return false
	}
	return a.Applied == nil || a.Applied.Equal(*b.Applied)
}

func randEdit(r *rand.Rand) text.Edit {
	e := text.Edit{Base: r.Uint64() >> r.IntN(64), Op: randOp(r, r.IntN(300))}
	if r.IntN(2) == 0 {
		e.Version = 1 + r.Uint64()>>r.IntN(64)
	}
	if r.IntN(2) == 0 {
		a := randOp(r, r.IntN(300))
		e.Applied = &a
	}
	return e
}

// An edit's MarshalCBOR writes what the general encoder writes, and encoded edits decode alike
// by both decoders, and so do the same bytes damaged: cut, extended, or with a byte changed. The
// hand-written decoder takes every undamaged encoding.
func TestEditCBORProperty(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 2000, 100, 0))
	props.Property("fast codec == general codec", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 11))
		e := randEdit(r)
		b, err := aper.CBOR.Marshal(e)
		require.NoError(t, err)
		g, err := aper.CBOR.Marshal(text.EditCBORGeneral(e))
		require.NoError(t, err)
		require.Equal(t, g, b, "%+v", e)
		if !sameEditDecode(t, b) {
			t.Fatalf("% x: the fast decoder did not take the encoding of %+v", b, e)
		}
		for range 8 {
			sameEditDecode(t, damaged(r, b))
		}
		return !t.Failed()
	}, gen.UInt64()))
	props.TestingRun(t)
}

// Forms that a CBOR encoder may write but MarshalCBOR does not, and broken ones.
func TestDecodeEditCBORForms(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		fast bool // the hand-written decoder takes it
	}{
		{"base and op", []byte{0xa2, 0x01, 0x05, 0x02, 0x81, 0x01}, true},
		{"all four", []byte{0xa4, 0x01, 0x05, 0x02, 0x81, 0x01, 0x03, 0x07, 0x04, 0x82, 0x61, 'x', 0x01}, true},
		{"version zero", []byte{0xa3, 0x01, 0x05, 0x02, 0x81, 0x01, 0x03, 0x00}, true},
		{"keys out of order", []byte{0xa2, 0x02, 0x81, 0x01, 0x01, 0x05}, false},
		{"no base", []byte{0xa1, 0x02, 0x81, 0x01}, false},
		{"no op", []byte{0xa1, 0x01, 0x05}, false},
		{"applied null", []byte{0xa3, 0x01, 0x05, 0x02, 0x81, 0x01, 0x04, 0xf6}, false},
		{"duplicate key", []byte{0xa3, 0x01, 0x05, 0x01, 0x05, 0x02, 0x81, 0x01}, false},
		{"unknown key", []byte{0xa3, 0x01, 0x05, 0x02, 0x81, 0x01, 0x05, 0x01}, false},
		{"negative base", []byte{0xa2, 0x01, 0x25, 0x02, 0x81, 0x01}, false},
		{"indefinite map", []byte{0xbf, 0x01, 0x05, 0x02, 0x81, 0x01, 0xff}, false},
		{"trailing byte", []byte{0xa2, 0x01, 0x05, 0x02, 0x81, 0x01, 0x00}, false},
		{"cut short", []byte{0xa2, 0x01, 0x05, 0x02}, false},
		{"an array", []byte{0x82, 0x05, 0x80}, false},
		{"empty input", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sameEditDecode(t, c.b); got != c.fast {
				t.Errorf("the fast decoder took it: %v, want %v", got, c.fast)
			}
		})
	}
}
