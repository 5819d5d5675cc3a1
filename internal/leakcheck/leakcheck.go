// Package leakcheck fails a test binary whose package left goroutines running after its tests:
// whatever a server, client or journal started, its Close must stop. Packages call Leaked from
// their TestMain after m.Run.
package leakcheck

import (
	"runtime"
	"strings"
	"time"
)

// Leaked returns the stacks of goroutines still running code whose function names contain
// marker (a package path such as "aper-go/aper/sync."), leaving out the caller's own. Goroutines
// that were told to stop may still be unwinding (slowly, on a loaded machine), so it looks again
// for up to five seconds before it reports them; it returns "" when none are left.
func Leaked(marker string) string { return LeakedWithin(marker, 5*time.Second) }

// LeakedWithin is [Leaked] with the time it waits for goroutines to stop.
func LeakedWithin(marker string, wait time.Duration) string {
	var stacks string
	for deadline := time.Now().Add(wait); ; {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		stacks = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, marker) && !strings.Contains(g, "TestMain") && !strings.Contains(g, "leakcheck.Leaked") {
				stacks += g + "\n\n"
			}
		}
		if stacks == "" || time.Now().After(deadline) {
			return stacks
		}
		time.Sleep(20 * time.Millisecond) // a bounded poll, not a synchronization
	}
}
