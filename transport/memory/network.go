package memory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/aper-go/aper/transport"
)

// Errors of this package. All of them are returned as they are or wrapped with %w.
var (
	// ErrDisconnected is what the calls of both ends of a connection cut by Disconnect (or by
	// a fault) return. It matches net.ErrClosed.
	ErrDisconnected = fmt.Errorf("aper/transport/memory: connection cut: %w", net.ErrClosed)
	// ErrRefused is returned by Dial when no listener has the name.
	ErrRefused = errors.New("aper/transport/memory: connection refused: no listener")
	// ErrUnreachable is returned by Dial across a partition.
	ErrUnreachable = errors.New("aper/transport/memory: endpoint unreachable: partitioned")
	// ErrAddrInUse is returned by Listen for a name that another listener holds.
	ErrAddrInUse = errors.New("aper/transport/memory: address already in use")
	// ErrNoMessage is returned by Deliver and Drop for an id that is not pending.
	ErrNoMessage = errors.New("aper/transport/memory: no such pending message")

	errClosed     = fmt.Errorf("aper/transport/memory: %w", net.ErrClosed)
	errPeerClosed = fmt.Errorf("aper/transport/memory: peer closed the connection: %w", net.ErrClosed)
)

// Options configure a Network. A nil *Options and the zero value mean: the default size limit,
// seed 0, no latency, automatic delivery.
type Options struct {
	// MaxMessageSize is the largest message a connection carries, in bytes; 0 means
	// transport.DefaultMaxMessageSize.
	MaxMessageSize int
	// Seed seeds the random source of the jitter.
	Seed int64
	// Latency delays every message by this much.
	Latency time.Duration
	// Jitter adds a uniform random delay in [0, Jitter] to each message (the order of one
	// connection's messages is kept).
	Jitter time.Duration
	// Manual holds every message until the test delivers it (see the package doc); Latency and
	// Jitter are then ignored.
	Manual bool
}

// PartitionMode says what a partition does to the traffic it cuts.
type PartitionMode int

const (
	// Hold keeps the traffic and delivers it, in order, when the partition heals.
	Hold PartitionMode = iota + 1
	// Drop loses the traffic.
	Drop
)

// String returns "hold" or "drop".
func (m PartitionMode) String() string {
	switch m {
	case Hold:
		return "hold"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("PartitionMode(%d)", int(m))
}

// Message is a message waiting in a manual network (see [Network.Pending]).
type Message struct {
	ID       uint64 // send order over the whole network, from 1
	Conn     uint64 // the connection's id ([Conn.ID])
	From, To string // endpoint names of the sender and the receiver
	Data     []byte // a copy of the payload; nil when Close is set
	Close    bool   // the sender closed its end; delivering this makes the receiver see the close
}

// Network is an in-process network of named endpoints. Its zero value is not usable; make one
// with NewNetwork. All its methods may be called concurrently.
type Network struct {
	mu        sync.Mutex
	limit     int
	latency   time.Duration
	jitter    time.Duration
	manual    bool
	rng       *rand.Rand
	listeners map[string]*Listener
	ends      []*Conn // open ends, in creation order
	parts     map[[2]string]PartitionMode
	pending   []*pendingMsg
	changed   chan struct{} // closed and replaced when pending grows
	nextLink  uint64
	nextMsg   uint64
	nextDial  int
	closed    bool
}

type pendingMsg struct {
	id       uint64
	from, to *Conn
	it       item
}

// item is one unit of traffic: a message, or the close marker.
type item struct {
	data []byte
	eof  bool
}

// NewNetwork makes a network. opts may be nil.
func NewNetwork(opts *Options) *Network {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = transport.DefaultMaxMessageSize
	}
	return &Network{
		limit:     o.MaxMessageSize,
		latency:   max(o.Latency, 0),
		jitter:    max(o.Jitter, 0),
		manual:    o.Manual,
		rng:       rand.New(rand.NewPCG(uint64(o.Seed), 0x61706572)),
		listeners: make(map[string]*Listener),
		parts:     make(map[[2]string]PartitionMode),
		changed:   make(chan struct{}),
	}
}

