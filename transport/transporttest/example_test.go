package transporttest_test

import (
	"testing"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/transporttest"
)

// An implementation runs the suite from a test of its own package, with a Harness that starts
// a fresh listener for each case. This is the one of transport/memory; the function below would
// be named TestConformance in a _test.go file. (The example is compiled but not run: the suite
// needs the *testing.T of a test.)
func ExampleRun() {
	testConformance := func(t *testing.T) {
		transporttest.Run(t, transporttest.Harness{
			Listen: func(t *testing.T) (transport.Listener, transport.Dialer) {
				n := memory.NewNetwork(nil)
				t.Cleanup(func() { _ = n.Close() })
				l, err := n.Listen("server")
				if err != nil {
					t.Fatal(err)
				}
				return l, n.Dialer("server")
			},
			// Its buffers are unbounded: the suite checks that Send never blocks instead of
			// cancelling a blocked one.
			SendNeverBlocks: true,
		})
	}
	_ = testConformance
}
