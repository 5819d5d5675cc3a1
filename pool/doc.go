// Package pool is a Kanban-style board: ordered, named lists (columns) that share one pool of
// objects (cards), each object a state machine in exactly one list at all times.
//
// [Board] is the state machine (see package aper). Its transitions create an object in a list at
// a [list.ListPosition], move it within its list or to another list (atomically: it is never in
// two lists or in none), delete it, apply a transition to it, and add, rename, reorder and remove
// lists. Removing a list that still holds objects is a [NotEmpty] conflict unless the transition
// names the list they go to ([Board.RemoveListInto]). Changes to several objects at once, such as
// moving three cards together, go through aper.Transaction and aper.ApplyTransaction (or an
// aper.Transactional room state): all of them happen or none.
//
// # Built on package list
//
// The board reuses list's ordering instead of copying it: the lists are a list.List whose items
// are the columns, and each column's objects are a list.List of their own, so positions resolve
// exactly as in a list (anchored to a neighbour, falling back to the captured index when it has
// gone; an anchor in another list counts as gone), and a crowded run of objects or lists is
// respaced as in a list (see package list, Respacing). A third copy-on-write B-tree maps each
// object to its list. On the wire a board is the list of lists as package list encodes it: an array of
// [index, list id, [name, objects]], objects an array of [index, id, value]; the decoders add
// the check that no object is in two lists.
//
// A column's list holds each object's value in a small slot whose Clone shares the value, and
// the slot keeps the value copy-on-write against the board's own owner token. So a move between
// lists, an insert into one list and a delete from the other, costs O(log n) whatever the
// value's size, and the moved object is still changed in place; only the first change after a
// Clone of the board copies a value.
//
// The loop body of Lists and Objects may Apply transitions to the board or Clone it: the loop
// yields what the board held when it started, each once, as package list's All does for a list.
//
// # Measured
//
// On a shared 2-core machine (AMD EPYC, Go 1.26, load average about 6 from other builds, so the
// figures vary by a factor of two between runs), a board of 10 lists and 100,000 cards:
//
//   - BenchmarkMoveBetweenLists, a random card to the end of a random list: 12–22 µs, 3
//     allocations, about 0.5 KB.
//   - BenchmarkMoveToIndex, to a random index of a random list (MoveTo computes an anchored
//     position, then Apply): 11–26 µs.
//   - BenchmarkAt, the card at a random index of a list: about 1.1–1.3 µs, no allocation.
//   - BenchmarkUpdate, a transition applied to a random card: about 7 µs, 1 allocation.
//   - BenchmarkClone: about 0.4–0.8 µs, 4 allocations; BenchmarkCloneAndMove, a Clone and then
//     one move between lists, 33 µs and 30 KB (the B-tree nodes on the move's paths are copied).
//
// Since moves stopped cloning values (10 lists, 10,000 cards of 4 KiB whose Clone copies them;
// a 2-core Intel Xeon under a load average of 6 to 17, so times vary by a factor of three):
//
//   - BenchmarkMoveBetweenListsLargeValue: 3.7–4.7 µs, 3 allocations, 0.3 KB (it was 11–33 µs,
//     4 allocations, 4 KB: one copy of the card per move).
//   - BenchmarkMoveAndUpdateLargeValue, a move and then a change to the card: 3.6–6.6 µs,
//     0.5–0.6 KB (it was 18–25 µs, 4.1 KB).
//   - BenchmarkObjectsThenMove (100,000 counters), an Objects loop before each move, costs what
//     the move alone does: a loop whose body does not write leaves the list as it was.
package pool
