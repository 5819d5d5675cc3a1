package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
)

// undoWeights are the default mix with undo, redo and restore: an undo or a redo every six or
// seven commands, a restore every forty or so.
var undoWeights = func() fuzz.Weights {
	w := fuzz.DefaultWeights
	w.Undo, w.Redo, w.Restore = 12, 6, 3
	return w
}()

// undoParams are params with half the runs: a restore rebuilds a past state from the journal,
// so these runs cost about twice the others.
func undoParams(t *testing.T) *gopter.TestParameters {
	return fuzz.Parameters(t, max(*runs/2, 1), *size, *seed)
}

// The structures with undo, under faults, with clients undoing and redoing their own steps
// and the server restoring the room to earlier states: the replicas converge, every submitted
// transition (an undo's too) is applied once or rejected once, undo results are what the
// clients did, and after a restore the room's state is the state at the Seq it named with the
// transitions ordered since.

func TestPropCounterUndoRestore(t *testing.T) {
	t.Parallel()
	cfg := counterConfig()
	cfg.Weights = undoWeights
	fuzz.Check(t, "counter replicas with undo and restore converge", cfg, undoParams(t))
}

func TestPropListUndoRestore(t *testing.T) {
	t.Parallel()
	cfg := listConfig()
	cfg.Weights = undoWeights
	fuzz.Check(t, "list replicas with undo and restore converge", cfg, undoParams(t))
}

func TestPropTextUndoRestore(t *testing.T) {
	t.Parallel()
	cfg := textConfig(text.DefaultHistory)
	cfg.Weights = undoWeights
	fuzz.Check(t, "text replicas with undo and restore converge", cfg, undoParams(t))
}
