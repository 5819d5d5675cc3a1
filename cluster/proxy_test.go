package cluster_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cluster"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/jetstream/node"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

// proxy forwards the TCP connections made to its address to its target's. Cut closes every
// connection it carries and refuses new ones until Heal: a network link that the test breaks.
type proxy struct {
	l  net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	target string
	cut    bool
	conns  map[net.Conn]struct{}
}

func newProxy(t testing.TB) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{l: l, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

// setTarget sets the address the proxy forwards to; until then it refuses connections.
func (p *proxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

func (p *proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target, ok := p.target, !p.cut && p.target != ""
		p.mu.Unlock()
		if !ok {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.forward(c, target) })
	}
}

// track registers c, or closes it and reports false if the link is cut.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

// forward copies both ways between c and a connection to target until either side ends.
func (p *proxy) forward(c net.Conn, target string) {
	if !p.track(c) {
		return
	}
	u, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		p.untrack(c)
		return
	}
	if !p.track(u) {
		p.untrack(c)
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(u, c)
		p.untrack(c, u)
		close(done)
	}()
	io.Copy(c, u)
	p.untrack(c, u)
	<-done
}

// Cut closes the connections the proxy carries and refuses new ones until heal.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Heal lets connections through again.
func (p *proxy) Heal() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.l.Close()
	p.Cut()
	p.wg.Wait()
}

// netCluster is a testCluster whose members' cluster routes go through proxies: links[i][j]
// carries the routes member i opens to member j. Each member advertises an address where
// nothing listens, so that a member cannot learn another's own address and route around a
// cut link. Clients reach members on the memory network, but only those on their home
// member's side of a partition (see dialer).
type netCluster struct {
	*testCluster
	links [][]*proxy

	mu       sync.Mutex
	isolated map[int]bool
}

// clusterOptions are the options of every member's journal and Cluster.
type clusterOptions struct {
	leaseTTL time.Duration
	timeout  time.Duration // the journal's per-request timeout
}

// startNetCluster starts three members with R3 streams and buckets whose routes go through
// proxies. They are closed with the test.
func startNetCluster(t testing.TB, co clusterOptions) *netCluster {
	t.Helper()
	const n = 3
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	nc := &netCluster{
		testCluster: &testCluster{net: memory.NewNetwork(nil), prefix: fmt.Sprintf("P%d", prefixes.Add(1))},
		isolated:    make(map[int]bool),
	}
	t.Cleanup(func() { nc.net.Close() })
	nowhere := nowhereAddr(t)
	for i := range n {
		nc.links = append(nc.links, make([]*proxy, n))
		for j := range n {
			if i != j {
				nc.links[i][j] = newProxy(t)
			}
		}
	}
	for i := range n {
		cfg := node.Config{Name: fmt.Sprintf("n%d", i), DataDir: t.TempDir(), ClusterListen: "127.0.0.1:0", ClusterAdvertise: nowhere}
		for j := range n {
			if i != j {
				cfg.Routes = append(cfg.Routes, nc.links[i][j].addr())
			}
		}
		nd, err := node.Start(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { nd.Close() })
		for j := range n {
			if i != j {
				nc.links[j][i].setTarget(nd.ClusterAddr().String())
			}
		}
		nc.members = append(nc.members, &member{name: cfg.Name, node: nd})
	}
	for _, m := range nc.members {
		require.NoError(t, m.node.WaitJetStream(ctx))
	}
	if co.leaseTTL == 0 {
		co.leaseTTL = time.Second
	}
	if co.timeout == 0 {
		co.timeout = 2 * time.Second
	}
	for _, m := range nc.members {
		var err error
		m.nc, err = m.node.Connect(nats.MaxReconnects(-1))
		require.NoError(t, err)
		t.Cleanup(m.nc.Close)
		m.js, err = jetstream.New(m.nc)
		require.NoError(t, err)
		// The members create the same streams at once: an attempt may go unanswered.
		var j *ajs.Journal
		require.Eventually(t, func() bool {
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if j == nil {
				j, err = ajs.New(actx, m.js, &ajs.Options{Prefix: nc.prefix, Replicas: n, Streams: 1, Timeout: co.timeout})
			}
			if j != nil && m.cl == nil {
				m.cl, err = cluster.New(actx, m.nc, m.js, m.name, &cluster.Options{
					Prefix: nc.prefix, LeaseTTL: co.leaseTTL, Replicas: n, Liveness: 600 * time.Millisecond,
				})
			}
			return err == nil
		}, 50*time.Second, 100*time.Millisecond, "journal and cluster of %s: %v", m.name, err)
		t.Cleanup(func() { j.Close() })
		t.Cleanup(func() { m.cl.Close() })
		// No snapshots: a room reloaded from one cannot tell a returning client the outcome
		// of a transition that the snapshot covers and whose confirmation the cut lost
		// (ErrOutcomeUnknown, the documented rare case), which would blur the accounting.
		m.srv, err = apersync.NewServer(func(context.Context, string) (counter, error) { return aper.NewCounter(0), nil },
			apersync.WithJournal(j), apersync.WithOwnership(m.cl), apersync.WithRoomIdle(-1), apersync.WithSnapshotEvery(0))
		require.NoError(t, err)
		t.Cleanup(func() { m.srv.Close() })
		l, err := nc.net.Listen(m.name)
		require.NoError(t, err)
		srv, rl := m.srv, m.cl.Listener()
		go srv.Serve(context.Background(), l)
		go srv.Serve(context.Background(), rl)
	}
	return nc
}

