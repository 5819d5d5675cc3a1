package apertest_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
)

// printer is a testing.TB that prints what a helper reports, so that this example can show a
// failing check. In a test, pass the test's own *testing.T instead (see the package doc).
type printer struct {
	testing.TB
	name string
}

func (printer) Helper() {}

func (p printer) Errorf(format string, args ...any) {
	fmt.Printf("%s: FAIL: %s\n", p.name, fmt.Sprintf(format, args...))
}

// Fatalf prints the report and stops the check, as a test's Fatalf does.
func (p printer) Fatalf(format string, args ...any) {
	p.Errorf(format, args...)
	runtime.Goexit()
}

// check runs the checks of f with a printer, on a goroutine of their own so that Fatalf can stop
// them, and prints ok if none failed.
func check(name string, f func(t testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(printer{name: name})
		fmt.Println(name + ": ok")
	}()
	<-done
}

// The helpers pass on the library's Map, and catch a state that replicas would not agree on: a
// number in an Atom[any] comes back from JSON as a float64, which CBOR writes as a float.
func Example() {
	check("map", func(t testing.TB) {
		m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
		apertest.MustApply(t, m, aper.On(m.Set("ann", aper.NewCounter(1))))
		apertest.RoundTrip(t, m)
		c := apertest.Conflicts(t, m, aper.On(m.Delete("bob")), conflict.NotFound)
		fmt.Println("conflict at", c.Path)
		apertest.CloneIsDeep(t, m, aper.On(m.Set("bob", aper.NewCounter(2))))
	})
	check("atom of any", func(t testing.TB) {
		apertest.RoundTrip(t, aper.NewAtom[any](1))
	})
	// Output:
	// conflict at [bob]
	// map: ok
	// atom of any: FAIL: *aper.Atom[interface {}] decoded from json encodes differently under cbor:
	// want: 01
	// have: f93c00
}
