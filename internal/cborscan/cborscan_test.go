package cborscan

import (
	"math/rand/v2"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Skip takes only well-formed items, and takes the encoder's forms of nested arrays and maps of
// integers and strings, short and long, damaged or not.
func TestSkipAgreesWithWellformed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		if r.IntN(2) == 0 {
			return string([]rune{'a', 'é', '😀'}[r.IntN(3)])
		}
		return string(make([]byte, 20+r.IntN(20)))
	}
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	for range 20000 {
		b, err := em.Marshal(randomValue(r, str, func(string) {}))
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := Skip(b); !ok || n != len(b) {
			t.Fatalf("% x: Skip gives %d %v, want %d", b, n, ok, len(b))
		}
		switch r.IntN(3) {
		case 0:
			b = b[:r.IntN(len(b))]
		case 1:
			b[r.IntN(len(b))] = byte(r.IntN(256))
		}
		if n, ok := Skip(b); ok && cbor.Wellformed(b[:n]) != nil {
			t.Fatalf("% x: Skip takes %d bytes that are not well-formed", b, n)
		}
	}
}

// randomValue returns a random value for the encoder: integers, byte strings and strings of str,
// in arrays and maps (keyed by strings of str) nested at most 4 deep. note sees every string the
// value holds, keys included.
func randomValue(r *rand.Rand, str func() string, note func(string)) any {
	var gen func(depth int) any
	gen = func(depth int) any {
		switch r.IntN(7) {
		case 0:
			return r.IntN(1 << 20)
		case 1:
			return -r.IntN(300)
		case 2:
			return []byte{0xff, byte(r.IntN(256))}
		case 3, 4:
			s := str()
			note(s)
			return s
		}
		if depth > 3 {
			return 1
		}
		if r.IntN(2) == 0 {
			a := make([]any, r.IntN(5))
			for i := range a {
				a[i] = gen(depth + 1)
			}
			return a
		}
		m := map[string]any{}
		for range r.IntN(4) {
			k := str()
			if _, ok := m[k]; ok {
				continue // a value overwritten would not be encoded
			}
			note(k)
			m[k] = gen(depth + 1)
		}
		return m
	}
	return gen(0)
}
