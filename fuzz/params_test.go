package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/leanovate/gopter"
)

func TestParameters(t *testing.T) {
	p := fuzz.Parameters(t, 40, 100, 5)
	want := 40
	if testing.Short() {
		want = 10
	}
	if p.MinSuccessfulTests != want || p.MaxSize != 101 || p.MinSize != 10 {
		t.Errorf("runs %d, sizes %d to %d; want %d runs, sizes 10 to 101", p.MinSuccessfulTests, p.MinSize, p.MaxSize, want)
	}
	if got, want := p.Rng.Int63(), gopter.DefaultTestParametersWithSeed(5).Rng.Int63(); got != want {
		t.Errorf("seed 5 draws %d first, want %d", got, want)
	}

	// The environment's seed replaces the caller's, so that a logged seed replays anywhere.
	t.Setenv(fuzz.SeedEnv, "7")
	p = fuzz.Parameters(t, 40, 100, 5)
	if got, want := p.Rng.Int63(), gopter.DefaultTestParametersWithSeed(7).Rng.Int63(); got != want {
		t.Errorf("with %s=7: draws %d first, want %d", fuzz.SeedEnv, got, want)
	}
}
