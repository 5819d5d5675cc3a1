//go:build race

package sync_test

// raceEnabled says the race detector is on: the largest tests scale down under it.
const raceEnabled = true

// bigRoomSize is the encoded size of the large room of the chunked-welcome tests. The race
// detector makes encoding and decoding some ten times slower: the room is smaller under it, still
// several messages' worth.
const bigRoomSize = 3 << 20
