// Package jetstream keeps rooms' journals on NATS JetStream, so that a room survives the loss
// of any one server and every server of a deployment can serve every room. It offers three
// pieces, usable from a user's own server with their own NATS connection:
//
//   - [Journal], a [journal.Journal] on JetStream streams, object store and key-value bucket;
//   - [Leases], a [Leaser]: which node owns which room, by a lease with a TTL in a KV bucket;
//   - in package [github.com/aper-go/aper/journal/jetstream/node], a NATS server with JetStream
//     embedded in this process, which joins its peers by routes: a cluster needs nothing
//     installed. It is a package of its own so that a program on its own NATS cluster does
//     not link the server.
//
// # Layout
//
// Names start with Options.Prefix, P ("APER" by default):
//
//   - streams P_LOG_0 … P_LOG_{n-1} (Options.Streams, 3 by default), subjects "P.log.i.>": each
//     room is one subject, "P.log.i.T", in the stream i chosen by the FNV-1a hash of its name
//     modulo n. Rooms share a few streams rather than have one each, since every stream is a
//     consensus group of its own, slow to create and costly to keep;
//   - bucket P_SNAP: key T, the pointer to the room's snapshot (JSON: room, Seq, object, and
//     the replaced objects that may not be deleted yet);
//   - object store P_SNAPDATA: the snapshots' data, object "T/Seq/unique id";
//   - bucket P_LEASE (see Leases): key T, the name of the room's owner.
//
// T, the room's token, is "r" and the name with every byte but A-Z, a-z, 0-9, '-' and '_'
// written as '=' and two upper-case hex digits ("a b" is "ra=20b"); a name whose token would
// pass 200 bytes has "h" and the hex SHA-256 of the name instead, and its messages carry the
// name in a header, for Rooms. So any room name of the journal contract is a valid subject
// token and KV key, and no two share one.
//
// Each Append is one message: the entries' data (one entry's as it is; several each after its
// length as a uvarint), with headers Aper-Seq (the first entry's Seq), Aper-Count and
// Aper-Batch (a random id). It is published on condition that the subject's last message has
// the stream sequence of the message that ends at the expected last Seq (JetStream's
// Nats-Expected-Last-Subject-Sequence; 0 for an empty room): a stale owner's append is
// refused, and of two writers with the same expectation exactly one is stored. The journal
// remembers each room's last message (its last Seq and stream sequence) from its own appends
// and reads; when that is stale the publish is refused and it looks again. Last is the last
// entry of the subject's last message; Read and Follow run an ordered consumer on the subject
// from the message that holds the first Seq wanted, found by looking at the first and last
// messages and, between them, by a binary search with "next message for subject" requests.
// A batch must fit in one message (the connection's max payload, 1 MiB by default, less 4 KiB
// for headers); a larger one is refused with ErrInvalid, so that an Append stays atomic.
//
// SaveSnapshot writes the data to a new object, then moves the room's pointer to it by
// compare-and-set on the key's revision, refusing to move it to an older Seq: a stale owner
// cannot put an old snapshot back. Then it deletes the replaced object (the new pointer lists
// it until then; a delete that fails is retried in the background, and again at the room's
// next snapshot) and purges the room's subject below the message that holds the snapshot's
// Seq. The room's last message is never
// purged, since Last and the fencing need it. The streams must have no limits of their own
// (age, messages per subject) that would remove messages otherwise.
//
// # Failures the journal codes around
//
//   - A conditional publish refused (error 10071, or 10164, which a replicated stream also
//     gives spuriously right after an acknowledgement): the journal reads the room's last
//     message; if another writer moved it, Append fails with a *journal.SeqMismatchError, and
//     if not, the refusal was spurious and it publishes again (a few times at most).
//   - No answer in time (a timeout, a connection lost, a leader election): the batch may or may
//     not be stored. The journal settles it by reading the room's last message, never by
//     publishing again, which could store it twice: its Aper-Batch there means stored, another
//     writer's entries after the expected Seq mean refused (a mismatch); if neither shows,
//     Append fails with an error matching [ErrUnknownOutcome] and the owner must read Last
//     again before it goes on. The caller's ctx is only consulted before the publish.
//   - Ordered consumers' Next in a cluster: reads use Messages, never Consumer.Next. Even so,
//     a consumer's first pull request can be lost in a cluster (sent before the new consumer's
//     interest has reached the client's node); the consumer resets after two missed
//     heartbeats, which are set to the shortest JetStream allows (0.5 s), so such a Read
//     stalls about a second instead of ten. Reading with batched direct gets instead of a
//     consumer would avoid the stall; it is the next step if room loads need it.
//   - Nodes that create the same streams and buckets at once (a fresh cluster started
//     together): an update that reaches the meta leader while the stream's create is in
//     flight goes unanswered, and so then does the create. New and NewLeases look streams
//     and buckets up, create what is missing, update only what differs, and repeat a step
//     that times out or meets a cluster still forming (see create.go).
//
// # Durability
//
// With Replicas 3 an append is acknowledged once a majority of the replicas has it. Under
// JetStream's default (SyncAlways false in the node's Config) they have it in memory and write it to
// disk every SyncInterval (2 minutes by default): it survives any node's process dying, and
// one machine losing power, but not a majority losing power at the same moment. With
// SyncAlways each replica fsyncs before it acknowledges: an append survives any crash, at the
// cost of an fsync on the path of every append. A user's own cluster sets this in its server
// configuration (jetstream { sync_interval: always }). See BenchmarkAppendLatency for both.
//
// # Figures
//
// Measured with go test -bench Append -benchtime 2s on a 2-core virtual machine (AMD EPYC)
// shared with other builds (load average 16 to 19), so noisy; two runs. One entry of 100
// bytes per Append, each waiting for its acknowledgement; the cluster's three nodes run in
// the benchmark's process. Disk is the local journal (an fsync per batch); R1 is one node
// under JetStream's default sync interval (no fsync on the path), so the two are not alike.
//
//	BenchmarkAppend/Disk/rooms=1      290–700 entries/s
//	BenchmarkAppend/Disk/rooms=100    9,400–10,200 entries/s
//	BenchmarkAppend/R1/rooms=1        18,600–25,800 entries/s
//	BenchmarkAppend/R1/rooms=100      8,000–8,500 entries/s
//	BenchmarkAppend/R3/rooms=1        940–1,020 entries/s
//	BenchmarkAppend/R3/rooms=100      3,090 entries/s
//	BenchmarkAppendLatency/R3/syncAlways=false   0.59–0.77 ms an Append
//	BenchmarkAppendLatency/R3/syncAlways=true    2.9–3.1 ms an Append
//
// Binary size (go build, linux/amd64), of a program that opens a journal.Disk: 3.1 MB; that
// also makes a Journal and Leases on its own NATS connection: 9.6 MB (stripped: 2.1 and
// 6.7 MB); that also starts an embedded node: 25.4 MB (stripped 17.8 MB).
//
// # How the sync server uses it
//
// Every node serves every room; for each room one node, its owner, orders its transitions, and
// the others relay to it:
//
//  1. A client joins a room on some node. The node campaigns: Leases.Acquire. If it gets the
//     lease it becomes the owner: it loads the room from the journal (LoadSnapshot, Read from
//     its Seq+1, Last) and serves it as a single server does, appending each batch with the
//     room's last Seq as the expectation. If the lease is held (a *HeldError names the
//     holder), the node relays: the client's messages go to the owner over NATS request
//     subjects and the owner's answers come back, served by the owner's ordinary server code.
//  2. The owner's lease renews itself. When Lost is closed, or an Append fails with
//     ErrSeqMismatch, the room has (or may have) another owner: the node stops ordering it,
//     closes its clients' connections, and from then on relays for that room; it does not
//     campaign again while the lease is held. The clients resume through the existing
//     protocol, from their last Seq, against whichever node they reach.
//  3. An Append error that is neither a mismatch nor ErrInvalid leaves the batch's fate
//     unknown: the owner reads Last (and the entries after its own last Seq) and rebuilds the
//     room from the journal before it confirms anything, instead of reopening the journal,
//     which is shared.
//  4. Unloading an idle room releases its lease (Lease.Release), so that the next node a
//     client reaches takes it at once rather than after the TTL.
//  5. Package [github.com/aper-go/aper/cluster] implements this for the sync server (its
//     sync.Ownership on Leases, the relay on NATS subjects). LoadRooms loads the rooms no other
//     node owns; the server's own calls on a room (Snapshot, Seq, Submit, Restore, Kick) are
//     carried to its owner (sync.Forwarder), and History, StateAt and Follow read the
//     journal on any node; an agent's connection is relayed as a client's is.
//
// Safety does not depend on the lease: two nodes that both believe they own a room (a
// partition, a paused process, clocks) cannot both append, since each append is conditional
// on the room's last message. The lease only keeps that rare, so that owners seldom find
// themselves fenced off.
package jetstream
