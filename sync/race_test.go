//go:build race

package sync

// raceEnabled scales tests down under the race detector, which slows them about tenfold.
const raceEnabled = true
