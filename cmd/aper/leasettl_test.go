package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServeClusterBadLeaseTTL: a lease TTL that the cluster refuses ends aper serve at once
// with the reason, rather than after -cluster-wait of waiting for a cluster it can never join.
func TestServeClusterBadLeaseTTL(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(aperBin, "serve", "-cluster", "-name", "n1", "-cluster-listen", "", "-http", "127.0.0.1:0", "-quic", "",
		"-data", "data", "-lease-ttl", "50ms", "-cluster-wait", "30s")
	cmd.Dir = t.TempDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		t.Fatalf("aper serve with a lease TTL of 50ms started:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "lease TTL 50ms") {
		t.Errorf("aper serve with a lease TTL of 50ms: no reason given:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "waiting for the cluster") {
		t.Errorf("aper serve with a lease TTL of 50ms waited for the cluster:\n%s", stderr.String())
	}
}
