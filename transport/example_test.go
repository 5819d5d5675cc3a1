package transport_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

// Code that moves messages takes a transport.Conn; here the two ends of an in-memory pipe.
func Example() {
	ctx := context.Background()
	a, b := memory.Pipe(&memory.Options{MaxMessageSize: 8})
	var client, server transport.Conn = a, b

	_ = client.Send(ctx, []byte("hello"))
	err := client.Send(ctx, []byte("far too long"))
	fmt.Println(errors.Is(err, transport.ErrTooLarge))
	var tl *transport.TooLargeError
	if errors.As(err, &tl) {
		fmt.Println(tl.Size, tl.Limit)
	}

	msg, _ := server.Recv(ctx)
	fmt.Printf("%s\n", msg)

	_ = client.Close()
	_, err = server.Recv(ctx)
	fmt.Println(errors.Is(err, transport.ErrClosed))
	// Output:
	// true
	// 12 8
	// hello
	// true
}
