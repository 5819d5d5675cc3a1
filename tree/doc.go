// Package tree is a replicated tree of state machines: one pool of nodes under a fixed root,
// each node with a value, a parent and a place among its siblings. Uses: nested groups in a
// vector drawing, threaded comments, an outline, a file tree.
//
// [Tree] is the state machine (see package aper). Its transitions insert a node under a parent at
// a [list.ListPosition], move a node with its subtree to any parent and position, delete a node
// with its subtree, and apply a transition to one node's value. Sibling order reuses package
// list: each node has a [list.ZenoIndex] among its siblings, and positions resolve as in a
// list.List (anchored to a sibling, falling back to the captured index when that sibling has
// moved away or is gone). The position constructors are list's too, so a crowded run of
// siblings is respaced as in a list (see package list, Respacing): the children's indexes stay
// within list.RespaceLen bytes whatever the pattern of inserts.
//
// # Cycles
//
// A move of a node under itself or under one of its descendants is a Cycle conflict and changes
// nothing, so every node always has exactly one path to the root. When two clients concurrently
// move A under B and B under A, each move is fine on its own client; the server applies the one
// it orders first, the second is then the cycle and is rejected, and every replica ends with the
// same acyclic tree. The check walks from the new parent up to the root: O(depth) lookups.
//
// # Layout and costs
//
// Two copy-on-write B-trees (github.com/tidwall/btree): the nodes ordered by (parent id,
// index), so that each parent's children lie together and in order, and the ids mapped to their
// parent and index. Insert, Update, Get, Parent cost O(log n); Move O(depth · log n); deleting a
// subtree of k nodes O(k · log n); Children O(log n) to start and O(1) per child; NumChildren,
// ChildAt and IndexOf O(log² n). Clone is O(1).
//
// Children, Walk and All yield the nodes as they were when the loop started, each once, and hold
// no lock of the tree while the loop body runs: the body may Apply transitions to the tree or
// Clone it. Children copies out up to 16 children; for more children, and for Walk and All, the
// loop runs over an O(1) snapshot, after which the tree's writes copy the B-tree nodes on their
// paths, as the first writes after a Clone do.
//
// On the wire a tree is an array of [parent, index, id, value] arrays in depth-first order. The
// decoders accept any order in which each node follows its parent and check everything else
// (unknown or later parents, which is how a cycle or an orphan would show; duplicate ids; two
// siblings with one index; null values), so a decoded tree holds the invariants.
//
// # Measured
//
// On a shared 2-core machine (AMD EPYC, Go 1.26, other builds running, so ±50%), a tree of
// 100,000 nodes built at random, at most 50 deep (mean depth about 18):
//
//   - BenchmarkMove, a random node to the end of a random node's children (and back): about
//     9 µs, 0 allocations, about 150 B/op of B-tree node copies after the Clone it started from.
//     Most of it is the cycle check's walk to the root.
//   - BenchmarkMoveAfterSibling, next to a random node: about 9 µs.
//   - BenchmarkInsert, a leaf under a random node: about 4 µs, 2 allocations.
//   - BenchmarkDeleteSubtree, a random node's subtree (16 nodes on average): about 50 µs.
//   - BenchmarkChildren of a random node: about 0.6 µs; of the root (109 children): 1.8 µs.
//   - BenchmarkGet: about 1.1 µs. BenchmarkClone: about 0.2 µs, 5 allocations.
//
// Since the iterators became safe against changes in the loop (measured on a 2-core Intel Xeon
// under a load average of 6 to 10, so the times are two to four times those above, the
// allocations exact): BenchmarkChildren makes no allocation; BenchmarkChildrenRoot 2 (168 B, the
// snapshot for more than 16 children); BenchmarkChildrenThenMove, a Children loop before each
// move, allocates as BenchmarkMove does (about 0.25 KB, 1 allocation), since Children copies out
// a few children rather than take a snapshot that the move would then pay for.
//
// # Positions that hold
//
// Like a list's (see package list, Positions that hold), a tree's positions name nodes by id and
// need no history: a node (the selection, the node being edited, a collapsed branch) is its id,
// which [Tree.Get], [Tree.Parent], [Tree.Path] and [Tree.IndexOf] find in any later state of any
// replica, wherever it has moved, until it is deleted. A caret between siblings is
// [Tree.PositionAfter] or [Tree.PositionBefore] of a sibling (it names the parent too), or
// [list.Beginning] or [list.End] under a parent id; the captured fallback index places it when
// that sibling has moved away or is gone. Children added one after another, each after the
// previous one ([Tree.InsertAfter]), stay together and in order whatever others insert
// concurrently; a position by number ([Tree.PositionAt], [Tree.InsertAt]) is read against the
// children as they are when it is applied, so it does not hold. A node whose parent is moved
// moves with it: its id, and positions anchored to it, still hold.
package tree
