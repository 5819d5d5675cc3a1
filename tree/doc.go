// Package tree is a replicated tree of state machines: one pool of nodes, each with a parent and
// an order among its siblings, under a fixed root.
//
// See [Tree].
package tree