// Listen registers a listener under name. A name that another open listener holds is an error
// ([ErrAddrInUse]).
func (n *Network) Listen(name string) (*Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("aper/transport/memory: listen %q: %w", name, errClosed)
	}
	if _, ok := n.listeners[name]; ok {
		return nil, fmt.Errorf("aper/transport/memory: listen %q: %w", name, ErrAddrInUse)
	}
	l := &Listener{n: n, name: name, notify: make(chan struct{}, 1), done: make(chan struct{})}
	n.listeners[name] = l
	return l, nil
}

// DialOptions configure one Dial. A nil *DialOptions means the defaults.
type DialOptions struct {
	// From names the dialing end, for partitions; "" means "dial-N", N counting the dials of
	// the network from 1.
	From string
	// Metadata is what the accepting end's Metadata method returns (a token, say, for an
	// authentication hook). The dialing end's Metadata returns nil.
	Metadata any
}

// Dial connects to the listener called name. It fails with [ErrRefused] if there is none and
// with [ErrUnreachable] across a partition; it does not wait for Accept.
func (n *Network) Dial(ctx context.Context, name string) (*Conn, error) {
	return n.DialWith(ctx, name, nil)
}

// DialWith is Dial with options; o may be nil.
func (n *Network) DialWith(ctx context.Context, name string, o *DialOptions) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("aper/transport/memory: dial %q: %w", name, err)
	}
	var opt DialOptions
	if o != nil {
		opt = *o
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextDial++
	if opt.From == "" {
		opt.From = fmt.Sprintf("dial-%d", n.nextDial)
	}
	l, ok := n.listeners[name]
	if !ok || n.closed {
		return nil, fmt.Errorf("aper/transport/memory: dial %q: %w", name, ErrRefused)
	}
	if n.partition(opt.From, name) != 0 {
		return nil, fmt.Errorf("aper/transport/memory: dial %q from %q: %w", name, opt.From, ErrUnreachable)
	}
	client, server := n.newLink(opt.From, name, opt.Metadata)
	l.backlog = append(l.backlog, server)
	signal(l.notify)
	return client, nil
}

// Dialer returns a transport.Dialer that dials name.
func (n *Network) Dialer(name string) transport.Dialer {
	return n.DialerWith(name, nil)
}

// DialerWith returns a transport.Dialer that dials name with options o (nil for defaults).
func (n *Network) DialerWith(name string, o *DialOptions) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		c, err := n.DialWith(ctx, name, o)
		if err != nil {
			return nil, err
		}
		return c, nil
	})
}

// Pipe returns the two ends of one connection on a private network made with opts (nil for
// defaults): a is the dialing end, named "a", and b the accepting end, named "b".
// a.Network() reaches the network, for partitions or manual delivery.
func Pipe(opts *Options) (a, b *Conn) {
	n := NewNetwork(opts)
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.newLink("a", "b", nil)
}

// newLink makes a connection's two ends. n.mu is held.
func (n *Network) newLink(from, to string, meta any) (client, server *Conn) {
	n.nextLink++
	lk := &link{id: n.nextLink}
	client = n.newEnd(lk, 0, from, to, nil)
	server = n.newEnd(lk, 1, to, from, meta)
	return client, server
}

func (n *Network) newEnd(lk *link, side int, local, remote string, meta any) *Conn {
	c := &Conn{
		n: n, link: lk, side: side, local: local, remote: remote, meta: meta,
		limit: n.limit, recvLeft: -1, notify: make(chan struct{}, 1),
	}
	lk.ends[side] = c
	n.ends = append(n.ends, c)
	return c
}

// Conns returns the open ends of every connection (both ends of each), in creation order, so
// that a test can reach the ends a server accepted.
func (n *Network) Conns() []*Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.ends)
}

// Disconnect cuts, as Conn.Disconnect does, every connection with an end named name, and
// returns how many it cut.
func (n *Network) Disconnect(name string) int {
	n.mu.Lock()
	var cut []*link
	for _, c := range n.ends {
		if c.local == name && !slices.Contains(cut, c.link) {
			cut = append(cut, c.link)
		}
	}
	for _, lk := range cut {
		n.cut(lk, ErrDisconnected)
	}
	n.mu.Unlock()
	for _, lk := range cut {
		lk.wait()
	}
	return len(cut)
}

