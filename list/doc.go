// Package list is a replicated ordered list of state machines, and the fractional indexes that
// order it.
//
// # ZenoIndex
//
// A [ZenoIndex] is a byte string read as a base-256 fraction in (0, 1). [Between] always finds a
// new index between two others, so an item is placed between its neighbours without renumbering
// anyone. New indexes go close to the lower neighbour with room left above (close to the upper
// one when the lower is a prefix of it: the backward-typing pattern), with a digit budget that
// grows as the room shrinks, so a run of inserts costs O(log n) bytes.
//
// Measured (deterministic tests in this package, 100,000 inserts each), the longest index:
//
//	append (after the last)                        3 bytes
//	prepend (before the first)                     3 bytes
//	typing forward (after the previous new key)    4 bytes
//	typing backward (before the previous new key)  4 bytes
//	same gap, from a 3-byte lower key              6 bytes
//
// A million appends stay within 4 bytes. Replaying the automerge-paper editing trace (260,000
// edits, 104,852 characters, each character inserted after the previous one) gives a longest
// index of 19 bytes and a mean of 10.8 bytes over the final text (a plain "just above the lower
// neighbour" byte scheme: 33 and 13.7).
//
// # List
//
// [List] holds items with UUID ids. Transitions insert (the id and value travel in the
// transition, so every replica agrees), delete, move, and apply an inner transition to one item.
// Positions ([ListPosition]) are resolved when a transition is applied: anchored to an item
// ([Before], [After]) with a captured fallback index for when the anchor is gone; an index that is
// already taken moves just past the item holding it.
//
// The list is two copy-on-write B-trees (github.com/tidwall/btree): insert, delete, move, Get
// and At are O(log n), IndexOf O(log² n), and Clone O(1). The JSON and CBOR encodings are arrays
// of [index, id, value] triples in order.
package list
