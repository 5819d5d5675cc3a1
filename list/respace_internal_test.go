package list

import (
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
)

// TestConstructorsRespacesAdmissible checks that every respace the position constructors add,
// under insert patterns that crowd a list in different ways and with deletes mixed in, passes
// the rule Apply checks (admissible): the rule never refuses a run a replica would make.
func TestConstructorsRespacesAdmissible(t *testing.T) {
	patterns := map[string]func(r *rand.Rand, n int) int{
		"middle":  func(_ *rand.Rand, n int) int { return n / 2 },
		"third":   func(_ *rand.Rand, n int) int { return n / 3 },
		"front":   func(_ *rand.Rand, n int) int { return 0 },
		"random":  func(r *rand.Rand, n int) int { return r.IntN(n + 1) },
		"near 10": func(r *rand.Rand, n int) int { return min(n, 10+r.IntN(3)) },
	}
	for name, at := range patterns {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			l := New[*aper.Counter, aper.CounterTransition]()
			v := aper.NewCounter(1)
			respaces := 0
			for i := range 20_000 {
				_, tr := l.InsertAt(at(r, l.Len()), v)
				if rs := tr.Pos.Respace; !rs.IsZero() {
					respaces++
					if _, ok := plan(rs, items[*aper.Counter, aper.CounterTransition]{l}); !ok {
						t.Fatalf("insert %d: the constructors' %s is not admissible", i, rs)
					}
				}
				if err := l.Apply(aper.On(tr)); err != nil {
					t.Fatal(err)
				}
				if i%5 == 4 {
					id, _, _ := l.At(r.IntN(l.Len()))
					if err := l.Apply(aper.On(l.Delete(id))); err != nil {
						t.Fatal(err)
					}
				}
			}
			if name != "random" && respaces == 0 {
				t.Errorf("no respace made: the pattern does not crowd the list")
			}
			t.Logf("%d respaces made, all admissible", respaces)
		})
	}
}