// SetLatency changes the latency and jitter of messages sent from now on.
func (n *Network) SetLatency(latency, jitter time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latency, n.jitter = max(latency, 0), max(jitter, 0)
}

// Partition cuts the traffic between the endpoints named a and b, in both directions, from now
// on: mode [Hold] keeps it until a heal, [Drop] loses it. Messages already on their way are not
// affected. Partitioning a pair again changes its mode. A mode other than Hold and Drop is an
// error, and changes nothing.
func (n *Network) Partition(a, b string, mode PartitionMode) error {
	if mode != Hold && mode != Drop {
		return fmt.Errorf("aper/transport/memory: partition %q and %q: invalid mode %v", a, b, mode)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.parts[pairKey(a, b)] = mode
	return nil
}

// Heal ends the partition between a and b; traffic held by it flows, in order.
func (n *Network) Heal(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.parts, pairKey(a, b))
	n.release()
}

// HealAll ends every partition.
func (n *Network) HealAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.parts)
	n.release()
}

// release sends on the traffic of the held queues whose partition has healed. n.mu is held.
func (n *Network) release() {
	for _, to := range slices.Clone(n.ends) {
		if len(to.held) == 0 {
			continue
		}
		from := to.peer()
		if n.partition(from.local, to.local) != 0 {
			continue
		}
		held := to.held
		to.held = nil
		for _, it := range held {
			n.route(from, to, it)
		}
	}
}

func pairKey(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// partition returns the mode of the partition between a and b, or 0. n.mu is held.
func (n *Network) partition(a, b string) PartitionMode {
	if len(n.parts) == 0 {
		return 0
	}
	return n.parts[pairKey(a, b)]
}

// Pending returns the messages that wait for delivery in a manual network, oldest first. It
// returns nil for an automatic network.
func (n *Network) Pending() []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.pending) == 0 {
		return nil
	}
	out := make([]Message, len(n.pending))
	for i, p := range n.pending {
		out[i] = Message{
			ID: p.id, Conn: p.from.link.id, From: p.from.local, To: p.to.local,
			Data: slices.Clone(p.it.data), Close: p.it.eof,
		}
		if !p.it.eof && out[i].Data == nil {
			out[i].Data = []byte{}
		}
	}
	return out
}

// Deliver delivers the pending message id, after the older pending messages of the same
// connection and direction (so the connection stays ordered). When it returns, the messages are
// in the receiver's buffer. An id that is not pending is [ErrNoMessage].
func (n *Network) Deliver(id uint64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.findPending(id)
	if i < 0 {
		return fmt.Errorf("aper/transport/memory: deliver %d: %w", id, ErrNoMessage)
	}
	target := n.pending[i]
	kept := n.pending[:0]
	var due []*pendingMsg
	for j, p := range n.pending {
		if j <= i && p.to == target.to && p.from == target.from {
			due = append(due, p)
		} else {
			kept = append(kept, p)
		}
	}
	clear(n.pending[len(kept):])
	n.pending = kept
	for _, p := range due {
		n.deliver(p.to, p.it)
	}
	return nil
}

// DeliverAll delivers every pending message, oldest first, and returns how many it delivered.
func (n *Network) DeliverAll() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	due := n.pending
	n.pending = nil
	for _, p := range due {
		n.deliver(p.to, p.it)
	}
	return len(due)
}

// Drop loses the pending message id. The connection stays open: this is a lossy link, which a
// real connection never is (it would fail instead: use Disconnect for that).
func (n *Network) Drop(id uint64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.findPending(id)
	if i < 0 {
		return fmt.Errorf("aper/transport/memory: drop %d: %w", id, ErrNoMessage)
	}
	n.pending = slices.Delete(n.pending, i, i+1)
	return nil
}

// WaitPending blocks until at least count messages are pending, or ctx ends.
func (n *Network) WaitPending(ctx context.Context, count int) error {
	for {
		n.mu.Lock()
		have, ch := len(n.pending), n.changed
		n.mu.Unlock()
		if have >= count {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("aper/transport/memory: wait for %d pending messages (have %d): %w", count, have, ctx.Err())
		}
	}
}

