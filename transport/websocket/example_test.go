package websocket_test

import (
	"context"
	"fmt"

	"github.com/aper-go/aper/transport/websocket"
)

func Example() {
	ctx := context.Background()
	srv, err := websocket.Listen("127.0.0.1:0", nil) // or mount websocket.NewServer in a router
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	client, err := websocket.Dial(ctx, "ws://"+srv.Addr().String()+"/room", &websocket.DialOptions{Codec: "json"})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	conn, err := srv.Accept(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	_ = client.Send(ctx, []byte(`{"hello":"server"}`))
	msg, _ := conn.Recv(ctx)
	fmt.Println(string(msg), client.Codec())
	// Output: {"hello":"server"} json
}
