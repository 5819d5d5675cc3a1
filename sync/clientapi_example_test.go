package sync_test

import (
	"context"
	"fmt"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport/memory"
)

// exampleServer serves rooms of text "hello world" on net until stop is called.
func exampleServer(net *memory.Network) (srv *apersync.Server[*text.Text, text.Edit], stop func()) {
	l, _ := net.Listen("server")
	srv, _ = apersync.NewServer(func(ctx context.Context, room string) (*text.Text, error) {
		return text.New("hello world"), nil
	})
	go srv.Serve(context.Background(), l)
	return srv, func() { srv.Close() }
}

// A subscriber reads what happened: its own edit confirmed, then another client's.
func ExampleClient_Subscribe() {
	ctx := context.Background()
	net := memory.NewNetwork(nil)
	defer net.Close()
	srv, stop := exampleServer(net)
	defer stop()
	alice, _ := apersync.Dial[*text.Text, text.Edit](ctx, net.Dialer("server"), "notes")
	defer alice.Close()
	bob, _ := apersync.Dial[*text.Text, text.Edit](ctx, net.Dialer("server"), "notes")
	defer bob.Close()

	events := alice.Subscribe(0)
	defer events.Close()
	h, _ := alice.Submit(alice.State().Insert(5, ","))
	if err := h.Wait(ctx); err != nil { // confirmed (or the rejection's reason)
		fmt.Println(err)
	}
	bob.Apply(bob.State().Insert(bob.State().Len(), "!"))
	bob.Settled(ctx)
	seq, _ := srv.Seq(ctx, "notes")
	alice.WaitSeq(ctx, seq)

	for {
		e, ok := events.TryNext()
		if !ok {
			break
		}
		fmt.Println(e.Kind, e.Seq, e.Handle == h, e.Client == bob.ID())
	}
	fmt.Println(alice.State())
	// Output:
	// confirmed 1 true false
	// remote 2 false true
	// hello, world!
}

// Undo takes back the client's own edit only, as a new edit through the server, while another
// client's typing stays.
func ExampleClient_Undo() {
	ctx := context.Background()
	net := memory.NewNetwork(nil)
	defer net.Close()
	_, stop := exampleServer(net)
	defer stop()
	alice, _ := apersync.Dial[*text.Text, text.Edit](ctx, net.Dialer("server"), "notes", apersync.WithUndo(nil))
	defer alice.Close()
	bob, _ := apersync.Dial[*text.Text, text.Edit](ctx, net.Dialer("server"), "notes")
	defer bob.Close()

	alice.Apply(alice.State().Insert(6, "big "))
	alice.Settled(ctx)
	alice.WaitSeq(ctx, 1)
	bob.WaitSeq(ctx, 1)
	bob.Apply(bob.State().Insert(10, "new "))
	bob.Settled(ctx)
	alice.WaitSeq(ctx, 2)

	r, _ := alice.Undo()
	fmt.Println(len(r.Applied), len(r.Conflicts), alice.State())
	r.Handles[0].Wait(ctx)
	bob.WaitSeq(ctx, 3)
	fmt.Println(bob.State())
	alice.Redo()
	fmt.Println(alice.State())
	// Output:
	// 1 0 hello new world
	// hello new world
	// hello big new world
}

// A client taken offline keeps applying to its view; its edits go out on Reconnect.
func ExampleClient_Disconnect() {
	ctx := context.Background()
	net := memory.NewNetwork(nil)
	defer net.Close()
	l, _ := net.Listen("server")
	srv, _ := apersync.NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil
	})
	go srv.Serve(ctx, l)
	defer srv.Close()
	c, _ := apersync.Dial[*aper.Counter, aper.CounterTransition](ctx, net.Dialer("server"), "lobby")
	defer c.Close()

	c.Disconnect()
	c.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 2})
	c.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3})
	seq, _ := srv.Seq(ctx, "lobby")
	fmt.Println(c.State().Value(), c.Pending(), seq, c.Status().State)

	c.Reconnect()
	c.Settled(ctx)
	seq, _ = srv.Seq(ctx, "lobby")
	fmt.Println(c.State().Value(), c.Pending(), seq, c.Status().State)
	// Output:
	// 5 2 0 disconnected
	// 5 0 2 connected
}
