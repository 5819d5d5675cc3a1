// Package memory is an in-process transport: a [Network] of named listeners whose connections
// carry messages between goroutines of one process, with faults that a test injects and
// controls deterministically.
//
// # Connections
//
// [NewNetwork] makes a network; [Network.Listen] registers a name and [Network.Dial] connects to
// it. Each connection has two ends, both [*Conn], each with a name: the accepting end is named
// after its listener, the dialing end after [DialOptions.From] (by default "dial-1", "dial-2", ...
// in dial order). [Pipe] makes one connected pair on a private network, for unit tests.
// *Conn implements transport.Conn and transport.Metadata; Send never blocks (the buffers are
// unbounded), and Recv may be cancelled through its ctx without harming the connection.
//
// [Conn.Close] is graceful: messages already sent still reach the peer, which then sees the
// close as an error matching net.ErrClosed. [Conn.Disconnect] is abrupt, as a network failure
// would be: every message not yet received is lost, and both ends' blocked and later calls fail
// with [ErrDisconnected] (which matches net.ErrClosed).
//
// # Faults
//
//   - Latency and jitter ([Options.Latency], [Options.Jitter], [Network.SetLatency]): each message
//     is delivered after Latency plus a uniform random part of Jitter, drawn from a source seeded
//     with [Options.Seed]; messages of one connection stay in order.
//   - Disconnect at a chosen moment ([Conn.Disconnect], [Network.Disconnect] for every connection
//     of an endpoint) or after a number of messages ([Conn.DisconnectAfter]: the connection is cut
//     right after that end has received n more messages, so the test knows exactly what got
//     through).
//   - Partitions between two endpoint names ([Network.Partition], [Network.Heal],
//     [Network.HealAll]): in [Hold] mode the traffic waits and flows, in order, when the
//     partition heals; in [Drop] mode it is lost (Send still succeeds, as on a real lossy link).
//     Dialing across a partition fails with [ErrUnreachable].
//
// # Manual delivery
//
// With [Options.Manual] no message moves until the test says so. Every sent message (and every
// graceful close, as a [Message] with Close set) waits in the network's pending list, numbered in
// send order:
//
//   - [Network.Pending] lists the waiting messages, oldest first;
//   - [Network.Deliver] delivers one (and, first, the older messages of the same direction of the
//     same connection, so a connection stays ordered), [Network.DeliverAll] delivers everything,
//     [Network.Drop] loses one;
//   - [Network.WaitPending] blocks until some number of messages are waiting, for senders that
//     run on their own goroutines.
//
// Delivery is synchronous: when Deliver returns, the message is in the receiver's buffer and its
// next Recv returns it without blocking. No goroutine of the network decides any order, so a
// property test (gopter) that picks "deliver pending[i % len]" or "drop" as commands replays
// exactly; latency is ignored in manual mode.
//
// # Concurrency
//
// Every method of [Network], [Listener] and [Conn] may be called from any goroutine, except that
// a Conn's Recv is for one goroutine at a time (the transport.Conn contract). The network's
// bookkeeping is under one mutex; the only goroutines it starts are the timers that deliver
// delayed messages, and Close and Disconnect wait for those of their connection.
package memory
