package fuzz

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/leanovate/gopter"
)

// SeedEnv names the environment variable that, set to an integer, replaces the seed of every
// [Parameters] call: a failure logs its seed, and SeedEnv=N go test -run TestX ./pkg replays it
// (0 draws a seed from the clock).
const SeedEnv = "APER_FUZZ_SEED"

// Parameters returns gopter parameters for runs of up to size steps (the sizes grow from
// size/10 to size over the runs), seeded with seed (0: the clock) unless [SeedEnv] is set, and
// logs the seed when t fails so that the failure can be replayed. Under -short (testing.Short)
// it makes a quarter of the runs, at least one. Every property test of the module takes its
// parameters from here.
func Parameters(t testing.TB, runs, size int, seed int64) *gopter.TestParameters {
	t.Helper()
	if v, ok := os.LookupEnv(SeedEnv); ok {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: not an integer seed", SeedEnv, v)
		}
		seed = s
	}
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	if testing.Short() {
		runs = max(runs/4, 1)
	}
	p := gopter.DefaultTestParametersWithSeed(seed)
	p.MinSuccessfulTests = runs
	p.MaxSize = size + 1
	p.MinSize = max(2, size/10)
	p.MaxShrinkCount = 300
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d (replay with %s=%d)", seed, SeedEnv, seed)
		}
	})
	return p
}
