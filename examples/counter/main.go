// Command counter is the smallest aper application: a server and two clients of one shared
// counter, in one process, over WebSocket on the loopback interface.
//
// Run it from the repository root:
//
//	go run ./examples/counter
//
// Each client adds to the counter; each sees its own addition at once (optimistically), the
// server orders both, and both replicas end with the same value.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/websocket"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// The server: every room is a counter starting at 0.
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil
	})
	if err != nil {
		return err
	}
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		return err
	}
	go srv.Serve(ctx, l) // returns when Close (deferred below) closes the listener
	defer srv.Close()
	url := "ws://" + l.Addr().String()

	// Two clients of room "lobby".
	dial := func() (*apersync.Client[*aper.Counter, aper.CounterTransition], error) {
		return apersync.Dial[*aper.Counter, aper.CounterTransition](ctx, websocket.Dialer(url, nil), "lobby")
	}
	alice, err := dial()
	if err != nil {
		return err
	}
	defer alice.Close()
	bob, err := dial()
	if err != nil {
		return err
	}
	defer bob.Close()

	var c *aper.Counter // builds transitions; a nil *Counter is fine for that
	if err := alice.Apply(c.Add(2)); err != nil {
		return err
	}
	fmt.Fprintln(w, "alice sees at once:", alice.State().Value())
	if err := bob.Apply(c.Add(40)); err != nil {
		return err
	}
	fmt.Fprintln(w, "bob sees at once:", bob.State().Value())

	// Wait until the server has ordered both and each client has heard of both.
	for _, cl := range []*apersync.Client[*aper.Counter, aper.CounterTransition]{alice, bob} {
		if err := cl.Sync(ctx); err != nil {
			return err
		}
		for cl.Seq() < 2 {
			select {
			case <-cl.Changes():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	fmt.Fprintln(w, "after the server ordered both: alice", alice.State().Value(), "bob", bob.State().Value())
	return nil
}
