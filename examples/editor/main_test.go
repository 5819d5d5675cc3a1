package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, 0); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := "final: \"Dear reader, ‸bobHello world again‸alice\"\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Fatalf("want the output to end with %q:\n%s", want, out.String())
	}
}
