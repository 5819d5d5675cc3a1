//go:build race

package sync_test

// raceEnabled says the race detector is on: the largest tests scale down under it.
const raceEnabled = true
