package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
)

// undoWeights are the default mix with undo, redo and restore: an undo or a redo every ten
// commands or so, a restore every seventy.
var undoWeights = func() fuzz.Weights {
	w := fuzz.DefaultWeights
	w.Undo, w.Redo, w.Restore = 12, 6, 3
	return w
}()

// The structures with undo, under faults, with clients undoing and redoing their own steps
// and the server restoring the room to earlier states: the replicas converge, every submitted
// transition (an undo's too) is applied once or rejected once, undo results are what the
// clients did, and after a restore the room's state is the state at the Seq it named with the
// transitions ordered since.

func TestPropCounterUndoRestore(t *testing.T) {
	t.Parallel()
	cfg := counterConfig()
	cfg.Weights = undoWeights
	fuzz.Check(t, "counter replicas with undo and restore converge", cfg, params(t))
}

func TestPropListUndoRestore(t *testing.T) {
	t.Parallel()
	cfg := listConfig()
	cfg.Weights = undoWeights
	fuzz.Check(t, "list replicas with undo and restore converge", cfg, params(t))
}

func TestPropTextUndoRestore(t *testing.T) {
	t.Parallel()
	cfg := textConfig(text.DefaultHistory)
	cfg.Weights = undoWeights
	fuzz.Check(t, "text replicas with undo and restore converge", cfg, params(t))
}
