// Package transport moves whole messages between a client and a server. It defines one small,
// message-oriented connection interface, [Conn]; implementations live in sub-packages:
// transport/websocket (github.com/coder/websocket), transport/quic (github.com/quic-go/quic-go)
// and transport/memory (in-process, with injectable faults for tests).
//
// The sync package runs over any of them. Extra powers of an implementation (the codec a
// WebSocket peer asked for, TLS state, request metadata) are optional interfaces that callers
// check at run time, so Conn stays at three methods.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// DefaultMaxMessageSize is the largest message a connection accepts unless configured otherwise:
// 1 MiB.
const DefaultMaxMessageSize = 1 << 20

// ErrTooLarge is returned by Send for a message over the connection's limit (the connection stays
// open), and by Recv when the peer sent one (the connection is then closed). Test with errors.Is;
// errors.As with *TooLargeError gives the sizes.
var ErrTooLarge = errors.New("aper/transport: message too large")

// TooLargeError says how large a refused message was and what the limit is. It matches ErrTooLarge
// under errors.Is.
type TooLargeError struct {
	Size  int64 // the message's size in bytes (or a lower bound, if the peer did not finish it)
	Limit int64 // the connection's limit
}

// Error says the size and the limit.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("aper/transport: message of %d bytes is over the %d-byte limit", e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Conn is a message-oriented connection: each Send on one side is one Recv on the other, whole,
// in order.
//
// Concurrency: Send may be called from many goroutines at once (messages are not interleaved);
// Recv from one goroutine at a time. Close may be called at any time, from any goroutine, any
// number of times: the first call closes the connection and makes blocked Send and Recv calls
// return promptly with an error that satisfies errors.Is(err, net.ErrClosed); later calls return
// nil.
//
// Errors: a Send or Recv whose ctx ends returns an error wrapping ctx.Err() (a cancelled Recv
// may leave the connection unusable; implementations say whether). A Send whose ctx ends while
// it is writing, blocked because the peer does not read, may have written part of the message:
// it then closes the connection, so that later Send and Recv calls fail with an error that
// satisfies errors.Is(err, net.ErrClosed), and the peer receives the messages that arrived
// whole, then the close. When the peer closes the connection, or it fails, Recv and Send return
// an error that satisfies errors.Is(err, net.ErrClosed) or describes the failure.
//
// Ownership: Send does not keep msg after it returns; the caller may reuse it. The slice Recv
// returns belongs to the caller.
type Conn interface {
	Send(ctx context.Context, msg []byte) error
	Recv(ctx context.Context) ([]byte, error)
	Close() error
}

// Listener accepts connections. Accept blocks until a connection arrives, ctx ends, or the
// listener is closed (then it returns an error that satisfies errors.Is(err, net.ErrClosed)).
// Close is idempotent; it stops accepting but does not close connections already accepted.
type Listener interface {
	Accept(ctx context.Context) (Conn, error)
	Addr() net.Addr
	Close() error
}

// Dialer opens connections to one server. Dial blocks until the connection is open or ctx ends.
type Dialer interface {
	Dial(ctx context.Context) (Conn, error)
}

// DialerFunc adapts a function to a Dialer.
type DialerFunc func(ctx context.Context) (Conn, error)

// Dial calls f(ctx).
func (f DialerFunc) Dial(ctx context.Context) (Conn, error) { return f(ctx) }

// Codec is an optional interface of a Conn whose peer chose a codec when connecting (WebSocket
// subprotocols "aper.json" and "aper.cbor"). It returns the codec's name ("json" or "cbor"), for
// aper.CodecByName.
type Codec interface {
	Codec() string
}

// Metadata is an optional interface of a Conn that knows something about its peer, for the
// server's authentication hook: for WebSocket the HTTP request of the upgrade (headers, cookies),
// for QUIC the TLS connection state.
type Metadata interface {
	// Metadata returns an implementation-specific value: *http.Request for WebSocket,
	// tls.ConnectionState for QUIC, nil or a test value for memory.
	Metadata() any
}

// ErrClosed is net.ErrClosed, named here for readers of this package: closed connections and
// listeners return errors that match it.
var ErrClosed = net.ErrClosed
