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
// A durable server with the room services (see the sections below):
//
//	j, err := journal.Open(dir, nil) // fsync per batch, group commit
//	srv, err := apersync.NewServer(factory,
//		apersync.WithJournal(j),            // confirmed only once durable; rooms rebuilt on load
//		apersync.WithAuth(func(ctx context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
//			user, err := checkSession(req.Metadata.(*http.Request), req.Token)
//			if err != nil {
//				return apersync.Identity{}, err // the client gets ErrUnauthorized with this reason
//			}
//			return apersync.Identity{Client: aper.ClientID(user.ID), Rooms: user.Rooms, Info: user}, nil
//		}),
//		apersync.WithPermission(func(id apersync.Identity, room string, s *Doc, t DocEdit) error {
//			if id.Info.(*User).ReadOnly {
//				return errors.New("read-only") // a rejection to that client alone
//			}
//			return nil
//		}),
//		apersync.WithRateLimit(50, 100), apersync.WithMaxClientsPerRoom(64))
//
//	bot, err := srv.Agent(ctx, "lobby") // a *Client in the server's process
//
//	c, err := apersync.Dial[*Doc, DocEdit](ctx, dialer, "lobby", apersync.WithToken(tok))
//	c.SetPresence(Cursor{Line: 3, Col: 14}) // throttled; the last value always goes out
//	for range c.PresenceChanges() {
//		for _, p := range c.Presence() { var cur Cursor; p.Decode(&cur); ... }
//	}
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
// Each client has a secret key, random unless [WithClientKey] gives it, that it sends in every
// hello. The key's hash is the client's instance, which nobody else can claim (instances and ids
// are public: confirmed frames carry them) and which a client that keeps its key keeps across
// restarts. Its ClientID, the Event.Client of its transitions, is the authentication hook's
// [Identity.Client] when the hook names one (a user's devices may share it), else the instance.
// One connection per instance: a newer one supersedes the attached one, a late older one (an
// attempt the client gave up on) is refused; when another process holds a copy of the key, the one
// superseded stops with an error matching [ErrSuperseded]. The client numbers its transitions 1,
// 2, 3, ... (its local seq; a client that kept its key numbers on from where the earlier one
// stopped). The room remembers, per instance, the highest local seq it has processed (applied or
// rejected) and ignores a submit at or below it, so each (instance, local seq) is applied at most
// once; a submit must carry the next local seq (a gap is a protocol error that closes the
// connection, so that no peer can make the room skip another's transitions). On reconnection the
// client sends its last confirmed Seq; the server answers with the transitions it missed from a
// bounded in-memory log (WithResumeLog), or with a snapshot when the log has moved on, plus the
// highest local seq processed and the rejections it still remembers. The client then knows the
// fate of each pending transition and re-sends exactly those the server has not seen. In one
// rare case it cannot: a snapshot after the server forgot some of its rejections (more than 64
// while it was away, or, after a restart, those after the journal's last snapshot that came
// before the client's last transition in the log; the snapshot itself keeps the rejections the
// room remembered); a
// pending transition it cannot place is reported on [Client.Rejections] with
// [ErrOutcomeUnknown], and the snapshot holds it if it was applied.
//
// # Durability
//
// With [WithJournal], the room appends each batch of ordered transitions to the journal (CBOR
// entries, conditional on the room's last Seq, so that a stale owner is fenced off) and waits for
// it to be durable before it sends anything of the batch: nothing is confirmed to anyone that a
// crash could lose. Rejected transitions are never journaled. A room is rebuilt when it is loaded
// (after a restart, or after it unloaded when empty) from the journal's latest snapshot and the
// log after it, with the Seq, each client's highest processed local seq (exactly-once survives a
// restart: a client re-sends what it had pending and the server skips what it already applied)
// and the members of a [Membership]. A client whose Seq the in-memory resume log no longer
// covers resumes from the journal when it still has the transitions after it
// ([WithSnapshotEvery] saves snapshots, cloned in the room's goroutine and encoded on another).
//
// # History and control
//
// With a journal that keeps history (journal.Retention), [Server.History] yields a room's ordered
// entries, [Server.StateAt] rebuilds its state at a retained Seq from the nearest snapshot, and
// [Server.Restore] resets it to such a state as one new journaled entry (clients reconnect and
// load it; their pending transitions are re-sent on top of it). [Server.Kick] and
// [Server.Reauthorize] close live connections with fatal errors ([ErrKicked], [ErrUnauthorized]).
//
// # Presence
//
// [Client.SetPresence] sets a per-client ephemeral value (a name, a cursor) that the server passes
// to the room's other clients: unordered, last value wins, not part of the state, never
// journaled; a joiner gets everyone's in its welcome. It is removed for everyone when the client
// closes or its connection ends, including a connection silent for [WithConnTimeout] (no ghost
// cursors). The client sends at most one value per [WithPresenceInterval] and always the last;
// the server passes on at most one per connection per [WithPresenceThrottle] (default 25ms),
// also always the last, whatever a client sends.
// The server drops a value larger than [WithMaxPresenceSize] (default 4 KiB) or nested deeper
// than 16 levels.
// [Client.Presence] and [Client.PresenceChanges] read the others'.
//
// # Timers, agents, joins and leaves
//
// A state that implements [Timer] names its next scheduled transition; the room applies it when
// due as a server event, journaled like any other (after a restart an overdue timer fires once,
// since the state after it names the next). [Server.Agent] is a client in the server's process.
// A state that implements [Membership] turns a client's first join, and its leaving for good
// (gone for [WithLeaveGrace] without reconnecting), into transitions of its own.
//
// # Hooks and limits
//
// [WithAuth] authenticates each connection from the transport's metadata
// (transport.Metadata: the *http.Request of a WebSocket upgrade, the tls.ConnectionState of
// QUIC) and the hello's token ([WithToken]); it names the client ([Identity]) and the rooms it may
// join, or refuses it: the client gets a [*ServerError] matching [ErrUnauthorized] with the
// reason and does not reconnect. [WithPermission] checks each transition; a refusal is a
// rejection to its sender alone ([Rejection.Err] is a [*RefusedError] matching [ErrForbidden]).
// Limits: [WithRateLimit] (a token bucket per client), [WithMaxPending], [WithMaxTransitionSize]
// (refusals matching [ErrLimit]), [WithMaxClientsPerRoom] and [WithMaxRooms] (a non-fatal
// [*ServerError] matching ErrLimit; the client retries), and on the client [WithPendingLimit].
// The room carries on and other clients are unaffected.
//
// A panic in user code is recovered and logged with its stack ([WithLogger]); it never crashes
// the server. In the auth hook it refuses the connection ("unauthorized", internal error); in
// the permission hook it refuses that transition ("forbidden"); in the factory the room fails to
// load. In Apply, a Timer or Membership method or Clone, the state may be half-changed: nothing
// of the batch is confirmed, the client whose transition panicked gets a fatal error, and the
// room stops. With a journal the others reconnect to the room rebuilt from it; without one they
// get a fatal error of code "room".
//
// # Protocol
//
// Frames (hello, welcome, submit, confirmed, rejected, error, ping, pong, presence) are encoded
// with the connection's codec: the one it names through transport.Codec (WebSocket subprotocols
// "aper.json" and "aper.cbor"), else CBOR. Transitions and snapshots travel as nested values of
// the same codec. A hello of another [ProtocolVersion] is answered with a fatal error frame and
// the connection is closed. Malformed or unexpected frames close their own connection only: the
// room and its other clients carry on.
//
// One transport message may carry several frames: writers coalesce queued frames. On CBOR they
// are a CBOR sequence (RFC 8742: items back to back). On JSON they are JSON objects separated by
// a newline ("\n"): a WebSocket message of subprotocol "aper.json" is not always one JSON
// document, so a browser client must split each message on newlines and parse each line (a
// frame never contains a raw newline, since JSON escapes it in strings). A client may send one
// frame per message, or several the same way.
//
// A snapshot larger than one chunk (half the server's message limit, [WithMaxMessageSize], and at
// most 256 KiB) travels in chunks: the welcome announces it (its Seq, size and SHA-256) and chunk
// frames follow, one per message, before any other frame. The message limit thus stays a limit on
// each message, not on a room's size: a client joins a room of any size, and still refuses any one
// message over its limit. The server encodes a snapshot once per codec and Seq and shares the bytes
// among the clients that join meanwhile; a connection holds at most one chunk frame of it however
// slowly its client reads, so ten clients joining a large room at once cost about one snapshot, not
// ten. A client whose connection breaks mid-transfer keeps the bytes it has and says so in its next
// hello; a server that can produce the same snapshot again (the room has not moved on) sends the
// rest only, else a new one from the start. Chunks out of order, of another snapshot, mixed with
// other frames, or whose whole does not match the checksum fail the connection with an error
// matching [ErrProtocol]; the client's memory grows only with the bytes actually received.
//
// Liveness: the client pings every [WithPingInterval] (default 2s: 30 pings a minute per client,
// each a frame of a few bytes, and as many pongs back) and takes a connection that brings nothing
// for three intervals (6s by default) as dead, on any transport, including one that neither
// delivers nor fails (a crashed host, a QUIC connection nobody resets): it reports Disconnected
// with [ErrServerSilent] and reconnects. The server drops a connection silent for [WithConnTimeout]
// (default 45s).
//
// Every connection the server ends carries the reason: an error frame the client surfaces as a
// [*ServerError] (in [Status].Err, or from Dial), and a log line "connection ended by the server"
// with the same reason ([WithLogger], level Info). A bad frame (code "protocol") is answered after
// what was already queued for the client, even when it arrives before the room has processed the
// client's join. A client that falls [WithQueueLimit] frames behind (a slow reader) gets code
// "overflow": its queue is dropped and the error frame jumps ahead of it (if the client reads
// nothing for 5s more, the connection is closed without it); it reconnects and resumes. A frame for
// the client over the message limit (code "too-large") makes its next connection ask for a snapshot
// instead of resuming into the same frame. A connection silent for WithConnTimeout gets code
// "timeout"; a room that stops, "room"; a server shutting down, "shutdown".
//
// # Structure
//
// Each side has a synchronous core and a thin goroutine layer. The room core orders, applies and
// says which frames go where; one goroutine per room feeds it batches of messages and hands the
// results to per-connection queues, which writer goroutines drain, coalescing frames into few
// transport messages and never holding a lock while sending. On the server a connection's
// writer runs only while its queue holds frames, so an idle connection holds one goroutine (its
// reader) and no buffers of the writer. The client core holds the
// confirmed state, the pending queue and the view; the Client feeds it what its connection
// receives.
package sync
