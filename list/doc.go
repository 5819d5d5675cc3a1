// Package list is a replicated ordered list of state machines, and the fractional indexes that
// order it.
//
// # ZenoIndex
//
// A [ZenoIndex] is a byte string read as a base-256 fraction in (0, 1). [Between] always finds a
// new index between two others, so an item is placed between its neighbours without renumbering
// anyone. New indexes are allocated bit by bit (only the result is rounded up to whole bytes, and
// a run whose indexes would end a few bits into a new byte is spaced more coarsely instead, a
// byte shorter): close to the lower neighbour with room left above (close to the upper one when
// the lower is a prefix of it: the backward-typing pattern), with a length that grows as the room
// shrinks, so a run of inserts costs O(log n) bits, and a run typed inside another costs a few
// bits more than its neighbours rather than a whole byte.
//
// Measured (deterministic tests in this package, 100,000 inserts each), the longest index:
//
//	append (after the last)                           4 bytes
//	prepend (before the first)                        4 bytes
//	typing forward (after the previous new key)       5 bytes
//	typing backward (before the previous new key)     6 bytes
//	typing forward from 3-byte neighbours             8 bytes
//	same gap, from a 3-byte lower key                 7 bytes
//	a List, inserting at index 1 each time            8 bytes
//	a List, inserting at index 0 each time            7 bytes
//
// A million appends stay within 5 bytes. [Between] does not know which neighbour an insert is
// anchored to and guesses from the keys (close to the upper one when the lower is its prefix); a
// [List] knows, and places an insert after an item close to that item.
//
// # Respacing
//
// No allocator alone keeps every index short: inserting each new item at the middle of a list
// (a sorted feed does) puts it between the two closest indexes every time, about 1.5 bits more
// each; such a list, or any list a hostile client targets, would run out of index room
// ([MaxIndexLen]) after about 5,500 inserts. So the list relabels, as the classic list-labelling
// algorithms do. When the index a position constructor ([List.PositionAt], [List.PositionAfter],
// [List.PositionBefore], and Insert, Append, Move, MoveTo, ... which use them) would make is
// longer than a threshold, the position carries a [Respace]: the run of items around it that
// gets new, evenly spaced indexes, in the same transition, before the position is resolved. The
// threshold is the label length the list's size calls for, 24 bits of slack, and at most
// [RespaceLen] (32) bytes: 5 bytes at 10 items, 8 at a million. The run is the smallest dyadic
// window of the index space around the crowded neighbour that is not dense (a window of 2^i
// labels holding at most 1.5^i items), so a run of c items is respaced after about c inserts
// into it, and the items respaced per insert are O(log n) amortized (O(1) per level of
// windows). A Respace names the run by its end items' ids; every replica computes the new
// indexes from the list as it is when it applies the transition, so they agree. Any client's
// constructors add the respace; the server never has to make a transition of its own. An
// application may also respace a run itself ([List.Respace], an OpRespace transition).
//
// A replica applies only a run the constructors could have chosen, so that a hostile client
// cannot make every replica relabel a list that is not crowded: the run must be exactly the
// items of the smallest dyadic window holding its two ends (of depth d bits), and that window
// must hold more items than a window one level down may, c+1 > (n+2)·1.5^(1-d) for c items
// of n (checked in integers, 2(c+1)·3^d > 3(n+2)·2^d, so every replica decides alike, in
// O(log n)). An OpRespace whose run fails the rule is an Invalid conflict and changes nothing; a
// position whose respace fails it is resolved as if it carried none (the insert or move still
// happens). A list whose items are evenly spaced has no run that passes, so respacing all of
// it, or the same run twice in a row, is refused.
//
// What a transition made concurrently with a respace does (the server ordered the respace
// first; see [Respace]):
//
//   - An insert or move anchored to an item ([Before], [After]: every position the constructors
//     make, MoveTo's included) lands next to that item: anchors are ids, not indexes.
//   - A bare [At] index, and the captured fallback index of an anchor that is gone, are read in
//     the new spacing: one that lay inside the respaced run lands inside it (between the run's
//     outer neighbours), but not necessarily between the items it was captured beside. A move
//     to such an index behaves the same way.
//   - A respace whose first or last item is gone is skipped when a position carries it (the
//     insert or move still happens, at a possibly long index); an OpRespace is then a NotFound
//     conflict. So is, as above, a respace whose run is no longer a crowded window (items
//     inserted next to it, or the list grown, since it was made): an OpRespace is then Invalid.
//
// A tree's children (package tree) and a board's columns (package pool) are positioned by the
// same constructors ([PositionAt], [WithRespace], [Place] over a [Sequence]), so they respace
// the same way.
//
// Measured with respacing (the package's tests, 100,000 items each; the longest index made, the
// mean held at the end): inserting at the middle 7 and 3.0 bytes, at a third 7 and 3.0, at random
// 7 and 3.55, typing forward 4 and 3.4, typing backward 4 and 3.4, alternating ends 7 and 4.8,
// bursts of typing at random places 7 and 4.2, the same with deletes mixed in 7 and 4.3; a
// million middle inserts 8 and 4.0, with about 17 items respaced per insert. Replaying editing
// traces as list edits (each character inserted after the previous one), the mean index length
// over the final text and the longest index made: automerge-paper (260,000 edits, 104,852
// characters) 3.55 and 7 bytes; seph-blog1 3.64 and 7; sveltecomponent 3.16 and 7; rustcode
// 3.18 and 7. (The allocator alone: 7.95 and 14, 8.07 and 18, 3.73 and 11, 4.89 and 16; before
// tails were cut back to byte boundaries: 8.02, 8.17, 4.07 and 5.43; the byte-at-a-time scheme
// before that: 9.61, 11.11, 5.54 and 4.72; a plain "just above the lower neighbour" byte scheme:
// 13.7 on automerge-paper.)
//
// A respace on the wire is two ids: an insert that carries one is 38 bytes longer in CBOR, 105
// in JSON. BenchmarkInsertMiddle (a middle insert and an end delete per op, after 50,000 ops
// crowd the middle), two runs on a 2-core machine shared with other work (load average 5 to 8,
// so the spread is wide): 11-12 µs at 10,000 items, 15-61 µs at 100,000, 49-57 µs at 1,000,000,
// with 10, 12-14 and 14-15 items respaced per insert.
//
// # List
//
// [List] holds items with UUID ids. Transitions insert (the id and value travel in the
// transition, so every replica agrees), delete, move, and apply an inner transition to one item.
// Positions ([ListPosition]) are resolved when a transition is applied: anchored to an item
// ([Before], [After]) with a captured fallback index for when the anchor is gone; an index that is
// already taken moves just past the item holding it. A position may carry a respace (see
// Respacing above).
//
// The list is two counted copy-on-write B-trees (internal/ordtree): insert, delete, move, Get,
// At and IndexOf are O(log n), and Clone O(1). All, Backward and Keys may run while their loop
// changes the list: the loop goes on over the list as it was when it began. No index is longer
// than [MaxIndexLen]. The JSON and CBOR encodings are arrays of [index, id, value] triples in
// order.
//
// Measured on a 2-core machine shared with other work (one run of the package's benchmarks; the
// spread between runs is up to 2x), per operation on a 1,000,000-item list: IndexOf 2.6 µs, At
// 0.47 µs, insert at a random position 5.1 µs, move 8.3 µs, delete and insert 9.9 µs; a loop
// over all items 17 ms (no allocation), a change inside such a loop 15 µs (8.6 KB copied). Clone
// plus one insert: 9.6 µs at 10,000 items, 9.8 µs at 100,000, 25 µs at 1,000,000 (11, 12 and
// 16 KB copied). The automerge-paper replay took 257 ms before respacing (median of 5, 249-267
// ms, with the machine lightly loaded), 27 MB and 564,000 allocations; with respacing, 39 MB
// and 808,000 allocations, and 520-1,130 ms against 450-560 ms for the code before it, measured
// in turns at a load average of 7 to 8 (too noisy for a finer ratio).
//
// # Positions that hold
//
// A list needs no anchors of the kind package text has ([github.com/aper-go/aper/text.Anchor]): its positions hold by
// themselves, on every replica and whatever others do meanwhile, because they name items by id,
// not by index, and need no history.
//
//   - An item (a selection, a scroll position, an item being edited) is its id: [List.IndexOf]
//     and [List.Get] find it in any later state of any replica, wherever it has moved; once it is
//     deleted they report false.
//   - A caret between two items is the id of the item before it ([After], made by
//     [List.PositionAfter]) or after it ([Before], [List.PositionBefore]), or [Beginning] or [End]:
//     the analogues of text's Left and Right sides. The captured fallback index places it when
//     that item is gone, among the items that remain. Publish it as presence as it is (a
//     ListPosition encodes in JSON and CBOR).
//   - Typing at a caret: insert each new item [After] the previous one ([List.InsertAfter]), and
//     the run stays contiguous and in order whatever the server orders between its inserts: each
//     lands right after its predecessor, and another client's concurrent insert after the same
//     item lands before or after the whole run, never inside it.
//
// A plain index ([List.PositionAt], [At]) does not hold: it is read against the list as it is
// when the transition is applied, so an insert made at index i before others' concurrent inserts
// reach the client lands among their items. Keep indexes for positions the user picks by
// number, and ids for everything that must stay put.
package list
