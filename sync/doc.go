// Package sync keeps replicas of a state machine identical across processes: a [Server] holds
// rooms, each with one state machine that puts every transition in one total order, and each
// [Client] applies its own transitions at once (optimistically) and rebases them when the
// server's order differs.
//
// The folder is sync/ and the package is sync; import it under another name so that it does not
// shadow the standard library's:
//
//	import apersync "github.com/aper-go/aper/sync"
//
// A server over any transport.Listener, with a room factory:
//
//	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
//		return aper.NewCounter(0), nil
//	})
//	go srv.Serve(ctx, listener)
//	defer srv.Shutdown(ctx)
//
// A client of room "lobby":
//
//	c, err := apersync.Dial[*aper.Counter, aper.CounterTransition](ctx, dialer, "lobby")
//	defer c.Close()
//	err = c.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}) // applied at once
//	fmt.Println(c.State().Value())                                          // the optimistic view
//	for range c.Changes() { ... }                                           // others' changes
//
// # Ordering and conflicts
//
// The room assigns each submitted transition the next Seq, stamps the server's time and the
// sender's ClientID (never the client's word for either), applies it, and broadcasts it to every
// client of the room, the sender included, whose copy carries its own local sequence number so
// that it can match it. A transition whose Apply conflicts goes back to its sender only, as a
// rejection carrying the *conflict.Conflict; it is never broadcast, and the sender's optimistic
// view drops it ([Client.Rejections]).
//
// # Rebase
//
// A client keeps the confirmed state (the server's state at its last Seq), its queue of pending
// transitions, and the optimistic view: confirmed plus pending. When the server confirms the
// client's own oldest pending transition and nothing else came first, the view is already right
// and nothing is rebased. When another client's transition arrives, it is applied to the
// confirmed state and the view is rebuilt from confirmed.Clone() (O(1) for the library's
// copy-on-write structures) plus the pending transitions, once per received message: the cost
// is that of the pending transitions, not of the state. A pending transition that no longer
// applies is left out of the view; the server, which orders it after what conflicts with it,
// rejects it, and that rejection reports it.
//
// # Exactly once across reconnections
//
// The server gives each client a ClientID on its first hello, which the client presents again
// when it reconnects; the client numbers its transitions 1, 2, 3, ... (its local seq). The room
// remembers, per client, the highest local seq it has processed (applied or rejected) and ignores
// a submit at or below it, so each (ClientID, local seq) is applied at most once. On
// reconnection the client sends its last confirmed Seq; the server answers with the transitions
// it missed from a bounded in-memory log (WithResumeLog), or with a snapshot when the log has
// moved on, plus the highest local seq processed and the rejections it still remembers. The
// client then knows the fate of each pending transition and re-sends exactly those the server
// has not seen.
//
// # Protocol
//
// Frames (hello, welcome, submit, confirmed, rejected, error, ping, pong; presence reserved) are
// encoded with the connection's codec: the one it names through transport.Codec (WebSocket
// subprotocols "aper.json" and "aper.cbor"), else CBOR. Transitions and snapshots travel as
// nested values of the same codec. A hello of another [ProtocolVersion] is answered with a fatal
// error frame and the connection is closed. Malformed or unexpected frames close their own
// connection only: the room and its other clients carry on.
//
// # Structure
//
// Each side has a synchronous core and a thin goroutine layer. The room core orders, applies and
// says which frames go where; one goroutine per room feeds it batches of messages and hands the
// results to per-connection queues, which writer goroutines drain, coalescing frames into few
// transport messages and never holding a lock while sending. The client core holds the
// confirmed state, the pending queue and the view; the Client feeds it what its connection
// receives.
package sync
