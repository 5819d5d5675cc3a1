package aper_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/fxamacker/cbor/v2"
)

// CBORVariant takes a map of one text key to a value in the encoder's form, and gives the key
// and value the general decoder reads; anything else it leaves to the general decoder.
func TestCBORVariant(t *testing.T) {
	enc := func(v any) []byte {
		b, err := aper.CBOR.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name  string
		b     []byte
		ok    bool
		key   string
		value []byte
	}{
		{"one pair", enc(map[string]any{"text": map[int]int{1: 2}}), true, "text", enc(map[int]int{1: 2})},
		{"an empty key", enc(map[string]int{"": 5}), true, "", enc(5)},
		{"two pairs", enc(map[string]int{"a": 1, "b": 2}), false, "", nil},
		{"no pair", enc(map[string]int{}), false, "", nil},
		{"an integer key", enc(map[int]int{1: 2}), false, "", nil},
		{"a null value", []byte{0xa1, 0x61, 'a', 0xf6}, false, "", nil},
		{"an undefined value", []byte{0xa1, 0x61, 'a', 0xf7}, false, "", nil},
		{"a byte after", append(enc(map[string]int{"a": 1}), 0), false, "", nil},
		{"cut short", []byte{0xa1, 0x61, 'a'}, false, "", nil},
		{"an indefinite map", []byte{0xbf, 0x61, 'a', 0x01, 0xff}, false, "", nil},
		{"a tagged value", []byte{0xa1, 0x61, 'a', 0xc1, 0x01}, false, "", nil},
		{"a long head", []byte{0xa1, 0x61, 'a', 0x18, 0x01}, false, "", nil},
		{"invalid UTF-8 in the key", []byte{0xa1, 0x61, 0xff, 0x01}, false, "", nil},
		{"an array", enc([]int{1}), false, "", nil},
		{"empty input", nil, false, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, value, ok := aper.CBORVariant(c.b)
			if ok != c.ok || string(key) != c.key || !bytes.Equal(value, c.value) {
				t.Fatalf("% x: got %q % x %v, want %q % x %v", c.b, key, value, ok, c.key, c.value, c.ok)
			}
		})
	}
	// Random maps of one pair, damaged or not: when CBORVariant takes one, the general decoder
	// reads the same key and value from it.
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := enc(map[string]any{string(rune('a' + r.IntN(3))): []any{r.IntN(300), "é", map[string]int{"x": r.IntN(9)}}})
		switch r.IntN(3) {
		case 0:
			b = b[:r.IntN(len(b)+1)]
		case 1:
			b[r.IntN(len(b))] = byte(r.IntN(256))
		}
		key, value, ok := aper.CBORVariant(b)
		if !ok {
			continue
		}
		var m map[string]cbor.RawMessage
		if err := aper.CBOR.Unmarshal(b, &m); err != nil || len(m) != 1 || !bytes.Equal(m[string(key)], value) {
			t.Fatalf("% x: CBORVariant gives %q % x, the general decoder %v (%v)", b, key, value, m, err)
		}
	}
}
