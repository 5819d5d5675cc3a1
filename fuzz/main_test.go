package fuzz_test

import (
	"flag"
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/leanovate/gopter"
)

// The CI sizes: every property runs 200 sequences of up to 200 steps. Raise them for a longer
// search: go test ./fuzz -run Prop -fuzz.runs=5000 -fuzz.size=400.
var (
	runs = flag.Int("fuzz.runs", 200, "runs of each property")
	size = flag.Int("fuzz.size", 200, "most steps in a run")
	seed = flag.Int64("fuzz.seed", 0, "seed of the properties (0: from the clock)")
)

func params(t *testing.T) *gopter.TestParameters {
	return fuzz.Parameters(t, *runs, *size, *seed)
}
