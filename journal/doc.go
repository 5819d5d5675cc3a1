// Package journal stores each room's ordered transitions durably: an append-only log of opaque
// entries per room, with consecutive sequence numbers from 1, and one snapshot per room beside
// it. It knows nothing of rooms' states or transitions: the server encodes its records and
// snapshots, and rebuilds a room from them.
//
// [Journal] is the contract; [Memory] keeps everything in memory, for tests and for servers
// that need no durability; [Disk], from [Open], is the default on local disk and needs no setup.
//
// # Using it from a room
//
// A room's owner keeps the room's last Seq. On start it loads the snapshot (LoadSnapshot), reads
// the log after it (Read from its Seq+1, or from 1) and applies it; Last gives where to go on.
// Each batch of ordered transitions becomes one Append(ctx, room, last, entries) with Seqs
// last+1, last+2, ...; the batch's outcomes go out to clients only once Append has returned nil.
// An error matching [ErrSeqMismatch] means that someone else appended (another owner took the
// room over): stop serving the room rather than retry. Any other Append error leaves the batch's
// fate unknown: fail the room and rebuild it from the journal. Every so often (every few
// thousand entries, or when the log after the snapshot has grown past the state's size) save a
// snapshot of the state at the last Seq applied; the log it covers may then be compacted away.
// Clients that resume from a Seq are served with Read or Follow from it, and told to load the
// whole state when that gives [ErrCompacted].
//
// The interface is shaped so that a replicated log (NATS JetStream, with one owner per room
// holding a lease) can implement it unchanged: Append is a publish with an expected last
// sequence per subject, Follow a consumer from a sequence, and snapshots live beside the log
// (an object store) with the Seq they cover.
//
// # History
//
// A [Retention] (Options.Retention for Disk, Memory.Retain) keeps entries and older snapshots
// beyond the latest snapshot, by count or by age, so that a room's state at a past Seq can be
// rebuilt: [SnapshotHistory.LoadSnapshotAt], then Read after it.
//
// # Durability
//
// Under the default policy, [SyncBatch], Append returns once the room's segment file is
// fsynced. Appends to one room that arrive while its fsync is under way are written at once and
// share the next fsync (group commit), and Appends to different rooms fsync their own files in
// parallel, which the file system folds into shared journal commits; so durability costs
// latency, not throughput. [SyncInterval] and [SyncNever] trade the last moments before a
// machine crash for latency; both survive the process being killed. See [SyncPolicy].
//
// # On disk
//
// One directory per room under rooms/, named "r-" and the room's name with every byte but a-z,
// 0-9, '-' and '_' escaped as %xx in lower-case hex: no name can reach outside, and no two names
// meet on a case-insensitive file system. A name whose escaped form passes 130 bytes gets "h-" and
// the hex SHA-256 of the name instead; each room directory keeps the name in a file, for Rooms.
// A room's directory appears whole, by rename.
//
// A room's log is a series of segment files named by the Seq of their first record, each a
// 16-byte header (magic "aperjnl1", first Seq) and records: a 20-byte header (data length
// uint32, Seq uint64, CRC-32C of the data, CRC-32C of these 16 bytes; little-endian) and the
// data. Each Append is one write. The records that one fsync makes durable (one Append, or
// several that group commit gathered) are a batch, closed by a commit marker written just
// before that fsync: a record with Seq 0 whose 24 bytes of data are the batch's offset in the
// segment and its first and last Seqs. So a marker is only written once every batch before it is
// durable. A segment that passes Options.SegmentSize (8 MiB) is fsynced and the next one begun; after a snapshot, the segments it covers entirely are deleted. The snapshot
// is a 32-byte header (magic "apersnp1", Seq, length, CRC-32C of the data, CRC-32C of the
// header) and the data, written to a temporary file, fsynced, renamed into place, and the
// directory fsynced.
//
// # Recovery
//
// A room is loaded on first use. Its last segment is scanned record by record. At the first
// record (or marker) that is incomplete or fails a checksum, the question is whether a whole
// batch with its commit marker follows. If none does, the damage is in what was written since
// the last fsync that completed: a power loss may have left holes (zeros or garbage) anywhere in
// it, whatever the write-back saved after them, and none of it was acknowledged under
// SyncBatch. So the rest of the file is a torn tail, cut, and everything before the damage is
// kept. If one does, the damaged batch was fsynced before that marker was written: the damage
// is in the middle, and every call on the room fails with a [*CorruptError] naming the room, the
// file and the byte offset, until someone looks (the data is left as it was). The header's own
// checksum makes the length trustworthy, so a record whose data is damaged is judged by what
// follows its end, and entries whose data happens to contain a record are not mistaken for one.
// A record whose checksums hold but whose Seq is wrong, or a marker whose checksums hold but that
// does not close the records before it, is damage, never a torn tail: holes do not pass
// checksums. Other segments were fsynced when sealed; a Read that meets damage there yields a
// *CorruptError too. Everything that survived is closed with a marker and fsynced before it is
// reported durable. Segments written before commit markers existed have none, and read as one
// batch still open.
//
// # Why files and not bbolt or pebble
//
// The access pattern is an append-only log per room, read back sequentially: segment files fit
// it exactly, with one write and one fsync per batch, and group commit is a few lines around
// fsync. A B-tree (bbolt) rewrites pages and fsyncs twice per transaction, and an LSM (pebble)
// brings its own write-ahead log, compactions and many knobs, to store what would be its own log
// again; either is a sizeable dependency. Plain files also make the torn-tail rules above
// explicit and testable, and the format is small enough to read with a hex dump.
//
// # Figures
//
// Measured with go test -bench . -benchmem on a 2-core virtual machine (ext4) shared with other
// builds, so noisy; ranges over three runs. Entries of 100 bytes, SyncBatch:
//
//	BenchmarkAppend/appenders=1/rooms=1/batch=1      780–7,600 entries/s (one fsync each, 0.13–1.3 ms)
//	BenchmarkAppend/appenders=1/rooms=1/batch=64     58,000–250,000 entries/s, 900–3,900 fsyncs/s
//	BenchmarkAppend/appenders=10/rooms=10/batch=1    13,500–21,800 entries/s and fsyncs/s
//	BenchmarkAppend/appenders=10/rooms=10/batch=64   650,000–874,000 entries/s, 10,000–13,700 fsyncs/s
//	BenchmarkAppend/appenders=10/rooms=1/batch=1     6,700–38,000 entries/s, 5.4 entries a fsync
//	BenchmarkAppend/appenders=10/rooms=1/batch=64    160,000–1,600,000 entries/s, 345 entries a fsync
//	BenchmarkReplay (1,000,000 entries: open, load, read all)  0.12 s (8.1 M entries/s, 977 MB/s) unloaded, up to 2 s under load
//
// Appends allocate 2 objects (about 120 bytes) whatever the batch size. An fsync that grows the
// file costs about 0.44 ms on this machine against 0.10 ms for fdatasync into preallocated space:
// preallocating segments is the next step if one room's batch rate matters more than that.
package journal
