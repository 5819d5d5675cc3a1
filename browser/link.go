package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/aper-go/aper/transport"
)

// ErrPartitioned is the error of a dial through a partitioned Link.
var ErrPartitioned = errors.New("aper/browser: link partitioned")

// Frame is one protocol frame as it passes a Link.
type Frame struct {
	// Dir is "up" (client to server) or "down".
	Dir string `json:"dir"`
	// Type names the frame: "hello", "welcome", "submit", "confirmed", "rejected", "presence", ...
	Type string `json:"type"`
	// Text is the frame as the JSON codec writes it.
	Text string `json:"text"`
	// Dropped says the frame was lost, and its connection with it (see Link.DropNext).
	Dropped bool `json:"dropped,omitempty"`
}

// frameNames are the names of the sync protocol's frame types, by their number on the wire,
// for the log of a Link.
var frameNames = map[int]string{
	1: "hello", 2: "welcome", 3: "submit", 4: "confirmed", 5: "rejected", 6: "error",
	7: "ping", 8: "pong", 9: "presence", 10: "chunk",
}

// Link stands between a client and its Dialer, as a network a page can disturb: it reports
// every frame that passes, delays them, drops one (and breaks the connection with it, as a
// lost segment breaks a WebSocket), and partitions the client from the server until it heals.
// It reads frames of the JSON codec; other messages pass as type "?".
//
// All methods may be called concurrently. Close stops the Link's goroutines, which Close of the
// connections it made also do.
type Link struct {
	d       transport.Dialer
	onFrame func(Frame)

	mu       sync.Mutex
	delay    time.Duration
	dropNext bool
	parted   bool
	conns    map[*linkConn]struct{}
	closed   bool
}

// NewLink returns a Link over d that calls onFrame (which may be nil) for each frame, from the
// goroutine that moves it: onFrame must not block.
func NewLink(d transport.Dialer, onFrame func(Frame)) *Link {
	if onFrame == nil {
		onFrame = func(Frame) {}
	}
	return &Link{d: d, onFrame: onFrame, conns: make(map[*linkConn]struct{})}
}

var _ transport.Dialer = (*Link)(nil)

// Dial dials through the Link; while it is partitioned, it fails with ErrPartitioned.
func (l *Link) Dial(ctx context.Context) (transport.Conn, error) {
	l.mu.Lock()
	parted, closed := l.parted, l.closed
	l.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("aper/browser: dial: %w", net.ErrClosed)
	}
	if parted {
		return nil, ErrPartitioned
	}
	c, err := l.d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	lc := &linkConn{l: l, c: c, in: make(chan timed, 64), stop: make(chan struct{}), readErr: make(chan error, 1)}
	l.mu.Lock()
	if l.parted || l.closed {
		l.mu.Unlock()
		_ = c.Close()
		return nil, ErrPartitioned
	}
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	lc.wg.Go(lc.readAhead)
	return lc, nil
}

// SetDelay holds every frame d before it passes, in both directions; 0 lets them pass at once.
func (l *Link) SetDelay(d time.Duration) {
	l.mu.Lock()
	l.delay = max(d, 0)
	l.mu.Unlock()
}

// DropNext loses the next frame that passes, in either direction, and breaks its connection:
// the client reconnects, resumes and sends what the server did not confirm.
func (l *Link) DropNext() {
	l.mu.Lock()
	l.dropNext = true
	l.mu.Unlock()
}

// Partition breaks the Link's connections and fails every dial until Heal.
func (l *Link) Partition() {
	l.mu.Lock()
	l.parted = true
	conns := l.takeConns()
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Heal ends a partition: the client's next dial goes through.
func (l *Link) Heal() {
	l.mu.Lock()
	l.parted = false
	l.mu.Unlock()
}

// Partitioned says whether the Link is partitioned.
func (l *Link) Partitioned() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.parted
}

// Close closes the Link's connections and fails later dials. It is idempotent.
func (l *Link) Close() error {
	l.mu.Lock()
	l.closed = true
	conns := l.takeConns()
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return nil
}

func (l *Link) takeConns() []*linkConn {
	var out []*linkConn
	for c := range l.conns {
		out = append(out, c)
	}
	clear(l.conns)
	return out
}

// pass decides the fate of a message going dir: its delay, and whether it is dropped. It
// reports each frame in it.
func (l *Link) pass(dir string, msg []byte) (time.Duration, bool) {
	l.mu.Lock()
	delay, drop := l.delay, l.dropNext
	l.dropNext = false
	l.mu.Unlock()
	for _, f := range framesOf(dir, msg) {
		f.Dropped = drop
		l.onFrame(f)
	}
	return delay, drop
}

// framesOf splits a message of the JSON codec into its frames (one JSON object a line).
func framesOf(dir string, msg []byte) []Frame {
	var out []Frame
	for line := range bytes.SplitSeq(msg, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var head struct {
			T int `json:"t"`
		}
		name := "?"
		if json.Unmarshal(line, &head) == nil {
			if n, ok := frameNames[head.T]; ok {
				name = n
			}
		}
		out = append(out, Frame{Dir: dir, Type: name, Text: string(line)})
	}
	return out
}

// timed is a received message and when it may pass.
type timed struct {
	msg []byte
	at  time.Time
}

// linkConn is one connection through a Link.
type linkConn struct {
	l       *Link
	c       transport.Conn
	in      chan timed
	readErr chan error
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// readAhead receives from the server, so that a delay holds each message from its arrival.
func (c *linkConn) readAhead() {
	for {
		msg, err := c.c.Recv(context.Background())
		if err != nil {
			c.readErr <- err
			return
		}
		delay, drop := c.l.pass("down", msg)
		if drop {
			c.readErr <- fmt.Errorf("aper/browser: frame dropped: %w", net.ErrClosed)
			_ = c.c.Close()
			return
		}
		select {
		case c.in <- timed{msg, time.Now().Add(delay)}:
		case <-c.stop:
			return
		}
	}
}

func (c *linkConn) Send(ctx context.Context, msg []byte) error {
	delay, drop := c.l.pass("up", msg)
	if drop {
		_ = c.Close()
		return fmt.Errorf("aper/browser: frame dropped: %w", net.ErrClosed)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.stop:
			return fmt.Errorf("aper/browser: send: %w", net.ErrClosed)
		}
	}
	return c.c.Send(ctx, msg)
}

func (c *linkConn) Recv(ctx context.Context) ([]byte, error) {
	var m timed
	select {
	case m = <-c.in:
	case err := <-c.readErr:
		c.readErr <- err // for the next Recv
		select {
		case m = <-c.in: // what arrived before the error passes first
		default:
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.stop:
		return nil, fmt.Errorf("aper/browser: recv: %w", net.ErrClosed)
	}
	if wait := time.Until(m.at); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.stop:
			return nil, fmt.Errorf("aper/browser: recv: %w", net.ErrClosed)
		}
	}
	return m.msg, nil
}

func (c *linkConn) Close() error {
	c.once.Do(func() {
		close(c.stop)
		_ = c.c.Close()
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	c.wg.Wait()
	return nil
}

// Codec names the codec of the connection under the Link (transport.Codec): "cbor" when it
// names none, as the sync package assumes.
func (c *linkConn) Codec() string {
	if cc, ok := c.c.(transport.Codec); ok {
		return cc.Codec()
	}
	return "cbor"
}

var _ transport.Codec = (*linkConn)(nil)
