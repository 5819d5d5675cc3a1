//go:build race

package quic_test

// streamless is how many stream-less connections TestStreamlessConnectionsDoNotLockOut holds:
// fewer under the race detector, which makes each connection several times as costly.
const streamless = 400
