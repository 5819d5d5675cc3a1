package list

import (
	"cmp"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aper-go/aper"
)

// preItem is a prefix of the items' order, as the tree needs: where two items' prefixes differ,
// their indexes compare the same way (strings.Compare on the bytes), and equal indexes have equal
// prefixes. Indexes of up to 40 bytes, with common beginnings of any length, zero bytes anywhere,
// and the empty string (the zero ZenoIndex, which searches use).
func TestPreItemIsAPrefixOfTheOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 17))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(4)) * 85 // few distinct bytes (zero among them): beginnings are often shared
		}
		return string(b)
	}
	differ := 0
	for range 200_000 {
		p := word(r.IntN(12))
		a, b := p+word(r.IntN(20)), p+word(r.IntN(20))
		if r.IntN(8) == 0 {
			b = a
		}
		x, y := item[*aper.Counter]{key: ZenoIndex{b: a}}, item[*aper.Counter]{key: ZenoIndex{b: b}}
		px, py := preItem(x), preItem(y)
		want := strings.Compare(a, b)
		if got := cmpItem(x, y); got != want {
			t.Fatalf("cmpItem(%x, %x) = %d, want %d", a, b, got, want)
		}
		switch {
		case want == 0 && px != py:
			t.Fatalf("equal indexes %x have prefixes %x and %x", a, px, py)
		case px != py && cmp.Compare(px, py) != want:
			t.Fatalf("indexes %x and %x compare %d, their prefixes %x and %x the other way", a, b, want, px, py)
		case px != py:
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("no two prefixes differed: the test checks nothing")
	}
}
