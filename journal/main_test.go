package journal_test

import (
	"os"
	"testing"

	"github.com/aper-go/aper/internal/leakcheck"
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
		if leaked := leakcheck.Leaked("aper-go/aper/journal"); leaked != "" {
			os.Stderr.WriteString("goroutines leaked:\n" + leaked)
			code = 1
		}
	}
	os.Exit(code)
}
