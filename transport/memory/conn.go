package memory

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/aper-go/aper/transport"
)

// Conn is one end of a connection of a memory network. It implements transport.Conn and
// transport.Metadata.
//
// Concurrency: every method may be called from any goroutine at any time, except Recv, which is
// for one goroutine at a time. Send never blocks: the buffers are unbounded. A Recv cancelled by
// its ctx leaves the connection usable. Send copies the message; the slice Recv returns belongs
// to the caller.
type Conn struct {
	n      *Network
	link   *link
	side   int
	local  string
	remote string
	meta   any
	notify chan struct{} // signalled when the state below changes
	timers sync.WaitGroup

	// Guarded by n.mu.
	limit      int
	inbox      [][]byte
	flight     []flight // incoming, delayed by latency
	lastAt     time.Time
	timer      *time.Timer
	held       []item // incoming, held by a partition
	recvErr    error  // returned once by Recv (a too-large message), after inbox and before err
	err        error  // set when this end is closed or the connection cut
	closed     bool
	peerClosed bool
	recvLeft   int // messages until DisconnectAfter cuts; -1 when off
}

var (
	_ transport.Conn     = (*Conn)(nil)
	_ transport.Metadata = (*Conn)(nil)
)

func (c *Conn) peer() *Conn { return c.link.ends[1-c.side] }

// Send sends a copy of msg. A message over the limit is a *transport.TooLargeError (matching
// transport.ErrTooLarge) and the connection stays open. After Close or a disconnect, or once
// the peer's close has arrived, Send fails with an error matching net.ErrClosed. Send never
// blocks.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("aper/transport/memory: send: %w", err)
	}
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.peerClosed {
		return errPeerClosed
	}
	if len(msg) > c.limit {
		return fmt.Errorf("aper/transport/memory: send: %w",
			&transport.TooLargeError{Size: int64(len(msg)), Limit: int64(c.limit)})
	}
	data := make([]byte, len(msg))
	copy(data, msg)
	n.transmit(c, c.peer(), item{data: data})
	return nil
}

// Recv returns the next message. It blocks until one arrives, ctx ends (the connection stays
// usable), this end is closed, the connection is cut, or the peer's close arrives after its
// last message (then the error matches net.ErrClosed).
//
// Recv looks at what has arrived before it looks at ctx: with a ctx that has already ended it
// returns a message that is waiting, or else the ctx error at once, which makes it a
// non-blocking receive for step-by-step tests (after Network.Deliver, say).
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	n := c.n
	for {
		n.mu.Lock()
		if c.recvErr != nil && len(c.inbox) == 0 {
			err := c.recvErr
			c.recvErr = nil
			n.mu.Unlock()
			return nil, err
		}
		if c.err != nil && c.recvErr == nil {
			err := c.err
			n.mu.Unlock()
			return nil, err
		}
		if len(c.inbox) > 0 {
			msg := c.inbox[0]
			c.inbox[0] = nil
			c.inbox = c.inbox[1:]
			if c.recvLeft > 0 {
				c.recvLeft--
				if c.recvLeft == 0 {
					n.cut(c.link, ErrDisconnected)
				}
			}
			n.mu.Unlock()
			return msg, nil
		}
		if c.peerClosed {
			n.mu.Unlock()
			return nil, errPeerClosed
		}
		n.mu.Unlock()
		select {
		case <-c.notify:
		case <-ctx.Done():
			return nil, fmt.Errorf("aper/transport/memory: recv: %w", ctx.Err())
		}
	}
}

// Close closes this end gracefully: the messages it sent still reach the peer, which then
// sees the close. Blocked and later calls on this end fail with an error matching
// net.ErrClosed. Close is idempotent and waits for this end's delivery timer.
func (c *Conn) Close() error {
	n := c.n
	n.mu.Lock()
	if c.closed {
		n.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.err == nil {
		c.err = errClosed
		peer := c.peer()
		n.transmit(c, peer, item{eof: true})
	}
	c.drain()
	c.recvErr = nil // what this end's Recv reports from now on is the close
	n.forget(c)
	n.pending = slices.DeleteFunc(n.pending, func(p *pendingMsg) bool { return p.to == c })
	if peer := c.peer(); peer.closed {
		c.link.cut = true
	}
	n.mu.Unlock()
	c.timers.Wait()
	return nil
}

// Disconnect cuts the connection abruptly, as a network failure would: messages not yet
// received are lost at both ends, and both ends' blocked and later calls fail with
// [ErrDisconnected], which matches net.ErrClosed. It waits for both ends' delivery timers.
func (c *Conn) Disconnect() {
	n := c.n
	n.mu.Lock()
	n.cut(c.link, ErrDisconnected)
	n.mu.Unlock()
	c.link.wait()
}

// DisconnectAfter arranges for the connection to be cut (as by Disconnect) right after this end
// has received count more messages: its count-th Recv returns the message, and the next call at
// either end fails. A count of 0 or less disconnects now.
func (c *Conn) DisconnectAfter(count int) {
	if count <= 0 {
		c.Disconnect()
		return
	}
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.recvLeft = count
}

// Metadata returns the DialOptions.Metadata of the dial, on the accepting end, and nil on the
// dialing end.
func (c *Conn) Metadata() any { return c.meta }

// ID returns the connection's number in its network, from 1; both ends share it.
func (c *Conn) ID() uint64 { return c.link.id }

// LocalName returns this end's endpoint name.
func (c *Conn) LocalName() string { return c.local }

// RemoteName returns the peer's endpoint name.
func (c *Conn) RemoteName() string { return c.remote }

// LocalAddr returns this end's name as a net.Addr.
func (c *Conn) LocalAddr() net.Addr { return Addr(c.local) }

// RemoteAddr returns the peer's name as a net.Addr.
func (c *Conn) RemoteAddr() net.Addr { return Addr(c.remote) }

// Network returns the network of the connection.
func (c *Conn) Network() *Network { return c.n }

// drain discards everything this end has not received and stops its timer. n.mu is held.
func (c *Conn) drain() {
	c.inbox, c.flight, c.held = nil, nil, nil
	if c.timer != nil && c.timer.Stop() {
		c.timers.Done()
	}
	c.timer = nil
	signal(c.notify)
}

// arm starts the delivery timer. n.mu is held.
func (c *Conn) arm(d time.Duration) {
	c.timers.Add(1)
	c.timer = time.AfterFunc(d, c.fire)
}

// fire delivers the delayed messages that are due.
func (c *Conn) fire() {
	defer c.timers.Done()
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	c.timer = nil
	now := time.Now()
	for len(c.flight) > 0 && c.err == nil && !c.flight[0].at.After(now) {
		it := c.flight[0].it
		c.flight[0] = flight{}
		c.flight = c.flight[1:]
		n.deliver(c, it)
	}
	if len(c.flight) > 0 && c.err == nil {
		c.arm(c.flight[0].at.Sub(now))
	}
}

// setLimit changes this end's size limit; for tests (export_test.go).
func (c *Conn) setLimit(limit int) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.limit = limit
}
