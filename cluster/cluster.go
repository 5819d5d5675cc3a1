// Package cluster runs the sync server's rooms across several servers on NATS JetStream: it
// implements [sync.Ownership] with the leases of package journal/jetstream, and relays a
// client's connection from the server it reached to the room's owner over NATS subjects.
//
// Each server of a cluster runs a sync.Server with the same jetstream.Journal (WithJournal),
// a [Cluster] as its Ownership (sync.WithOwnership), and serves the Cluster's relayed
// connections as any others:
//
//	cl, err := cluster.New(ctx, nc, js, "node-a", nil)
//	srv, err := apersync.NewServer(factory, apersync.WithJournal(j), apersync.WithOwnership(cl))
//	go srv.Serve(ctx, cl.Listener())
//
// A room is owned by the server that won its lease (jetstream.Leases); safety rests on the
// journal's fencing, which refuses a stale owner's append. A connection to a room owned
// elsewhere is relayed: the server it reached dials the owner on subject
// "<Prefix>.relay.<owner>", and from then on the two exchange the client's messages on inbox
// subjects of their own, numbered, so that a lost message ends the connection instead of
// going missing, with heartbeats, so that a server that is gone is noticed within
// Options.Liveness. The owner serves the connection with its ordinary code; when the room
// moves, the owner ends it with a non-fatal reason and the client reconnects and resumes.
// The server the client reached authenticates it; the owner trusts the identity it carries
// (an agent stays an agent), as anything that can publish on the cluster's NATS subjects is a
// member: give the NATS account of a cluster to its servers only.
//
// The Cluster is also a sync.Forwarder: the sync server's own calls on a room (Snapshot,
// Seq, Submit, Restore, Kick, and the HTTP API's /state and /submit) work on every server, as
// each one a server does not own is carried to the owner on a connection of its own (see
// forward.go).
//
// The package links NATS but not the NATS server; package journal/jetstream/node embeds one.
//
// # Figures
//
// BenchmarkRooms (go test -bench Rooms -benchtime 6000x), one run on a 2-core virtual machine
// shared with other builds (load average about 9), so noisy: confirmed transitions a second,
// one client per room, a Sync every 64; the nodes run in the benchmark's process; on R3 every
// client is relayed by a member that does not own its room.
//
//	Disk/rooms=1     49,900     R1/rooms=1     87,000     R3/rooms=1     35,700
//	Disk/rooms=100   21,300     R1/rooms=100   44,200     R3/rooms=100   22,300
//
// # Failover
//
// When a room's owner dies, its room waits for the lease to expire (Options.LeaseTTL after
// the owner's last renewal, which is at most a third of it before), and for every JetStream
// group that the dead server led and the room needs to elect a new leader, 4 to 9 s each (NATS'
// election timeout, not configurable): the room's stream (to append and read), the lease
// bucket (to take the lease; its key expires only once the bucket has a leader again), and
// the meta group (a room's reload reads through a consumer, which the meta leader creates).
// TestPartitionOwner cuts an owner off (to the others, a dead server) with a 1 s TTL and
// logs the split; one run (load average about 9 on 2 cores), from the cut to the first
// confirmation by the new owner:
//
//	the dead owner led          lease taken   that group's leader   first confirmation
//	none of them                +0.9 s        -                     +0.9 s
//	the room's stream           +0.9 s        +7.0 s                +7.3 s
//	the lease bucket            +6.1 s        +5.0 s                +6.1 s
//	the meta group              +1.1 s        +4.3 s                +5.3 s
//
// cmd/aper's TestServeClusterKill SIGKILLs the owner of a busy room three times (three aper
// serve processes on a 2-core machine, load average 5 to 12), and logs the pause without a
// confirmation after each kill. With the default TTL of 5 s: 4.6, 10.0 and 10.0 s when the
// killed owner led neither the room's stream nor the lease bucket, 10.2 and 10.5 s when it led
// the stream, 11.0 s when it led both; with -lease-ttl 2s: 2.2 and 12.1 s when it led neither,
// 5.5 s when it led the lease bucket, 10.7, 11.1 and 11.1 s when it led both. The long pauses
// when it led neither are not explained by these figures (the processes do not show the meta
// group's leader, the likely cause). A clean shutdown releases the leases at once
// (TestShutdownReleases), and the JetStream node steps down from what it leads. A server cut
// off for longer than an election timeout costs its peers a second pause when it comes back:
// 5 to 8 s without a confirmation for every client of the room after the heal in
// TestPartitionOwner, as the groups it was cut off from elect again.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	stdsync "sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
)

