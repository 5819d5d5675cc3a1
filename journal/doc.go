// Package journal stores each room's ordered transitions durably: an append-only log of opaque
// entries per room, with consecutive sequence numbers, and a snapshot beside it.
package journal
