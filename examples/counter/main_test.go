package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "after the server ordered both: alice 42 bob 42") {
		t.Fatalf("the replicas did not converge:\n%s", out.String())
	}
}
