package sync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aper-go/aper/transport"
)

// deadAfter is how many ping intervals without a message make a connection dead.
const deadAfter = 3

// clientConn is one connection of a client.
type clientConn struct {
	conn transport.Conn
	wire *wire
	q    *outq
}

// dial makes Dial's first connection, trying again with backoff if WithDialRetry asks, and sets
// the client's status. It returns a nil connection and no error for an offline start: the client
// store holds the room's state, so the client is usable at once and connects in the background.
func (c *Client[S, T]) dial(ctx context.Context) (*clientConn, error) {
	c.mu.Lock()
	restored := c.core.hasState
	c.mu.Unlock()
	if restored {
		c.status = Status{State: Disconnected}
		return nil, nil
	}
	for attempt := 0; ; attempt++ {
		cc, err := c.connect(ctx)
		if err == nil {
			c.status = Status{State: Connected}
			return cc, nil
		}
		if fatal(err) || ctx.Err() != nil {
			return nil, err
		}
		if !c.cfg.dialRetry {
			return nil, err
		}
		if c.cfg.dialReport != nil {
			c.cfg.dialReport(Status{State: Disconnected, Err: err})
		}
		if !c.sleep(ctx, attempt) {
			return nil, fmt.Errorf("%w; the last attempt: %w", context.Cause(ctx), err)
		}
	}
}

// sleep waits for the backoff before reconnection attempt+1 (0, 1, 2, ...): from the minimum
// delay, doubling after each failed attempt, up to the maximum, each drawn at random from its
// upper half. It returns false if ctx or the client ended first.
func (c *Client[S, T]) sleep(ctx context.Context, attempt int) bool {
	d := c.cfg.backoffMin << min(attempt, 30)
	if d > c.cfg.backoffMax || d <= 0 {
		d = c.cfg.backoffMax
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run serves cc (nil after an offline start), then reconnects with backoff until Close or a
// fatal error.
func (c *Client[S, T]) run(cc *clientConn) {
	for {
		now := cc == nil // an offline start: the first attempt is at once
		if cc != nil {
			err := c.serve(cc)
			c.mu.Lock()
			c.cur = nil
			c.mu.Unlock()
			if c.ctx.Err() != nil {
				return
			}
			if fatal(err) {
				c.setStatus(Status{State: Closed, Err: err})
				return
			}
			if c.isOffline() {
				err = ErrOffline
			}
			c.setStatus(Status{State: Disconnected, Err: err})
		}
		for attempt := 0; ; attempt++ {
			waited, ok := c.awaitOnline()
			if !ok {
				return
			}
			if waited { // Reconnect: at once, without backoff
				now, attempt = true, 0
			}
			actx, cancel := c.attemptCtx()
			if !now && !c.sleep(actx, attempt) {
				cancel()
				if c.ctx.Err() != nil {
					return
				}
				continue // Disconnect
			}
			now = false
			var err error
			cc, err = c.connect(actx)
			cancel()
			if err == nil && c.isOffline() {
				c.mu.Lock()
				if c.cur == cc {
					c.cur = nil
				}
				c.mu.Unlock()
				cc.conn.Close()
				continue
			}
			if err == nil {
				break
			}
			if c.ctx.Err() != nil {
				return
			}
			if c.isOffline() {
				continue
			}
			if fatal(err) {
				c.setStatus(Status{State: Closed, Err: err})
				return
			}
			c.setStatus(Status{State: Disconnected, Err: err})
		}
		c.mu.Lock()
		if !c.offline { // else Disconnect came meanwhile and closed cc
			c.status = Status{State: Connected}
			c.wakeLocked()
		}
		c.mu.Unlock()
		c.signal(c.statusCh)
	}
}

// connect dials, says hello and handles the server's first message (the welcome).
func (c *Client[S, T]) connect(ctx context.Context) (*clientConn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.handshake)
	defer cancel()
	conn, err := c.dialer.Dial(ctx)
	if err != nil {
		return nil, err
	}
	w, err := wireOf(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	cc := &clientConn{conn: conn, wire: w, q: newOutq(0, nil)}
	c.mu.Lock()
	h := c.core.hello(c.room)
	h.Token, h.Key = c.cfg.token, c.cfg.key
	c.mu.Unlock()
	c.recv.hello(&h, w)
	b, err := w.encode(&h)
	if err == nil {
		err = conn.Send(ctx, b)
	}
	var msg []byte
	if err == nil {
		msg, err = conn.Recv(ctx)
	}
	if err == nil {
		err = c.handle(cc, msg, true)
	}
	if err == nil && c.recv.active() {
		err = c.receiveSnapshot(cc)
	}
	if err != nil {
		c.mu.Lock()
		if c.cur == cc {
			c.cur = nil
		}
		c.mu.Unlock()
		conn.Close()
		return nil, err
	}
	return cc, nil
}

// receiveSnapshot receives the chunks of the snapshot that the welcome announced, however many
// there are: each must arrive within the handshake timeout (a stalled transfer fails, and the
// next connection resumes it). Meanwhile the client pings, so that the server does not take the
// connection as silent.
func (c *Client[S, T]) receiveSnapshot(cc *clientConn) error {
	ping, _ := cc.wire.encode(&frame{Type: framePing})
	stop := make(chan struct{})
	pinged := make(chan struct{})
	go func() { // owned by receiveSnapshot, which waits for it
		defer close(pinged)
		t := time.NewTicker(c.cfg.ping)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(c.ctx, c.cfg.handshake)
				cc.conn.Send(ctx, ping) // a failure shows in Recv
				cancel()
			}
		}
	}()
	defer func() {
		close(stop)
		<-pinged
	}()
	for c.recv.active() {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.handshake)
		msg, err := cc.conn.Recv(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("aper/sync: receive snapshot: %w", err)
		}
		if err := c.handle(cc, msg, false); err != nil {
			return err
		}
	}
	return nil
}