// Options configure [New]. A nil *Options, and every zero field, takes the default.
type Options struct {
	// Prefix names the lease bucket and the relay subjects; default "APER". It must match
	// the journal's (jetstream.Options.Prefix).
	Prefix string
	// LeaseTTL is how long a room's lease lives without renewal: how long a room whose owner
	// died waits before another server may take it. Default 5s, at least 100ms; every server
	// of a cluster must use the same (New refuses another than the lease bucket's, set by
	// the first server). The owner renews each of its rooms' leases every LeaseTTL/3, a
	// replicated write: rooms*3/LeaseTTL writes a second for the cluster, 600 a second for
	// 1,000 rooms at 5s. A shorter TTL hastens a failover only while the lease is what it
	// waits for: when the dead server also led the room's stream, the lease bucket or the
	// JetStream meta group, their elections (4 to 9 s in NATS, not configurable) come first.
	LeaseTTL time.Duration
	// Replicas is the lease bucket's replication factor; default 1. Use 3 on a cluster of
	// three or more, so that the leases survive a server.
	Replicas int
	// Liveness is how long a relayed connection may hear nothing from the other server
	// before it ends; default 3s, or LeaseTTL if that is shorter, so that the clients
	// relayed to a server that died come back no later than its rooms can move. Each side
	// sends a heartbeat every Liveness/3 when idle.
	Liveness time.Duration
}

// Cluster is one server's membership of a cluster: its leases, the relay connections it
// dials, and those it accepts. It implements sync.Ownership.
type Cluster struct {
	nc       *nats.Conn
	name     string
	prefix   string
	leases   *ajs.Leases
	liveness time.Duration

	sub     *nats.Subscription
	accept  chan *conn
	closed  chan struct{}
	once    stdsync.Once
	connsMu stdsync.Mutex
	conns   map[*conn]struct{}

	calls // see forward.go

	onNoResponders func() // tests: called each time a dial found no responder and waits
}

var (
	_ apersync.Ownership  = (*Cluster)(nil)
	_ apersync.Forwarder  = (*Cluster)(nil)
	_ apersync.MemberConn = (*conn)(nil)
)

// ErrClosed is returned by a closed Cluster's methods and its Listener's Accept. It is
// net.ErrClosed.
var ErrClosed = net.ErrClosed

