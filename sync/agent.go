package sync

import (
	"context"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

// Agent returns a client of room that runs in the server's own process, for bots and server-side
// logic (one that reads external resources, say, and applies what it finds): the same *Client
// and the same API as a remote client, over an in-process pipe (CBOR, no network), ordered with
// everybody else's transitions. The authentication hook is not asked; the permission hook sees an
// Identity whose Agent field is true. Close the agent when done; after the server closes it stops
// with a ServerError of code "shutdown".
func (s *Server[S, T]) Agent(ctx context.Context, room string, opts ...ClientOption) (*Client[S, T], error) {
	d := transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		a, b := memory.Pipe(&memory.Options{MaxMessageSize: max(s.cfg.maxMessage, transport.DefaultMaxMessageSize)})
		if !s.goroutine(func() { s.handle(b, true) }) {
			a.Close()
			b.Close()
			return nil, &ServerError{Code: codeShutdown, Message: "the server is closed", Fatal: true}
		}
		return a, nil
	})
	c, err := Dial[S, T](ctx, d, room, opts...)
	if err != nil {
		return nil, wrap(err, "agent")
	}
	return c, nil
}
