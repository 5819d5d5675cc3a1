package memory_test

import (
	"context"
	"fmt"

	"github.com/aper-go/aper/transport/memory"
)

func Example() {
	ctx := context.Background()
	n := memory.NewNetwork(&memory.Options{Manual: true})
	defer n.Close()

	l, _ := n.Listen("server")
	client, _ := n.DialWith(ctx, "server", &memory.DialOptions{From: "alice"})
	server, _ := l.AcceptConn(ctx)

	_ = client.Send(ctx, []byte("hello"))
	_ = client.Send(ctx, []byte("lost"))
	_ = server.Send(ctx, []byte("welcome"))

	// Nothing moves until the test says so.
	for _, m := range n.Pending() {
		fmt.Printf("pending #%d %s -> %s %q\n", m.ID, m.From, m.To, m.Data)
	}
	_ = n.Drop(2)
	_ = n.Deliver(1)
	msg, _ := server.Recv(ctx)
	fmt.Printf("server got %q\n", msg)

	// A partition that holds traffic; it flows when it heals.
	_ = n.Partition("alice", "server", memory.Hold)
	_ = server.Send(ctx, []byte("held"))
	fmt.Println("pending while partitioned:", len(n.Pending()))
	n.HealAll()
	fmt.Println("delivered:", n.DeliverAll())
	for range 2 {
		msg, _ := client.Recv(ctx)
		fmt.Printf("client got %q\n", msg)
	}

	// An abrupt failure.
	client.Disconnect()
	_, err := server.Recv(ctx)
	fmt.Println(err)
	// Output:
	// pending #1 alice -> server "hello"
	// pending #2 alice -> server "lost"
	// pending #3 server -> alice "welcome"
	// server got "hello"
	// pending while partitioned: 1
	// delivered: 2
	// client got "welcome"
	// client got "held"
	// aper/transport/memory: connection cut: use of closed network connection
}
