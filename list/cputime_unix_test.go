//go:build unix

package list_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used (user and system): on a loaded machine it
// varies less than the wall-clock time a benchmark reports.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
