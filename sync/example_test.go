package sync_test

import (
	"context"
	"fmt"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
)

// A server and two clients over an in-process network converge on a Counter.
func Example() {
	ctx := context.Background()
	net := memory.NewNetwork(nil)
	defer net.Close()
	l, _ := net.Listen("server")

	srv, _ := apersync.NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil
	})
	go srv.Serve(ctx, l)
	defer srv.Close()

	type counterClient = apersync.Client[*aper.Counter, aper.CounterTransition]
	dial := func() *counterClient {
		c, err := apersync.Dial[*aper.Counter, aper.CounterTransition](ctx, net.Dialer("server"), "lobby")
		if err != nil {
			panic(err)
		}
		return c
	}
	alice, bob := dial(), dial()
	defer alice.Close()
	defer bob.Close()

	alice.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 2})
	fmt.Println("alice sees at once:", alice.State().Value())
	bob.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 40})

	alice.Sync(ctx) // both transitions are ordered by the server...
	bob.Sync(ctx)
	for _, c := range []*counterClient{alice, bob} { // ...and each client catches up to Seq 2
		for c.Seq() < 2 {
			<-c.Changes()
		}
	}
	fmt.Println("alice:", alice.State().Value(), "bob:", bob.State().Value())
	// Output:
	// alice sees at once: 2
	// alice: 42 bob: 42
}
