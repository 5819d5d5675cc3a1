//go:build js

package websocket

import (
	"context"
	"fmt"

	"github.com/coder/websocket"
)

// dial opens the WebSocket connection with the browser's WebSocket, which takes a URL and
// subprotocols only.
func dial(ctx context.Context, u, proto string, o *DialOptions) (*websocket.Conn, error) {
	if len(o.HTTPHeader) > 0 {
		return nil, fmt.Errorf("%w: HTTPHeader", ErrBrowserOption)
	}
	if o.HTTPClient != nil {
		return nil, fmt.Errorf("%w: HTTPClient", ErrBrowserOption)
	}
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{proto}})
	return ws, err
}
