//go:build !race

package quic_test

// streamless is how many stream-less connections TestStreamlessConnectionsDoNotLockOut holds.
const streamless = 2000
