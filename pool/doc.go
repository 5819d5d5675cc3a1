// Package pool is a Kanban-style board: ordered, named lists that share one pool of objects.
//
// See [Board].
package pool
