package sync

import (
	"context"
	"errors"
	"fmt"
)

// ErrOffline is the Err of a Client's Status while it is offline on purpose: between
// [Client.Disconnect] and [Client.Reconnect].
var ErrOffline = errors.New("aper/sync: offline (Disconnect)")

// Disconnect takes the client offline: it closes the connection (or stops the attempt to make
// one) and makes no other until Reconnect. The client stays usable: Apply goes on applying to
// the optimistic view and queues for the server, State shows the view, and the pending
// transitions and their handles are kept, to be sent on Reconnect. Status is Disconnected
// with Err ErrOffline. Disconnect of an offline client does nothing; after Close it returns an
// error matching ErrClosed.
func (c *Client[S, T]) Disconnect() error {
	c.mu.Lock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		c.mu.Unlock()
		return fmt.Errorf("aper/sync: disconnect: %w", ErrClosed)
	}
	if c.offline {
		c.mu.Unlock()
		return nil
	}
	c.offline = true
	if c.online == nil {
		c.online = make(chan struct{})
	}
	if c.cur != nil {
		c.cur.conn.Close()
	}
	if c.attemptCancel != nil {
		c.attemptCancel()
	}
	c.status = Status{State: Disconnected, Err: ErrOffline}
	c.mu.Unlock()
	c.signal(c.statusCh)
	return nil
}

// Reconnect ends Disconnect: the client connects at once (without backoff), resumes from the
// last Seq it confirmed, and sends its pending transitions, which the server orders after what
// others did meanwhile. Reconnect of a client that is not offline does nothing; after Close it
// returns an error matching ErrClosed.
func (c *Client[S, T]) Reconnect() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		return fmt.Errorf("aper/sync: reconnect: %w", ErrClosed)
	}
	if !c.offline {
		return nil
	}
	c.offline = false
	close(c.online)
	c.online = nil
	return nil
}

// awaitOnline waits while the client is offline. It returns whether it waited, and false for
// ok if the client closed first.
func (c *Client[S, T]) awaitOnline() (waited, ok bool) {
	c.mu.Lock()
	for c.offline {
		ch := c.online
		c.mu.Unlock()
		select {
		case <-ch:
		case <-c.ctx.Done():
			return waited, false
		}
		waited = true
		c.mu.Lock()
	}
	c.mu.Unlock()
	return waited, true
}

// attemptCtx returns the context of one connection attempt (its backoff and its handshake),
// which Disconnect cancels.
func (c *Client[S, T]) attemptCtx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if c.offline {
		cancel()
	}
	c.attemptCancel = cancel
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.attemptCancel = nil
		c.mu.Unlock()
		cancel()
	}
}

// isOffline reports whether Disconnect holds the client offline.
func (c *Client[S, T]) isOffline() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offline
}
