package leakcheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aper-go/aper/internal/leakcheck"
)

func parked(stop <-chan struct{}) { <-stop }

func TestLeaked(t *testing.T) {
	stop := make(chan struct{})
	started := make(chan struct{})
	go func() { close(started); parked(stop) }()
	<-started
	got := leakcheck.LeakedWithin("leakcheck_test.parked", 100*time.Millisecond)
	if !strings.Contains(got, "leakcheck_test.parked") {
		t.Fatalf("a parked goroutine was not reported:\n%s", got)
	}
	close(stop)
	if got := leakcheck.LeakedWithin("leakcheck_test.parked", 100*time.Millisecond); got != "" {
		t.Fatalf("a stopped goroutine was reported:\n%s", got)
	}
}
