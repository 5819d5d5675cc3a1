package memory

import (
	"context"
	"fmt"
	"net"

	"github.com/aper-go/aper/transport"
)

// Listener accepts the connections dialed to its name. It implements transport.Listener; all
// its methods may be called concurrently.
type Listener struct {
	n      *Network
	name   string
	notify chan struct{} // signalled when the backlog grows
	done   chan struct{} // closed by Close

	// Guarded by n.mu.
	backlog []*Conn
	closed  bool
}

var _ transport.Listener = (*Listener)(nil)

// Accept returns the next connection dialed to the listener, as a *Conn.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) {
	c, err := l.AcceptConn(ctx)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptConn is Accept returning the concrete type. It blocks until a dial arrives, ctx ends,
// or the listener is closed (then the error matches net.ErrClosed).
func (l *Listener) AcceptConn(ctx context.Context) (*Conn, error) {
	n := l.n
	for {
		n.mu.Lock()
		if l.closed {
			n.mu.Unlock()
			return nil, fmt.Errorf("aper/transport/memory: accept on %q: %w", l.name, net.ErrClosed)
		}
		if len(l.backlog) > 0 {
			c := l.backlog[0]
			l.backlog[0] = nil
			l.backlog = l.backlog[1:]
			n.mu.Unlock()
			signal(l.notify) // for another Accept
			return c, nil
		}
		n.mu.Unlock()
		select {
		case <-l.notify:
		case <-l.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("aper/transport/memory: accept on %q: %w", l.name, ctx.Err())
		}
	}
}

// Addr returns the listener's name as a net.Addr ([Addr]).
func (l *Listener) Addr() net.Addr { return Addr(l.name) }

// Close stops accepting and frees the name. Connections dialed but not yet accepted are cut;
// accepted ones stay open. Close is idempotent.
func (l *Listener) Close() error {
	n := l.n
	n.mu.Lock()
	if l.closed {
		n.mu.Unlock()
		return nil
	}
	l.closed = true
	if n.listeners[l.name] == l {
		delete(n.listeners, l.name)
	}
	backlog := l.backlog
	l.backlog = nil
	for _, c := range backlog {
		n.cut(c.link, ErrDisconnected)
	}
	n.mu.Unlock()
	close(l.done)
	for _, c := range backlog {
		c.link.wait()
	}
	return nil
}
