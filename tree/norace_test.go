//go:build !race

package tree_test

// raceEnabled reports whether the race detector is on: the long tests scale down under it.
const raceEnabled = false
