// Package fuzz property-tests replicated state machines end to end: a server and several clients
// of one room (package sync) on an in-process network (transport/memory) whose every message
// waits until a command delivers it, driven by random commands (gopter's commands package), and
// checked at quiescent points.
//
// # Testing your own state machine
//
// Give the harness a factory and a generator of transitions drawn from a client's current view
// (so that a transition can name ids that exist there), and run the property:
//
//	func TestConverges(t *testing.T) {
//		cfg := fuzz.Config[*Board, Move]{
//			New: func() *Board { return NewBoard() },
//			Transition: func(client int, b *Board) gopter.Gen {
//				return gen.IntRange(0, 8).Map(func(sq int) Move { return b.MoveTo(sq) })
//			},
//		}
//		fuzz.Check(t, "board converges", cfg, fuzz.Parameters(t, 200, 200, 0))
//	}
//
// Each run builds a fresh [System] and runs a random sequence of [Step]s: apply a generated
// transition on a client ([Apply]), deliver the oldest message of one direction of a client's
// link ([Deliver]), cut a client's connection ([Disconnect]), partition a client from the server
// and heal it ([Partition], [Heal]), advance the clock ([Advance]), and deliver everything and
// check ([Settle]), which is always the last step of a run; and, when Config.Weights asks for
// them, undo or redo a client's own latest step ([Undo], [Redo]: sync.Client.Undo and Redo) and
// restore the room to its state at a random earlier Seq ([Restore]: sync.Server.Restore).
// Config.Observe and Config.Check let a test keep a model of its own (what each client saw when
// it acted, the server's order) and compare with it; Config.Weights changes the mix of steps.
//
// # What Settle checks
//
// Settle heals every partition, delivers every message and lets the clock run until every client
// is connected with nothing pending, then checks the invariants of the library (the design's
// section 11):
//
//   - Convergence: every client's state has the server's encoding, under every codec (as
//     apertest.Equal compares), and the same Seq.
//   - No rejected transition reaches anyone: the harness wraps the state so that every replica
//     carries the list of transitions it applied; each client's list must be the server's
//     ordered list (a client's own transitions may appear as it applied them optimistically).
//   - Exactly once: each transition a client's Apply accepted was, in order, either applied once
//     by the server or rejected once, and the client heard of exactly the rejections the server
//     made (counted per client).
//   - A client drops its connection only for the harness's faults: a protocol error or a
//     confirmed transition that does not apply on the client fails the run at once.
//
// # Undo and restore
//
// With Weights.Undo or Weights.Redo set, every client keeps an undo stack, and each Undo or Redo
// step checks what the client reports: nothing with nothing to undo; otherwise a step taken off
// the stack, a conflict (a *conflict.Conflict) for every step passed over, a handle per
// transition applied, and the client's view afterwards holding its view before plus the
// transitions reported applied, in order, as it sent them. Those transitions count as the
// client's submitted ones in the exactly-once check.
//
// With Weights.Restore set, the server keeps every entry in a journal, and the checks follow
// the room's ordered log as the journal has it, restores included: the transitions that make
// the state at a Seq are those that make the state at the Seq of its latest restore's target,
// then those ordered after that restore (a model of Restore that does not use StateAt). After
// each restore and at every quiescent point the room's state must hold exactly those
// transitions and equal their replay from the initial state; right after a restore it must also
// equal StateAt of the Seq restored to. The exactly-once check counts, per client, the
// transitions in the log (those a restore took out included), so one applied twice or lost is
// still caught; each client's view is checked against the log's state at the client's Seq.
//
// Quiescence alone cannot catch a client whose optimistic view goes wrong while transitions are
// pending (once nothing is pending, its view is the confirmed state again). So after every step
// the harness also checks each client's view: it must hold exactly the server's ordered
// transitions up to the client's Seq (its own ones may still stand as it applied them
// optimistically), then its pending transitions in order; one it leaves out must conflict where
// it stands, which the harness checks by replaying the view from the initial state.
//
// Odd clients speak JSON and even ones CBOR, so replicas are compared across codecs.
//
// # Determinism
//
// The sync layer runs goroutines; the harness runs every run inside a testing/synctest bubble.
// After each step it waits (synctest.Wait) until every goroutine is blocked again, so that the
// step's effects have all happened before the next step; no sleeps. Time is the bubble's fake
// clock: it moves only in [Advance] and in Settle (to let reconnection backoff run), so pings,
// timeouts, backoff and, once the server issues them, a state machine's timers are driven by the
// commands. A seed ([Parameters], the tests' -fuzz.seed flag, or [SeedEnv]) replays the command
// sequences.
//
// Client i's key, and so its id, is the same in every run. Two things are not fixed by the
// seed: the jitter of the clients' reconnection backoff (math/rand), and how a connection's
// writer coalesces queued frames into transport messages (it takes whatever is queued when it
// wakes).
// So a replayed sequence sends the same frames in the same order on each link, but perhaps in a
// different number of messages, and a Deliver step may then carry more or fewer frames; gopter's
// shrinking still works, and a counterexample usually replays, but not always step for step.
//
// # This package's tests
//
// The tests run properties over every structure of the library (Counter, Map, List, Text with an
// intent model, Tree, pool's Board, Transactions), and over Counter, List and Text with undo,
// redo and restore (half the runs), 200 runs of up to 200 steps each by default:
// go test ./fuzz -fuzz.runs=2000 -fuzz.size=400 -fuzz.seed=N for longer searches. They also hold
// native fuzz targets for decoders that their packages do not fuzz (seed corpora in
// testdata/fuzz; make fuzz runs every target), and the regressions that the properties found.
package fuzz
