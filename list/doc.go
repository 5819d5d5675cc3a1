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
// [List] knows, and places an insert after an item close to that item. Replaying editing traces
// as list edits (each character inserted after the previous one), the mean index length over the
// final text and the longest index made: automerge-paper (260,000 edits, 104,852 characters) 7.95
// and 14 bytes; seph-blog1 8.07 and 18; sveltecomponent 3.73 and 11; rustcode 4.89 and 16. (Before
// tails were cut back to byte boundaries and the tables tuned again with that: 8.02, 8.17, 4.07
// and 5.43; the tables before the open end had its own: 8.45, 9.67, 4.41 and 5.54; the
// byte-at-a-time scheme before that: 9.61, 11.11, 5.54 and 4.72; a plain "just above the lower
// neighbour" byte scheme: 13.7 on automerge-paper.)
//
// # List
//
// [List] holds items with UUID ids. Transitions insert (the id and value travel in the
// transition, so every replica agrees), delete, move, and apply an inner transition to one item.
// Positions ([ListPosition]) are resolved when a transition is applied: anchored to an item
// ([Before], [After]) with a captured fallback index for when the anchor is gone; an index that is
// already taken moves just past the item holding it.
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
// 16 KB copied). The automerge-paper replay takes 257 ms (median of 5, 249-267 ms, with the
// machine lightly loaded; 270-380 ms while other work ran), 27 MB and 564,000 allocations.
package list
