package fuzz_test

import (
	"flag"
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/leanovate/gopter"
)

// The CI sizes: every property runs 200 sequences of up to 200 steps, from a fixed seed so that
// a run is repeatable and a change cannot fail CI by the luck of the draw. Search further with
// another seed, or one from the clock: go test ./fuzz -run Prop -fuzz.seed=0 -fuzz.runs=5000.
var (
	runs = flag.Int("fuzz.runs", 200, "runs of each property")
	size = flag.Int("fuzz.size", 200, "most steps in a run")
	seed = flag.Int64("fuzz.seed", 1, "seed of the properties (0: from the clock)")
)

func params(t *testing.T) *gopter.TestParameters {
	return fuzz.Parameters(t, *runs, *size, *seed)
}
