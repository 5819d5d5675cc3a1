//go:build !js

package websocket

import (
	"context"

	"github.com/coder/websocket"
)

// dial opens the WebSocket connection with the options that only a program outside a browser
// has: the HTTP client and headers of the upgrade request.
func dial(ctx context.Context, u, proto string, o *DialOptions) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient:   o.HTTPClient,
		HTTPHeader:   o.HTTPHeader,
		Subprotocols: []string{proto},
	})
	return ws, err
}
