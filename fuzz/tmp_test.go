package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper/fuzz"
)

func TestTmpReplay(t *testing.T) {
	cfg := listConfig()
	cfg.Weights = undoWeights
	fuzz.Replay(t, cfg, fuzz.Apply(1, 1144340584063171986), fuzz.Deliver(1, true), fuzz.Apply(1, 5147412579008061236), fuzz.Deliver(0, false), fuzz.Apply(1, 2914038592294402672), fuzz.Heal(2), fuzz.Settle(), fuzz.Apply(1, 8097147324346794724), fuzz.Apply(1, 3694132217943302427), fuzz.Apply(1, 1812519814423677979), fuzz.Deliver(1, false), fuzz.Apply(2, 1272651766458921084), fuzz.Undo(1), fuzz.Apply(1, 6362119071143270117), fuzz.Apply(1, 1261503334287636570), fuzz.Deliver(1, false), fuzz.Deliver(1, false), fuzz.Apply(2, 1800830309869791267), fuzz.Undo(0), fuzz.Deliver(2, true), fuzz.Undo(2), fuzz.Apply(1, 7473342411536983282), fuzz.Settle())
}
