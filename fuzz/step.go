package fuzz

import (
	"fmt"
	"time"

	"github.com/aper-go/aper/transport/memory"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
)

// Kind says what a [Step] does.
type Kind uint8

// The kinds of step.
const (
	KindApply      Kind = iota + 1 // generate a transition on a client's view and apply it there
	KindDeliver                    // deliver the oldest pending message of one direction of a client's link
	KindDisconnect                 // cut every connection of a client
	KindPartition                  // partition a client from the server
	KindHeal                       // heal a client's partition
	KindAdvance                    // advance the fake clock
	KindSettle                     // deliver everything, reach quiescence, check
	KindUndo                       // undo a client's latest step of its own transitions
	KindRedo                       // redo the step a client's latest undo took back
	KindRestore                    // restore the room to its state at an earlier Seq
)

// Step is one command of the harness (a gopter commands.Command). Make steps with [Apply],
// [Deliver], [Disconnect], [Partition], [Heal], [Advance], [Settle], [Undo], [Redo] and
// [Restore]; a client index is taken modulo the number of clients.
type Step struct {
	Kind   Kind
	Client int
	Seed   int64                // KindApply: seeds the transition's generator; KindRestore: picks the Seq
	Up     bool                 // KindDeliver: client to server (else server to client)
	Mode   memory.PartitionMode // KindPartition
	D      time.Duration        // KindAdvance
	note   string               // what the step did when it last ran, for counterexamples
}

var _ commands.Command = (*Step)(nil)

// Apply returns the step that applies, on client, a transition drawn from Config.Transition
// with the given seed.
func Apply(client int, seed int64) *Step { return &Step{Kind: KindApply, Client: client, Seed: seed} }

// Deliver returns the step that delivers the oldest pending message from client to the server
// (up) or from the server to client.
func Deliver(client int, up bool) *Step { return &Step{Kind: KindDeliver, Client: client, Up: up} }

// Disconnect returns the step that cuts client's connection abruptly; the client reconnects
// when the fake clock passes its backoff.
func Disconnect(client int) *Step { return &Step{Kind: KindDisconnect, Client: client} }

// Partition returns the step that partitions client from the server. Hold keeps the traffic for
// the heal; Drop loses it and cuts the connection.
func Partition(client int, mode memory.PartitionMode) *Step {
	return &Step{Kind: KindPartition, Client: client, Mode: mode}
}

// Heal returns the step that heals client's partition.
func Heal(client int) *Step { return &Step{Kind: KindHeal, Client: client} }

// Advance returns the step that advances the bubble's fake clock by d.
func Advance(d time.Duration) *Step { return &Step{Kind: KindAdvance, D: d} }

// Settle returns the step that delivers everything, waits for quiescence and checks (see
// [System.Settle]).
func Settle() *Step { return &Step{Kind: KindSettle} }

// Undo returns the step that undoes client's latest step of its own transitions
// (sync.Client.Undo). The system's clients keep undo stacks when Weights.Undo or Weights.Redo is
// set; see [System] for what the harness checks of the result.
func Undo(client int) *Step { return &Step{Kind: KindUndo, Client: client} }

// Redo returns the step that redoes the step client's latest undo took back (sync.Client.Redo).
func Redo(client int) *Step { return &Step{Kind: KindRedo, Client: client} }

// Restore returns the step that restores the room to its state at an earlier Seq
// (sync.Server.Restore): seed modulo the room's Seq plus one, so 0 (the initial state) to the
// room's Seq. The system's server keeps its history in a journal when Weights.Restore is set.
func Restore(seed int64) *Step { return &Step{Kind: KindRestore, Seed: seed} }

// stepper is what a Step needs of the system under test.
type stepper interface{ run(*Step) error }

// Run runs the step on the system under test (a *System).
func (st *Step) Run(sut commands.SystemUnderTest) commands.Result { return sut.(stepper).run(st) }

// NextState counts the steps (the model is the number of steps run so far).
func (st *Step) NextState(state commands.State) commands.State { return state.(int) + 1 }

// PreCondition holds for every step.
func (st *Step) PreCondition(commands.State) bool { return true }

// PostCondition fails the run if the step returned an error.
func (st *Step) PostCondition(_ commands.State, result commands.Result) *gopter.PropResult {
	if err, _ := result.(error); err != nil {
		return &gopter.PropResult{Status: gopter.PropError, Error: err}
	}
	return &gopter.PropResult{Status: gopter.PropTrue}
}

// String describes the step, with what it did when it last ran.
func (st *Step) String() string {
	var s string
	switch st.Kind {
	case KindApply:
		s = fmt.Sprintf("fuzz.Apply(%d, %d)", st.Client, st.Seed)
	case KindDeliver:
		s = fmt.Sprintf("fuzz.Deliver(%d, %t)", st.Client, st.Up)
	case KindDisconnect:
		s = fmt.Sprintf("fuzz.Disconnect(%d)", st.Client)
	case KindPartition:
		s = fmt.Sprintf("fuzz.Partition(%d, memory.%v)", st.Client, titleMode(st.Mode))
	case KindHeal:
		s = fmt.Sprintf("fuzz.Heal(%d)", st.Client)
	case KindAdvance:
		s = fmt.Sprintf("fuzz.Advance(%d)", st.D)
	case KindSettle:
		s = "fuzz.Settle()"
	case KindUndo:
		s = fmt.Sprintf("fuzz.Undo(%d)", st.Client)
	case KindRedo:
		s = fmt.Sprintf("fuzz.Redo(%d)", st.Client)
	case KindRestore:
		s = fmt.Sprintf("fuzz.Restore(%d)", st.Seed)
	default:
		s = fmt.Sprintf("Step(%d)", st.Kind)
	}
	if st.note != "" {
		s += " /* " + st.note + " */"
	}
	return s
}

func titleMode(m memory.PartitionMode) string {
	switch m {
	case memory.Hold:
		return "Hold"
	case memory.Drop:
		return "Drop"
	}
	return m.String()
}
