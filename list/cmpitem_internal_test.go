package list

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aper-go/aper"
)

// cmpItem orders indexes as strings.Compare orders their bytes: for strings of any length up to
// 40 bytes, with common prefixes of any length, including the empty string.
func TestCmpItemSameAsStringsCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 17))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(4)) * 85 // few distinct bytes, so that prefixes are often shared
		}
		return string(b)
	}
	for range 200_000 {
		p := word(r.IntN(20))
		a, b := p+word(r.IntN(20)), p+word(r.IntN(20))
		if r.IntN(8) == 0 {
			b = a
		}
		x, y := item[*aper.Counter]{key: ZenoIndex{b: a}}, item[*aper.Counter]{key: ZenoIndex{b: b}}
		if got, want := cmpItem(x, y), strings.Compare(a, b); got != want {
			t.Fatalf("cmpItem(%x, %x) = %d, want %d", a, b, got, want)
		}
	}
}
