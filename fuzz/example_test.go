package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/fuzz"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

// This is how a test property-tests its own state machine, here aper.Counter: a factory, a
// generator of transitions on a client's view, and fuzz.Check. The harness wraps the runs in a
// synctest bubble, so the property needs a *testing.T; TestExample below runs it.
func Example() {
	cfg := fuzz.Config[*aper.Counter, aper.CounterTransition]{
		New: func() *aper.Counter { return aper.NewCounter(0) },
		Transition: func(client int, c *aper.Counter) gopter.Gen {
			return gen.Int64Range(-5, 5).Map(c.Add)
		},
		// Optional: an invariant of the application, checked at every quiescent point.
		Check: func(q fuzz.Quiescent[*aper.Counter, aper.CounterTransition]) error {
			var sum int64
			for _, ev := range q.Ordered {
				sum += ev.Transition.Amount
			}
			if sum != q.Server.Value() {
				return errorf("the counter is %d, its transitions add up to %d", q.Server.Value(), sum)
			}
			return nil
		},
	}
	runExample = func(t *testing.T) {
		fuzz.Check(t, "counter converges", cfg, fuzz.Parameters(t, 20, 50, 1))
	}
}

var runExample func(t *testing.T)

func TestExample(t *testing.T) {
	Example()
	runExample(t)
}
