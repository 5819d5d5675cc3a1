package sync_test

import (
	"os"
	"testing"

	"github.com/aper-go/aper/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests: every server and client must stop
// what it started.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashServerEnv); dir != "" {
		crashServer(dir) // the child process of TestCrashRecoverySIGKILL; never returns
	}
	if dir := os.Getenv(storeChildEnv); dir != "" {
		storeChild(dir) // the child process of TestClientStoreSurvivesSIGKILL; never returns
	}
	code := m.Run()
	if code == 0 {
		if leaked := leakcheck.Leaked("aper-go/aper/sync."); leaked != "" {
			os.Stderr.WriteString("goroutines leaked:\n" + leaked)
			code = 1
		}
	}
	os.Exit(code)
}
