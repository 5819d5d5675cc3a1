package list

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAllocateBetween checks both leans on random pairs of indexes, with many 0x00 and 0xff
// bytes and open ends: the index made is valid and strictly between its neighbours.
func TestAllocateBetween(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	randKey := func() string {
		if rng.IntN(8) == 0 {
			return "" // an open end
		}
		b := make([]byte, 1+rng.IntN(40))
		for i := range b {
			switch rng.IntN(3) {
			case 0:
				b[i] = 0
			case 1:
				b[i] = 0xff
			default:
				b[i] = byte(rng.IntN(256))
			}
		}
		if b[len(b)-1] == 0 {
			b[len(b)-1] = 1 + byte(rng.IntN(255))
		}
		return string(b)
	}
	for range 50_000 {
		a, b := randKey(), randKey()
		if a == b || a != "" && b != "" && a > b {
			a, b = b, a
		}
		if a == b || a != "" && b != "" && a >= b {
			continue
		}
		for _, l := range []lean{nearLow, nearHigh} {
			u := allocate(a, b, l)
			if err := checkBytes([]byte(u)); err != nil {
				t.Fatalf("allocate(%x, %x, %d) = %x: %v", a, b, l, u, err)
			}
			if a != "" && u <= a || b != "" && u >= b {
				t.Fatalf("allocate(%x, %x, %d) = %x, not between", a, b, l, u)
			}
		}
	}
}

// TestAllocateLongKeys runs the allocator on neighbours of a megabyte, far over MaxIndexLen: the
// cost is linear and nothing recurses, so a long key cannot blow the stack.
func TestAllocateLongKeys(t *testing.T) {
	ffs := strings.Repeat("\xff", 1<<20)
	zeros := strings.Repeat("\x00", 1<<20)
	for _, tt := range []struct{ a, b string }{
		{ffs + "\x01", ffs + "\x02"},
		{ffs + "\x01", ""},
		{"", zeros + "\x01"},
		{zeros + "\x01", ffs},
	} {
		for _, l := range []lean{nearLow, nearHigh} {
			u := allocate(tt.a, tt.b, l)
			if u == "" || u[len(u)-1] == 0 || tt.a != "" && u <= tt.a || tt.b != "" && u >= tt.b {
				t.Fatalf("allocate(%d bytes, %d bytes, %d) = %d bytes, not a valid index between them", len(tt.a), len(tt.b), l, len(u))
			}
		}
	}
}

// TestAllocateTrimsToAByte checks that a tail which would end a bit into a new byte is cut back
// to end on the byte before when its tier allows it, and only then; in both leans.
func TestAllocateTrimsToAByte(t *testing.T) {
	tests := []struct{ a, b, want string }{
		// The lower neighbour's tail starts at bit 10 with three one bits (tier 3, 15 bits wide,
		// trim 3): untrimmed, the index would end at bit 25, in a fourth byte (80380480).
		{"\x80\x38\x02\x80", "\x80\x40", "\x80\x38\x04"},
		{"\x80\x38\x03\x80", "\x80\x40", "\x80\x38\x05"},
		// A tail of the same tier starting at bit 13 would end at bit 28, four bits into the
		// fourth byte: more than the tier's trim, so it keeps its width.
		{"\x80\x07", "\x80\x08", "\x80\x07\x00\x40"},
	}
	for _, tt := range tests {
		if got := allocate(tt.a, tt.b, nearLow); got != tt.want {
			t.Errorf("allocate(%x, %x, nearLow) = %x, want %x", tt.a, tt.b, got, tt.want)
		}
		ma, mb, want := string(mirror(tt.b)), string(mirror(tt.a)), string(mirror(tt.want))
		if got := allocate(ma, mb, nearHigh); got != want {
			t.Errorf("allocate(%x, %x, nearHigh) = %x, want %x", ma, mb, got, want)
		}
	}
}
