package quic_test

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/aper-go/aper/transport/quic"
)

func Example() {
	ctx := context.Background()
	serverTLS, clientTLS, err := quic.SelfSigned("localhost", "127.0.0.1")
	if err != nil {
		panic(err)
	}
	l, err := quic.Listen("127.0.0.1:0", serverTLS, nil)
	if err != nil {
		panic(err)
	}
	defer l.Close()

	client, err := quic.Dial(ctx, l.Addr().String(), clientTLS, nil)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	conn, err := l.Accept(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	_ = client.Send(ctx, []byte("hello over QUIC"))
	msg, _ := conn.Recv(ctx)
	state := client.Metadata().(tls.ConnectionState)
	fmt.Println(string(msg), state.NegotiatedProtocol)
	// Output: hello over QUIC aper/1
}
