package journal_test

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines of the package outlive the tests: Close must stop what
// the journal started, and Follow must end with its context or the journal.
func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	code := m.Run()
	if replayRoom.dir != "" {
		os.RemoveAll(replayRoom.dir)
	}
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			os.Stderr.WriteString("goroutines leaked:\n" + leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines() string {
	var stacks string
	for range 50 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		stacks = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "aper-go/aper/journal") && !strings.Contains(g, "journal_test.TestMain") && !strings.Contains(g, "leakedGoroutines") {
				stacks += g + "\n\n"
			}
		}
		if stacks == "" {
			return ""
		}
		time.Sleep(20 * time.Millisecond) // goroutines that were told to stop may still be unwinding
	}
	return stacks
}
