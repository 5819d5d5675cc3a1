package tree

import (
	"fmt"
	"iter"

	"github.com/google/uuid"
)

// Node is one node of a tree as a UI draws it: its id, its parent, its place among its
// siblings and its state machine, which is shared with the tree (read it, do not apply
// transitions to it).
type Node[V any] struct {
	ID     uuid.UUID // the node's id
	Parent uuid.UUID // its parent's id ([Root] for the top level)
	Index  int       // its position among its siblings, 0 for the first
	Value  V         // its state machine
}

// Nodes yields the nodes below from (the root or a node; from itself is left out) in
// depth-first pre-order, each with its depth below from (1 for from's children): the rows of an
// outline or a file tree, indented by depth, in the order they are drawn.
//
//	for depth, n := range t.Nodes(tree.Root) {
//		fmt.Println(strings.Repeat("  ", depth-1), n.Value)
//	}
//
// It yields nothing for an id that is not in the tree. It walks a snapshot as [Tree.Walk] does,
// so the loop body may change the tree or Clone it; each step costs O(log n).
func (t *Tree[V, T]) Nodes(from uuid.UUID) iter.Seq2[int, Node[V]] {
	return func(yield func(int, Node[V]) bool) {
		kids := t.snapshot()
		if kids == nil {
			return
		}
		// next[d] is the index the next node at depth d+1 gets; a node resets the count below it.
		next := []int{0}
		walk(kids, from, func(k kid[V], depth int) bool {
			next = next[:depth]
			i := next[depth-1]
			next[depth-1]++
			next = append(next, 0)
			return yield(depth, Node[V]{ID: k.id, Parent: k.parent, Index: i, Value: k.value})
		})
	}
}

// NestedNode is a node with its subtree, the nested form of a tree for a UI or a JSON API:
// encoded with encoding/json, a tree's [Tree.Nested] is [{"id", "value", "children": [...]}],
// the children in order and a leaf's children an empty array. It is a view: the tree's own
// encoding (a flat array of nodes, see the package doc) is what replicas exchange, and nothing
// decodes this form back into a Tree.
type NestedNode[V any] struct {
	ID       uuid.UUID       `json:"id"`
	Value    V               `json:"value"`
	Children []NestedNode[V] `json:"children"`
}

// Nested returns the subtree below from (the root or a node; from itself is left out) as nested
// nodes, in order: the top-level nodes with their subtrees for [Root]. It returns an empty,
// non-nil slice for a leaf or an id that is not in the tree. The values are shared with the
// tree. It costs O(n log n) for a subtree of n nodes.
func (t *Tree[V, T]) Nested(from uuid.UUID) []NestedNode[V] {
	// levels[d] collects the children at depth d+1 of the node last added at depth d.
	levels := [][]NestedNode[V]{{}}
	closeTo := func(depth int) {
		for len(levels) > depth {
			last := levels[len(levels)-1]
			levels = levels[:len(levels)-1]
			if last == nil {
				last = []NestedNode[V]{}
			}
			p := levels[len(levels)-1]
			p[len(p)-1].Children = last
		}
	}
	for depth, n := range t.Nodes(from) {
		closeTo(depth)
		levels[depth-1] = append(levels[depth-1], NestedNode[V]{ID: n.ID, Value: n.Value, Children: []NestedNode[V]{}})
		levels = append(levels, nil)
	}
	closeTo(1)
	return levels[0]
}

// String describes the transition for logs: "insert <id> under <parent> at <position>",
// "move <id> under <parent> at <position>", "delete <id>", or "update <id>: " and the inner
// transition (with %v, so a transition type's own String shows).
func (tr Transition[V, T]) String() string {
	switch tr.Op {
	case OpInsert, OpMove:
		return fmt.Sprintf("%s %s under %s at %s", tr.Op, tr.ID, tr.Parent, tr.Pos)
	case OpDelete:
		return fmt.Sprintf("delete %s", tr.ID)
	case OpUpdate:
		return fmt.Sprintf("update %s: %v", tr.ID, tr.Inner)
	}
	return fmt.Sprintf("%s %s", tr.Op, tr.ID)
}
