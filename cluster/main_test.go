package cluster_test

import (
	"os"
	"testing"

	"github.com/aper-go/aper/internal/leakcheck"
)

// TestMain fails the run if goroutines of the package, or of the sync servers the tests run,
// outlive the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		for _, marker := range []string{"aper-go/aper/cluster.", "aper-go/aper/sync."} {
			if leaked := leakcheck.Leaked(marker); leaked != "" {
				os.Stderr.WriteString("goroutines leaked:\n" + leaked)
				code = 1
			}
		}
	}
	os.Exit(code)
}