// New joins the cluster on nc and js as the server called name (unique in the cluster: a
// NATS subject token of A-Z, a-z, 0-9, '-' and '_'), creating the lease bucket if needed.
// Close it after the sync server that uses it.
func New(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, name string, opts *Options) (*Cluster, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "APER"
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 5 * time.Second
	}
	if o.Liveness == 0 {
		o.Liveness = min(3*time.Second, max(o.LeaseTTL, 30*time.Millisecond))
	}
	if !validName(name) {
		return nil, fmt.Errorf("%w: server name %q: 1 to 64 bytes of A-Z, a-z, 0-9, '-' and '_'", journal.ErrInvalid, name)
	}
	if o.Liveness < 30*time.Millisecond {
		return nil, fmt.Errorf("%w: liveness %v below 30ms", journal.ErrInvalid, o.Liveness)
	}
	leases, err := ajs.NewLeases(ctx, js, name, &ajs.LeaseOptions{Prefix: o.Prefix, TTL: o.LeaseTTL, Replicas: o.Replicas})
	if err != nil {
		return nil, fmt.Errorf("aper/cluster: %w", err)
	}
	c := &Cluster{
		nc: nc, name: name, prefix: o.Prefix, leases: leases, liveness: o.Liveness,
		accept: make(chan *conn), closed: make(chan struct{}), conns: make(map[*conn]struct{}),
	}
	c.calls.life, c.calls.stop = context.WithCancel(context.Background())
	c.sub, err = nc.Subscribe(c.dialSubject(name), c.onDial)
	if err != nil {
		return nil, fmt.Errorf("aper/cluster: subscribe: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok { // FlushWithContext needs one
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		c.sub.Unsubscribe()
		return nil, fmt.Errorf("aper/cluster: subscribe: %w", err)
	}
	return c, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

func (c *Cluster) dialSubject(server string) string { return c.prefix + ".relay." + server }

// Name is the server's name in the cluster.
func (c *Cluster) Name() string { return c.name }

// Leases are the cluster's room leases, for what else needs to know who owns a room.
func (c *Cluster) Leases() *ajs.Leases { return c.leases }

// Campaign implements sync.Ownership: it takes the room's lease, and otherwise says who holds
// it. A lease this server still holds from a room that is ending is reported as a plain error,
// so that the client retries shortly rather than be relayed to this server.
func (c *Cluster) Campaign(ctx context.Context, room string) (apersync.Claim, error) {
	select {
	case <-c.closed:
		return nil, ErrClosed
	default:
	}
	l, err := c.leases.Acquire(ctx, room)
	var he *ajs.HeldError
	switch {
	case err == nil:
		return l, nil
	case errors.As(err, &he) && he.Holder == c.name:
		return nil, fmt.Errorf("aper/cluster: room %q is being handed over, try again", room)
	case errors.As(err, &he) && validName(he.Holder):
		return nil, &apersync.OwnerError{Room: room, Owner: he.Holder}
	case errors.As(err, &he):
		return nil, fmt.Errorf("aper/cluster: room %q: lease held by %q, not a server name", room, he.Holder)
	}
	return nil, err
}

// Headers of the relay protocol.
const (
	hdrReply = "Aper-Reply" // dial: the dialer's inbox
	hdrCodec = "Aper-Codec" // dial: the client's codec
	hdrFrom  = "Aper-From"  // dial: the dialing server
	hdrRoom  = "Aper-Room"  // dial: the room
	hdrN     = "Aper-N"     // every message: its number, 1, 2, 3, ... on each side
	hdrCtl   = "Aper-Ctl"   // "hb" a heartbeat, "close" the end; absent for data
	hdrMore  = "Aper-More"  // a part of a message that goes on in the next one
	hdrCall  = "Aper-Call"  // dial: a connection for one carried call (see forward.go)
)

// Dial implements sync.Ownership: it opens a relay connection to the server called owner.
func (c *Cluster) Dial(ctx context.Context, owner, room, codec string) (transport.Conn, error) {
	cn, err := c.dial(ctx, owner, room, codec, false)
	if err != nil {
		return nil, err // not a nil *conn in a non-nil interface
	}
	return cn, nil
}

// dial opens a connection to the server called owner: a relay connection, or one for a
// carried call.
func (c *Cluster) dial(ctx context.Context, owner, room, codec string, call bool) (*conn, error) {
	if !validName(owner) {
		return nil, fmt.Errorf("%w: server name %q", journal.ErrInvalid, owner)
	}
	select {
	case <-c.closed:
		return nil, ErrClosed
	default:
	}
	cn, err := c.newConn(codec, owner)
	if err != nil {
		return nil, err
	}
	rep, err := c.request(ctx, func() *nats.Msg {
		req := nats.NewMsg(c.dialSubject(owner))
		req.Header.Set(hdrReply, cn.in)
		req.Header.Set(hdrCodec, codec)
		req.Header.Set(hdrFrom, c.name)
		req.Header.Set(hdrRoom, room)
		if call {
			req.Header.Set(hdrCall, "1")
		}
		return req
	})
	if err == nil && len(rep.Data) == 0 {
		err = errors.New("refused")
	}
	if err != nil {
		cn.Close()
		return nil, fmt.Errorf("aper/cluster: dial server %q: %w", owner, err)
	}
	cn.start(string(rep.Data))
	return cn, nil
}

// noResponderWait is how long a dial tries again while no server answers on the owner's
// subject: the NATS server this one is connected to learns of a subscription on another node
// through the routes, so for a moment after the owner (or this server, or a route) starts, a
// request finds no responder although the owner is up. It is also how much later than before a
// dial to an owner that is gone (its lease not yet expired) fails.
const noResponderWait = time.Second

// request sends the request that msg makes and returns the reply. While there is no responder
// it asks again (a new message each time), for up to noResponderWait; then it returns
// nats.ErrNoResponders. If ctx ends meanwhile, the error matches both ctx's cause and
// nats.ErrNoResponders.
func (c *Cluster) request(ctx context.Context, msg func() *nats.Msg) (*nats.Msg, error) {
	until, pause := time.Now().Add(noResponderWait), 5*time.Millisecond
	for {
		rep, err := c.nc.RequestMsgWithContext(ctx, msg())
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().Add(pause).After(until) {
			return rep, err
		}
		if c.onNoResponders != nil {
			c.onNoResponders()
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		case <-c.closed:
			t.Stop()
			return nil, ErrClosed
		case <-t.C:
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// onDial answers a relay connection's dial: it makes the connection and queues it for Accept.
func (c *Cluster) onDial(m *nats.Msg) {
	peer := m.Header.Get(hdrReply)
	if peer == "" || m.Reply == "" {
		return
	}
	if m.Header.Get(hdrCall) != "" {
		c.onCall(m, peer)
		return
	}
	codec := m.Header.Get(hdrCodec)
	if codec != "cbor" && codec != "json" {
		m.Respond(nil)
		return
	}
	cn, err := c.newConn(codec, m.Header.Get(hdrFrom))
	if err != nil {
		m.Respond(nil)
		return
	}
	// The connection goes to Accept before the dialer hears of it, so that its first
	// message finds it subscribed; Accept takes it at once or the dial times out.
	select {
	case c.accept <- cn:
	case <-c.closed:
		cn.Close()
		m.Respond(nil)
		return
	case <-time.After(c.liveness):
		cn.Close()
		m.Respond(nil)
		return
	}
	cn.start(peer)
	if err := m.Respond([]byte(cn.in)); err != nil {
		cn.Close()
	}
}

// Listener returns the listener of the relay connections that other servers open to this one,
// to pass to the sync server's Serve. Closing it does not close the Cluster.
func (c *Cluster) Listener() transport.Listener {
	return &listener{c: c, closed: make(chan struct{})}
}

// Close leaves the cluster: it stops accepting relay connections and closes those still open.
// The rooms' leases are released by the sync server as its rooms end. It is idempotent.
func (c *Cluster) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.sub.Unsubscribe()
		c.connsMu.Lock()
		conns := make([]*conn, 0, len(c.conns))
		for cn := range c.conns {
			conns = append(conns, cn)
		}
		c.connsMu.Unlock()
		for _, cn := range conns {
			cn.Close()
		}
		c.calls.close()
	})
	return nil
}

type listener struct {
	c      *Cluster
	once   stdsync.Once
	closed chan struct{}
}

func (l *listener) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case cn := <-l.c.accept:
		return cn, nil
	case <-l.closed:
		return nil, ErrClosed
	case <-l.c.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (l *listener) Addr() net.Addr { return addr(l.c.dialSubject(l.c.name)) }

func (l *listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// addr is a relay listener's address: its dial subject.
type addr string

func (a addr) Network() string { return "nats" }
func (a addr) String() string  { return string(a) }
