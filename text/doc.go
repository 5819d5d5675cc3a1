// Package text is a replicated string: operational transformation (OT) over a copy-on-write
// rope.
//
// An [Op] is a sequence of retain, insert and delete components that walks a whole string,
// counted in Unicode code points (not bytes, not UTF-16 units: see [Text.FromUTF16] and
// [Text.FromByte] to convert). Ops [Transform] (TP1 holds, with a [Side] to break ties between
// inserts at one position), [Compose] and [Invert]; [TransformIndex] moves cursors and
// selections. An op whose input length differs from the string is an OutOfRange conflict, never
// a panic or a clamp.
//
// A caret or a selection's end that must hold while others edit is an [Anchor] ([Text.Anchor],
// [Text.Resolve]): it names the character it sticks to, also one its user typed that the server
// has not ordered yet, so it resolves on any later state of any replica, and its user's next
// keystrokes at it land in order. A position and a version of a client's optimistic view do not
// hold: once the server orders the view's pending edits, that version names another text.
//
// [Text] is the state machine (see package aper): its transition, an [Edit], is an op made
// against version Base of the text plus its author's own later edits, which a client may send
// without waiting for each to be confirmed. Apply transforms the op over the other authors'
// edits since Base as they look after the author's own — the server side of the Jupiter (ot.js)
// client–server algorithm — so a client that types "hello" as five pending one-character edits
// gets "hello", contiguous and in order, whatever the server put between them. The tests check
// this against textbook ot.js clients and server, which send one edit at a time.
//
// # How Apply works
//
// A Text keeps a bounded history of the edits it applied (each with its author, its Base, its
// op as applied and, where it differs, its op as sent; [DefaultHistory] edits unless [NewWithHistory] says otherwise, and more, up to
// [HistoryStretch] times as many, back to the Base of each author's latest edit, so that an
// author far behind a busy room is not refused: see [Text.Oldest])
// and, for each author with an edit in that window, the part of the Jupiter server's queue for
// that author that differs from the history: the other authors' edits between the Base of the
// author's latest edit and that edit, transformed so that they apply after it (the author's
// frame). The other authors' edits after the author's latest one are the history's own ops. An
// edit with Base b drops the queue's entries before b, is transformed over the rest and over the
// history after the author's latest edit (the author's own edits since b are in its view, not
// concurrent), and those are transformed over it to become the author's next queue. So an edit
// costs O(edit size + concurrent edits) and needs no history from before its own Base, however
// long its author has had edits pending in a busy room; an edit based before the history is a
// StaleBase conflict. The per-author state goes with the history: an author's state is dropped
// with the part of the history that held its latest edit, and queue entries older than the
// window go at the author's next edit, so it holds at most about (authors in the window) ×
// (window) ops, in practice the edits concurrent with each author's pending ones.
//
// Replicas that apply the same events in the same order hold the same per-author state; the
// JSON and CBOR encodings carry it (checked on decoding against the history; see
// [Text.MarshalJSON]); Clone shares it copy-on-write; [Text.WithoutHistory] drops it with the
// history. A client may apply its own pending edits optimistically (Seq 0 and its own Client)
// to a Clone of its confirmed text: the same bookkeeping gives the text the server will have if
// it applies them next, and [Text.Base] (the version before the trailing run of optimistic
// edits) is the Base to send.
//
// # Ordered forms
//
// That bookkeeping costs every replica O(concurrent edits) per edit, and in a busy room with
// many replicas it is most of their work. So a server sends each edit in its ordered form
// ([Text.Ordered], the [aper.Orderer] that package sync uses): with the op as it applied it and
// the version it made. A replica at the version before applies that op as it is, and keeps no
// queue for the author. A text that gave or applied an ordered form is in ordered mode: its
// encoding holds each edit's op as sent instead of the queues, which replicas do not hold, and a
// text that needs an author's queue it did not keep (a server restarted from a snapshot, a
// client re-applying its pending edits) computes it again from the history. That works while the
// author's run of edits, each based before its previous one was applied, began within the
// history, or while no other author's edit lies between the edit's Base and its author's latest
// edit; otherwise the edit is a StaleBase conflict there. A client of package sync applies its
// own edits as sent (see [Text.Sent]) when it may re-apply its pending ones, so it keeps its own
// queue, and re-expresses its pending edits on the confirmed text as others' arrive, and over a
// snapshot that replaces it ([Text.CatchUp]), so its edits are based after its own latest.
//
// The string lives in a B-tree of UTF-8 leaves of up to 1 KiB that counts code points, bytes
// and UTF-16 units per node: an edit costs O(log n + edit size), a 1 MB text costs about 1 MB
// plus its nodes, and Clone is O(1) whatever the history limit, the first edit after it copying
// one root-to-leaf path, the history's last chunk and one path of the history's index (a
// persistent ring of the chunks, O(log(limit)) nodes of 144 bytes). Typing needs no
// allocation: ops of one splice are held inline and the history's chunks are reused.
//
// # Measured
//
// On a shared 2-core machine (Intel Xeon, Go 1.26, other engineers' builds running, load
// average 4 to 6; one run each, BenchmarkReplay the median of five with their range):
//
//   - BenchmarkReplay/automerge-paper, the 259,778 edits of the Automerge paper's writing, each
//     through Text.Apply with the current version as its Base: 23.0 ms per replay (22.5–23.7;
//     a plain gap buffer takes about 3 ms there; Yjs about 2,100 ms, ot-text-unicode about
//     44,000 ms in Node), 0.0025 allocations per edit, 0.41 MB live heap afterwards (text,
//     rope, the 1,024-edit history and the author's state).
//   - BenchmarkReplay/sveltecomponent, 18,335 edits: 2.56 ms per replay (2.49–3.10), 0.019
//     allocations per edit, 0.22 MB live.
//   - BenchmarkApplyTyping, one character typed into a 100 KB text: 106 ns and no allocation
//     per edit.
//   - BenchmarkBusyRoom, two authors typing at once, each with two edits pending, so that every
//     edit is transformed over two concurrent ones: 0.47 µs and 1 allocation per edit. (A Text
//     that rebuilt each author's queue from the history on every edit took 59–65 µs there,
//     walking back to the author's first pending edit; ordered mode does it only for a text
//     that did not keep the queue.)
//   - BenchmarkTransform, a one-character edit based 1, 10 and 100 edits back: 4.1 µs, 8.0 µs
//     and 31.2 µs, of which 3.3 µs is the clone each round starts with and the first edit's
//     copy of the per-author state (the 0 round), so about 0.3 µs per edit transformed over.
//   - BenchmarkCloneAndEdit, Clone of a 1 MiB text and one edit: 6.7 µs, 8.0 KB.
//   - BenchmarkCloneHistory, Clone of a text with a full history of 1,024, 65,536 and 2^20
//     edits: 176 bytes and one allocation at each limit (125–150 ns); Clone and one edit 6.7,
//     7.0 and 7.3 KB, most of it the copy of the history's last chunk.
package text