func (n *Network) findPending(id uint64) int {
	i, ok := slices.BinarySearchFunc(n.pending, id, func(p *pendingMsg, id uint64) int {
		switch {
		case p.id < id:
			return -1
		case p.id > id:
			return 1
		}
		return 0
	})
	if !ok {
		return -1
	}
	return i
}

// Close closes every listener and cuts every connection of the network; later Listen and Dial
// calls fail. It waits for the network's timers.
func (n *Network) Close() error {
	n.mu.Lock()
	n.closed = true
	var ls []*Listener
	for _, l := range n.listeners {
		ls = append(ls, l)
	}
	var links []*link
	for _, c := range n.ends {
		if !slices.Contains(links, c.link) {
			links = append(links, c.link)
		}
	}
	for _, lk := range links {
		n.cut(lk, ErrDisconnected)
	}
	n.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	for _, lk := range links {
		lk.wait()
	}
	return nil
}

// transmit sends it from one end to the other through partitions, latency or the manual queue.
// n.mu is held.
func (n *Network) transmit(from, to *Conn, it item) {
	switch n.partition(from.local, to.local) {
	case Drop:
		return
	case Hold:
		to.held = append(to.held, it)
		return
	}
	n.route(from, to, it)
}

// route hands it to the manual queue, the latency queue or the receiver. n.mu is held.
func (n *Network) route(from, to *Conn, it item) {
	if to.err != nil {
		return
	}
	switch {
	case n.manual:
		n.nextMsg++
		n.pending = append(n.pending, &pendingMsg{id: n.nextMsg, from: from, to: to, it: it})
		close(n.changed)
		n.changed = make(chan struct{})
	case n.latency == 0 && n.jitter == 0 && len(to.flight) == 0:
		n.deliver(to, it)
	default:
		d := n.latency
		if n.jitter > 0 {
			d += time.Duration(n.rng.Int64N(int64(n.jitter) + 1))
		}
		at := time.Now().Add(d)
		if at.Before(to.lastAt) {
			at = to.lastAt
		}
		to.lastAt = at
		to.flight = append(to.flight, flight{at: at, it: it})
		if to.timer == nil {
			to.arm(time.Until(to.flight[0].at))
		}
	}
}

// deliver puts it into the receiver's buffer. n.mu is held.
func (n *Network) deliver(to *Conn, it item) {
	if to.err != nil {
		return
	}
	if it.eof {
		to.peerClosed = true
		signal(to.notify)
		return
	}
	if len(it.data) > to.limit {
		tooLarge := fmt.Errorf("aper/transport/memory: recv: %w",
			&transport.TooLargeError{Size: int64(len(it.data)), Limit: int64(to.limit)})
		// As on a network transport, the messages before the oversized one are still
		// received, then the error; everything else is lost.
		inbox := to.inbox
		n.cut(to.link, ErrDisconnected)
		to.inbox, to.recvErr = inbox, tooLarge
		return
	}
	to.inbox = append(to.inbox, it.data)
	signal(to.notify)
}

// cut breaks a connection abruptly: both ends lose everything not yet received and fail with
// err from now on. It does not wait for timers (see link.wait). n.mu is held.
func (n *Network) cut(lk *link, err error) {
	if lk.cut {
		return
	}
	lk.cut = true
	for _, c := range lk.ends {
		if c.err == nil {
			c.err = err
		}
		c.drain()
		n.forget(c)
	}
	n.pending = slices.DeleteFunc(n.pending, func(p *pendingMsg) bool { return p.to.link == lk })
}

// forget removes c from the list of open ends. n.mu is held.
func (n *Network) forget(c *Conn) {
	if i := slices.Index(n.ends, c); i >= 0 {
		n.ends = slices.Delete(n.ends, i, i+1)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

type link struct {
	id   uint64
	ends [2]*Conn
	cut  bool // guarded by Network.mu
}

// wait waits for the delivery timers of both ends. n.mu must not be held.
func (lk *link) wait() {
	lk.ends[0].timers.Wait()
	lk.ends[1].timers.Wait()
}

type flight struct {
	at time.Time
	it item
}

// Addr is the address of an endpoint of a memory network: its name.
type Addr string

// Network returns "memory".
func (Addr) Network() string { return "memory" }

// String returns the name.
func (a Addr) String() string { return string(a) }

var _ net.Addr = Addr("")
