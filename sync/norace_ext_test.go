//go:build !race

package sync_test

// raceEnabled says the race detector is on: the largest tests scale down under it.
const raceEnabled = false

// bigRoomSize is the encoded size of the large room of the chunked-welcome tests (see
// race_ext_test.go).
const bigRoomSize = 50 << 20
