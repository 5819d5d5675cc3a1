package sync_test

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines outlive the tests: every server and client must stop
// what it started.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashServerEnv); dir != "" {
		crashServer(dir) // the child process of TestCrashRecoverySIGKILL; never returns
	}
	code := m.Run()
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
			if strings.Contains(g, "aper-go/aper/sync.") && !strings.Contains(g, "sync_test.TestMain") && !strings.Contains(g, "leakedGoroutines") {
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
