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
)

// sameDecode checks that the hand-written decoder, when it takes b, gives the op the general
// decoder gives, which must accept b; and that UnmarshalCBOR agrees with the general decoder.
// It reports whether the hand-written decoder took b.
func sameDecode(t *testing.T, b []byte) bool {
	t.Helper()
	want, werr := text.DecodeOpCBORGeneral(b)
	got, ok := text.DecodeOpCBORFast(b)
	if ok && (werr != nil || !got.Equal(want)) {
		t.Fatalf("% x: the fast decoder gives %v, the general one %v (%v)", b, got, want, werr)
	}
	var o text.Op
	err := o.UnmarshalCBOR(b)
	if (err != nil) != (werr != nil) || (err == nil && !o.Equal(want)) {
		t.Fatalf("% x: UnmarshalCBOR gives %v (%v), the general decoder %v (%v)", b, o, err, want, werr)
	}
	return ok
}

// MarshalCBOR writes what the general encoder writes. Encoded ops decode alike by both decoders, and so do the same bytes damaged: cut, extended,
// or with a byte changed. The hand-written decoder takes every undamaged encoding.
func TestDecodeOpCBORProperty(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 2000, 100, 0))
	props.Property("fast decode == general decode", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 9))
		o := randOp(r, r.IntN(300))
		if r.IntN(3) == 0 {
			o = text.MustOp(text.Retain(r.IntN(1<<40)), text.Insert("é😀"), text.Delete(r.IntN(70000)), text.Retain(r.IntN(300)))
		}
		b, err := aper.CBOR.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if g, err := text.EncodeOpCBORGeneral(o); err != nil || string(g) != string(b) {
			t.Fatalf("%v: MarshalCBOR writes % x, the general encoder % x (%v)", o, b, g, err)
		}
		if !sameDecode(t, b) {
			t.Fatalf("% x: the fast decoder did not take the encoding of %v", b, o)
		}
		for range 8 {
			sameDecode(t, damaged(r, b))
		}
		return !t.Failed()
	}, gen.UInt64()))
	props.TestingRun(t)
}

// damaged returns a copy of b cut short, extended by a byte, or with a byte changed.
func damaged(r *rand.Rand, b []byte) []byte {
	d := append([]byte(nil), b...)
	switch r.IntN(3) {
	case 0:
		d = d[:r.IntN(len(d))]
	case 1:
		d = append(d, byte(r.IntN(256)))
	default:
		d[r.IntN(len(d))] = byte(r.IntN(256))
	}
	return d
}

// Forms that a CBOR encoder may write but MarshalCBOR does not, and broken ones.
func TestDecodeOpCBORForms(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		fast bool // the hand-written decoder takes it
	}{
		{"empty array", []byte{0x80}, true},
		{"retain in a longer form than needed", []byte{0x81, 0x18, 0x05}, true},
		{"array length in a longer form", []byte{0x98, 0x02, 0x02, 0x61, 'x'}, true},
		{"delete, -3", []byte{0x83, 0x01, 0x22, 0x01}, true},
		{"indefinite-length array", []byte{0x9f, 0x01, 0xff}, false},
		{"indefinite-length string", []byte{0x81, 0x7f, 0x61, 'x', 0xff}, false},
		{"byte string", []byte{0x81, 0x41, 'x'}, false},
		{"invalid UTF-8", []byte{0x81, 0x61, 0xff}, false},
		{"a float", []byte{0x81, 0xf9, 0x3c, 0x00}, false},
		{"null", []byte{0xf6}, false},
		{"retain over MaxInt", []byte{0x81, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false},
		{"retain over the op length limit", []byte{0x81, 0x1b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}, false},
		{"delete of -2^64", []byte{0x81, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false},
		{"trailing byte", []byte{0x81, 0x01, 0x01}, false},
		{"cut short", []byte{0x82, 0x01}, false},
		{"a count past the input", []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false},
		{"empty input", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sameDecode(t, c.b); got != c.fast {
				t.Errorf("the fast decoder took it: %v, want %v", got, c.fast)
			}
		})
	}
}
