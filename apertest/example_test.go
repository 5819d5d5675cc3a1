package apertest_test

import (
	"fmt"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
)

// In a test of your own state machine, RoundTrip checks both codecs (and across them), and
// Conflicts checks that a conflicting transition returns the expected kind and changes nothing.
func Example() {
	t := &testing.T{} // in a real test, the *testing.T of the test function
	m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
	apertest.MustApply(t, m, aper.On(m.Set("ann", aper.NewCounter(1))))
	apertest.RoundTrip(t, m)
	c := apertest.Conflicts(t, m, aper.On(m.Delete("bob")), conflict.NotFound)
	fmt.Println(c.Path, t.Failed())
	// Output:
	// [bob] false
}
