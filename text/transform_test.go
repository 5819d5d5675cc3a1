package text_test

import (
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// splices returns every one-splice op on a string of n code points that inserts one of ins.
func splices(n int, ins []string) []text.Op {
	var out []text.Op
	for pos := 0; pos <= n; pos++ {
		for del := 0; del <= n-pos; del++ {
			for _, s := range ins {
				o, err := text.Splice(n, pos, del, s)
				if err != nil {
					panic(err)
				}
				out = append(out, o)
			}
		}
	}
	return out
}

// sameTransform checks that the fast path for splices, when it applies, gives the ops the
// general walk gives, that it applies whenever the ops and the walk's results are all splices,
// and that Transform gives the walk's ops. It reports whether the fast path applied.
func sameTransform(t *testing.T, a, b text.Op, side text.Side) bool {
	t.Helper()
	wa, wb, err := text.TransformWalk(a, b, side)
	if err != nil {
		t.Fatalf("walk %v over %v: %v", a, b, err)
	}
	fa, fb, ok := text.TransformSplices(a, b, side)
	if ok && (!fa.Equal(wa) || !fb.Equal(wb)) {
		t.Fatalf("%v over %v, side %d: fast path gives %v and %v, the walk %v and %v", a, b, side, fa, fb, wa, wb)
	}
	if splices := text.IsSplice(a) && text.IsSplice(b) && text.IsSplice(wa) && text.IsSplice(wb); ok != splices {
		t.Fatalf("%v over %v, side %d: fast path taken %v, but the ops and results are splices: %v", a, b, side, ok, splices)
	}
	ta, tb, err := text.Transform(a, b, side)
	if err != nil || !ta.Equal(wa) || !tb.Equal(wb) {
		t.Fatalf("%v over %v, side %d: Transform gives %v and %v (%v), the walk %v and %v", a, b, side, ta, tb, err, wa, wb)
	}
	return ok
}

// Every pair of splices on short strings, inserting nothing, one code point, or several of
// different widths, on both sides: the fast path agrees with the walk, and it applies exactly
// when both results are one splice too.
func TestTransformSplicesExhaustive(t *testing.T) {
	ins := []string{"", "a", "é😀b"}
	fast := 0
	for n := range 6 {
		ops := splices(n, ins)
		for _, a := range ops {
			for _, b := range ops {
				for _, side := range []text.Side{text.Left, text.Right} {
					if sameTransform(t, a, b, side) {
						fast++
					}
				}
			}
		}
	}
	if fast == 0 {
		t.Error("the fast path never applied")
	}
}

// On random splices of longer texts, and on ops that are no splice, Transform is the walk.
func TestTransformSplicesProperty(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 2000, 100, 0))
	props.Property("fast path == walk", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 7))
		n := r.IntN(40)
		pick := func() text.Op {
			if r.IntN(4) == 0 {
				return randOp(r, n) // often more than one splice
			}
			pos := r.IntN(n + 1)
			del := 0
			if r.IntN(2) == 0 {
				del = r.IntN(n - pos + 1)
			}
			s := []string{"", "x", "yz", "ü"}[r.IntN(4)]
			o, err := text.Splice(n, pos, del, s)
			if err != nil {
				panic(err)
			}
			return o
		}
		a, b := pick(), pick()
		sameTransform(t, a, b, text.Side(r.IntN(2)))
		return !t.Failed()
	}, gen.UInt64()))
	props.TestingRun(t)
}

// Ops of different input lengths are refused on the fast path as on the walk.
func TestTransformSplicesLengths(t *testing.T) {
	a := text.MustOp(text.Retain(2), text.Insert("x"), text.Retain(1))
	b := text.MustOp(text.Retain(1), text.Insert("y"), text.Retain(1))
	if _, _, err := text.Transform(a, b, text.Left); err == nil {
		t.Fatal("a transform of ops on strings of 3 and 2 code points succeeded")
	}
	if !text.IsSplice(a) || text.IsSplice(text.MustOp(text.Insert("a"), text.Retain(1), text.Insert("b"))) {
		t.Fatal("IsSplice is wrong")
	}
}

// Apply's rebase, which keeps the edit and the queue entries as splices while they are, gives the
// ops that transforming one Op over the next gives, on mixes of splices and longer ops.
func TestRebaseOverSplicesProperty(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 1000, 100, 0))
	props.Property("rebase == Transform in turn", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 8))
		n := r.IntN(30)
		op := func(n int) text.Op {
			if r.IntN(5) == 0 {
				return randOp(r, n)
			}
			pos := r.IntN(n + 1)
			o, err := text.Splice(n, pos, r.IntN(n-pos+1)/2, []string{"", "x", "yz"}[r.IntN(3)])
			if err != nil {
				panic(err)
			}
			return o
		}
		x := op(n)
		want := x
		var cs, queue []text.Op
		for range r.IntN(12) {
			c := op(n)
			cs = append(cs, c)
			xp, cp, err := text.Transform(want, c, text.Left)
			if err != nil {
				t.Fatal(err)
			}
			want, queue = xp, append(queue, cp)
			n = c.OutLen()
		}
		got, gotQueue, err := text.RebaseOver(x, cs)
		if err != nil || !got.Equal(want) || len(gotQueue) != len(queue) {
			t.Fatalf("%v over %v: %v, %v (%v); want %v, %v", x, cs, got, gotQueue, err, want, queue)
		}
		for i := range queue {
			if !gotQueue[i].Equal(queue[i]) {
				t.Fatalf("%v over %v: queue %v, want %v", x, cs, gotQueue, queue)
			}
		}
		return true
	}, gen.UInt64()))
	props.TestingRun(t)
}