// serve runs cc until it fails: this goroutine reads, a writer goroutine sends and pings.
func (c *Client[S, T]) serve(cc *clientConn) error {
	ticker := time.NewTicker(c.cfg.ping)
	defer ticker.Stop()
	ping, _ := cc.wire.encode(&frame{Type: framePing})
	writerDone := make(chan struct{})
	go func() { // owned by serve, which waits for it
		defer close(writerDone)
		writeLoop(c.ctx, cc.conn, cc.wire, cc.q, c.cfg.maxMessage, ticker.C, func() []byte { return ping })
		cc.conn.Close()
	}()
	defer func() {
		cc.conn.Close()
		cc.q.closeAfterFlush(nil) // wakes the writer, which finds the connection closed
		<-writerDone
	}()
	for {
		ctx, cancel := context.WithTimeoutCause(c.ctx, deadAfter*c.cfg.ping, ErrServerSilent)
		msg, err := cc.conn.Recv(ctx)
		silent := context.Cause(ctx) == ErrServerSilent
		cancel()
		if err != nil {
			if c.ctx.Err() != nil {
				return context.Cause(c.ctx)
			}
			if silent {
				return fmt.Errorf("aper/sync: connection lost: %w", ErrServerSilent)
			}
			return fmt.Errorf("aper/sync: connection lost: %w", err)
		}
		if err := c.handle(cc, msg, false); err != nil {
			return err
		}
	}
}

// handle decodes one transport message (payloads outside the lock) and feeds its frames to the
// core. first says it is the answer to the hello, which must begin with a welcome.
func (c *Client[S, T]) handle(cc *clientConn, msg []byte, first bool) error {
	items, err := decodeMessage(c.items, cc.wire, msg, first, &c.recv)
	defer func() {
		clear(items) // no transition or snapshot kept alive
		c.items = items[:0]
	}()
	// Frames before an error still count.
	c.mu.Lock()
	if se := (*ServerError)(nil); errors.As(err, &se) && se.Code == codeTooLarge {
		// A frame for this client was too large to send: a snapshot goes round it.
		c.core.resync = true
	}
	var herr error
	now := time.Now() // one reading for the message: its frames came together
	for i := range items {
		sends, err := c.core.receive(&items[i], cc.wire, now)
		if err != nil {
			herr = err
			c.core.resync = true // keep the view; take a snapshot on the next connection
			break
		}
		for _, p := range sends {
			c.sendLocked(cc, p.local, p.t)
		}
	}
	if herr == nil && err == nil && c.core.live && c.cur != cc {
		c.cur = cc
		// A new connection: the server forgot this client's presence with the old one.
		c.presDirty, c.presLast = c.presSet, time.Time{}
		c.flushPresenceLocked(now)
	}
	c.core.store.settle(&c.core)
	if c.core.dirty {
		// The view is rebuilt when it is read (State, Apply): a client catching up rebases its
		// pending transitions once per batch of the server's, not once per message.
		c.core.changed = true
	}
	changed, presChanged, rejs := c.core.takeNotes()
	c.publishLocked(c.core.takeEvents())
	c.wakeLocked()
	if len(rejs) > 0 {
		c.rejQ = append(c.rejQ, rejs...)
	}
	c.mu.Unlock()
	if changed {
		c.signal(c.changes)
	}
	if presChanged {
		c.signal(c.presCh)
	}
	if len(rejs) > 0 {
		c.signal(c.rejSignal)
	}
	if herr != nil {
		return herr
	}
	return err
}
