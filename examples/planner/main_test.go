package main

import (
	"context"
	"strings"
	"testing"
)

// The script converges (run checks that both replicas encode alike), the crossed moves give a
// cycle conflict, and each user's typing at their anchored caret stays contiguous and in order.
func TestRun(t *testing.T) {
	for range 3 {
		var out strings.Builder
		if err := run(context.Background(), &out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		s := out.String()
		for _, want := range []string{
			"one made a cycle",
			"[ ] design the API\n", "[x] build\n", "[ ] write tests\n", // under build

			"Notes:\nShip on Friday. Demo at 3. --\nAsk Carol. Offline idea. \n",
		} {
			if !strings.Contains(s, want) {
				t.Fatalf("the output lacks %q:\n%s", want, s)
			}
		}
	}
}