// nowhereAddr returns a loopback address where nothing listens (one that was free a moment
// ago).
func nowhereAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// isolate cuts member k off from the others, both ways.
func (nc *netCluster) isolate(k int) {
	nc.mu.Lock()
	nc.isolated[k] = true
	nc.mu.Unlock()
	for j := range nc.members {
		if j != k {
			nc.links[k][j].Cut()
			nc.links[j][k].Cut()
		}
	}
}

// heal restores every link.
func (nc *netCluster) heal() {
	nc.mu.Lock()
	clear(nc.isolated)
	nc.mu.Unlock()
	for _, row := range nc.links {
		for _, p := range row {
			if p != nil {
				p.Heal()
			}
		}
	}
}

// reachable reports whether member i can reach member j.
func (nc *netCluster) reachable(i, j int) bool {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	return i == j || !nc.isolated[i] && !nc.isolated[j]
}

// dialer reaches member home, else another that home's side of a partition reaches and that
// is up: a client sits beside its home member.
func (nc *netCluster) dialer(home int) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		var err error = fmt.Errorf("no server reachable from %s", nc.members[home].name)
		for k := range len(nc.members) {
			i := (home + k) % len(nc.members)
			m := nc.members[i]
			if m.down.Load() || !nc.reachable(home, i) {
				continue
			}
			var c transport.Conn
			if c, err = nc.net.Dial(ctx, m.name); err == nil {
				return c, nil
			}
		}
		return nil, err
	})
}

func (nc *netCluster) dial(t testing.TB, home int, room string) *client {
	t.Helper()
	// The pings are slow enough that a client stays on a server whose room waits for the
	// journal (a few of its timeouts), and so gets what that room then confirms.
	c, err := apersync.Dial[counter, aper.CounterTransition](t.Context(), nc.dialer(home), room,
		apersync.WithBackoff(10*time.Millisecond, 200*time.Millisecond), apersync.WithPingInterval(5*time.Second),
		apersync.WithDialRetry(nil))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// holder returns the holder of room's lease as member i sees it, "" if none or on an error.
func (nc *netCluster) holder(ctx context.Context, i int, room string) string {
	h, ok, err := nc.members[i].cl.Leases().Holder(ctx, room)
	if err != nil || !ok {
		return ""
	}
	return h
}

// streamLeader returns the name of the member that leads the stream of the journal's rooms
// (the cluster's journal has one), as member i sees it.
func (nc *netCluster) streamLeader(ctx context.Context, i int) string {
	return nc.leader(ctx, i, nc.prefix+"_LOG_0")
}

// leaseLeader returns the name of the member that leads the lease bucket's stream.
func (nc *netCluster) leaseLeader(ctx context.Context, i int) string {
	return nc.leader(ctx, i, "KV_"+nc.prefix+"_LEASE")
}

func (nc *netCluster) leader(ctx context.Context, i int, stream string) string {
	s, err := nc.members[i].js.Stream(ctx, stream)
	if err != nil {
		return ""
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// lead makes member name the leader of stream, by asking the stream's leader to step down in
// its favour, and waits until it leads; member via asks and looks.
func (nc *netCluster) lead(t testing.TB, via int, stream, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	asked := "" // the leader asked to step down
	for {
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
		l := nc.leader(qctx, via, stream)
		qcancel()
		if l == name {
			return
		}
		if l != "" && l != asked {
			// The answer comes before the new leader is elected; the loop waits for it.
			req := fmt.Sprintf(`{"placement":{"preferred":%q}}`, name)
			if _, err := nc.members[via].nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, []byte(req)); err == nil {
				asked = l
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s does not lead stream %s: %s does", name, stream, l)
		case <-tick.C:
		}
	}
}

// metaLeader returns the name of the member that leads the JetStream meta group (which
// creates consumers, such as a room's reader), among the members that are not cut off.
func (nc *netCluster) metaLeader(context.Context) string {
	nc.mu.Lock()
	isolated := maps.Clone(nc.isolated)
	nc.mu.Unlock()
	for i, m := range nc.members {
		if !isolated[i] && m.node.Server().JetStreamIsLeader() {
			return m.name
		}
	}
	return ""
}
