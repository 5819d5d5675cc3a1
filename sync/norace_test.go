//go:build !race

package sync_test

// bigRoomSize is the encoded size of the large room of the chunked-welcome tests (see
// race_test.go).
const bigRoomSize = 50 << 20
