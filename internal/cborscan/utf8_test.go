package cborscan

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

func TestValidTextCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"empty sequence", nil, true},
		{"text", []byte{0x62, 'h', 'i'}, true},
		{"invalid text", []byte{0x61, 0xff}, false},
		{"invalid bytes are fine", []byte{0x41, 0xff}, true},
		{"long head", []byte{0x78, 0x01, 'a'}, true},
		{"indefinite text", []byte{0x7f, 0x61, 'a', 0x62, 'b', 'c', 0xff}, true},
		{"indefinite text, invalid chunk", []byte{0x7f, 0x61, 'a', 0x61, 0xfe, 0xff}, false},
		{"indefinite text, byte chunk", []byte{0x7f, 0x41, 'a', 0xff}, false},
		{"indefinite array", []byte{0x9f, 0x01, 0x61, 'x', 0xff}, true},
		{"indefinite map, odd items", []byte{0xbf, 0x01, 0xff}, false},
		{"indefinite map", []byte{0xbf, 0x61, 'k', 0x61, 0xff, 0xff}, false},
		{"map key invalid", []byte{0xa1, 0x61, 0xff, 0x01}, false},
		{"tagged invalid text", []byte{0xd8, 0x20, 0x61, 0xff}, false},
		{"tagged text", []byte{0xc0, 0x61, 'a'}, true},
		{"break alone", []byte{0xff}, false},
		{"truncated", []byte{0x62, 'a'}, false},
		{"truncated array", []byte{0x82, 0x01}, false},
		{"reserved head", []byte{0x1c}, false},
		{"float", []byte{0xfb, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{"simple value 32", []byte{0xf8, 0x20}, true},
		{"simple value 22 in two bytes", []byte{0xf8, 0x16}, false},
		{"two items", []byte{0x01, 0x61, 'a'}, true},
		{"huge length", []byte{0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false},
	} {
		if got := ValidText(tc.b); got != tc.want {
			t.Errorf("%s (% x): %v, want %v", tc.name, tc.b, got, tc.want)
		}
	}
}

// Whatever the encoder writes, in its default and its deterministic forms, is valid text exactly
// when every string it was given is valid UTF-8; and an item the decoder (which checks UTF-8)
// accepts, damaged or not, is valid text.
func TestValidTextAgreesWithTheCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	strs := []string{"a", "é", "😀", "\xff", "ok\xfe", "\xc3", ""}
	valid := true
	str := func() string { return strs[r.IntN(len(strs))] }
	note := func(s string) { valid = valid && utf8.ValidString(s) }
	det, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := cbor.DecOptions{UTF8: cbor.UTF8RejectInvalid}.DecMode()
	if err != nil {
		t.Fatal(err)
	}
	for range 5000 {
		valid = true
		v := randomValue(r, str, note)
		for _, em := range []cbor.EncMode{det, nil} {
			var b []byte
			if em == nil {
				b, err = cbor.Marshal(v)
			} else {
				b, err = em.Marshal(v)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ValidText(b); got != valid {
				t.Fatalf("%+q encodes to % x: ValidText %v, want %v", v, b, got, valid)
			}
			d := append([]byte(nil), b...)
			d[r.IntN(len(d))] = byte(r.IntN(256))
			var out any
			if dec.Unmarshal(d, &out) == nil && !ValidText(d) {
				t.Fatalf("% x decodes, but ValidText says no", d)
			}
		}
	}
}
