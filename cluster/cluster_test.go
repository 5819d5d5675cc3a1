package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cluster"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/jetstream/node"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

type (
	counter = *aper.Counter
	client  = apersync.Client[counter, aper.CounterTransition]
	server  = apersync.Server[counter, aper.CounterTransition]
)

var add1 = aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}

// member is one server of the test's cluster: an embedded NATS node, and on it a journal, a
// Cluster and a sync server, which clients reach on the memory network under its name.
type member struct {
	name string
	node *node.Node
	nc   *nats.Conn
	js   jetstream.JetStream
	cl   *cluster.Cluster
	srv  *server
	down atomic.Bool
}

// kill stops the member abruptly: its NATS node first (so that its leases are not released
// and its relays hear nothing), then its server.
func (m *member) kill() {
	m.down.Store(true)
	m.node.Close()
	m.srv.Close()
	m.cl.Close()
	m.nc.Close()
}

type testCluster struct {
	net     *memory.Network
	members []*member
	prefix  string
}

var prefixes atomic.Int64

// startCluster starts n members with streams and buckets of min(n, 3) replicas on loopback. They are closed
// with the test.
func startCluster(t testing.TB, n int, wrap func(i int, o apersync.Ownership) apersync.Ownership) *testCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tc := &testCluster{net: memory.NewNetwork(nil), prefix: fmt.Sprintf("C%d", prefixes.Add(1))}
	t.Cleanup(func() { tc.net.Close() })
	var seed string
	for i := range n {
		cfg := node.Config{Name: fmt.Sprintf("n%d", i), DataDir: t.TempDir()}
		if n > 1 {
			cfg.ClusterListen = "127.0.0.1:0"
		}
		if seed != "" {
			cfg.Routes = []string{seed}
		}
		nd, err := node.Start(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { nd.Close() })
		if seed == "" {
			seed = nd.ClusterAddr().String()
		}
		tc.members = append(tc.members, &member{name: cfg.Name, node: nd})
	}
	for _, m := range tc.members {
		require.NoError(t, m.node.WaitJetStream(ctx))
	}
	for i, m := range tc.members {
		var err error
		m.nc, err = m.node.Connect(nats.MaxReconnects(-1))
		require.NoError(t, err)
		t.Cleanup(m.nc.Close)
		m.js, err = jetstream.New(m.nc)
		require.NoError(t, err)
		j, err := ajs.New(ctx, m.js, &ajs.Options{Prefix: tc.prefix, Replicas: min(n, 3), Streams: 1, Timeout: 3 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { j.Close() })
		m.cl, err = cluster.New(ctx, m.nc, m.js, m.name, &cluster.Options{
			Prefix: tc.prefix, LeaseTTL: time.Second, Replicas: min(n, 3), Liveness: 600 * time.Millisecond,
		})
		require.NoError(t, err)
		t.Cleanup(func() { m.cl.Close() })
		var own apersync.Ownership = m.cl
		if wrap != nil {
			own = wrap(i, own)
		}
		m.srv, err = apersync.NewServer(func(context.Context, string) (counter, error) { return aper.NewCounter(0), nil },
			apersync.WithJournal(j), apersync.WithOwnership(own), apersync.WithRoomIdle(-1))
		require.NoError(t, err)
		t.Cleanup(func() { m.srv.Close() })
		l, err := tc.net.Listen(m.name)
		require.NoError(t, err)
		srv, rl := m.srv, m.cl.Listener()
		go srv.Serve(context.Background(), l)
		go srv.Serve(context.Background(), rl)
	}
	return tc
}

// dialer reaches member first, else the next one that is up.
func (tc *testCluster) dialer(first int) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		var err error
		for k := range len(tc.members) {
			m := tc.members[(first+k)%len(tc.members)]
			if m.down.Load() {
				continue
			}
			var c transport.Conn
			if c, err = tc.net.Dial(ctx, m.name); err == nil {
				return c, nil
			}
		}
		return nil, fmt.Errorf("no server up: %w", err)
	})
}

func (tc *testCluster) dial(t testing.TB, first int, room string) *client {
	t.Helper()
	c, err := apersync.Dial[counter, aper.CounterTransition](t.Context(), tc.dialer(first), room,
		apersync.WithBackoff(10*time.Millisecond, 200*time.Millisecond), apersync.WithPingInterval(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// owner returns the index of the member that holds room's lease.
// dropLease removes room's lease from the bucket behind its holder's back, as if it expired
// while the holder was paused.
func (tc *testCluster) dropLease(t *testing.T, room string) {
	t.Helper()
	kv, err := tc.members[1].js.KeyValue(t.Context(), tc.prefix+"_LEASE")
	require.NoError(t, err)
	require.NoError(t, kv.Purge(t.Context(), "r"+room))
}

func (tc *testCluster) owner(t *testing.T, room string) int {
	t.Helper()
	for _, m := range tc.members {
		if m.down.Load() {
			continue
		}
		h, ok, err := m.cl.Leases().Holder(t.Context(), room)
		require.NoError(t, err)
		require.True(t, ok, "room %q has no owner", room)
		for i, o := range tc.members {
			if o.name == h {
				return i
			}
		}
		t.Fatalf("room %q: unknown holder %q", room, h)
	}
	t.Fatal("no member up")
	return -1
}

// settle waits until every client has every transition it applied confirmed, and until all
// are at the same Seq; it fails on a rejection.
func settle(t testing.TB, clients []*client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, c := range clients {
		require.NoError(t, c.Sync(ctx))
		select {
		case r := <-c.Rejections():
			t.Fatalf("rejection: %v", r.Err)
		default:
		}
	}
	// Each client's Seq reaches the highest: the others' confirmations arrive in order.
	var top uint64
	for _, c := range clients {
		top = max(top, c.Seq())
	}
	for _, c := range clients {
		for c.Seq() < top {
			select {
			case <-c.Changes():
			case <-ctx.Done():
				t.Fatalf("client at Seq %d, want %d", c.Seq(), top)
			}
		}
	}
}

// TestCluster runs a three-member cluster's cases one after the other; the last one kills a
// member.
func TestCluster(t *testing.T) {
	t.Parallel() // mostly waits for elections and leases: overlapped with the other long tests
	tc := startCluster(t, 3, nil)

	t.Run("Converge", func(t *testing.T) {
		var clients []*client
		for i := range 6 {
			clients = append(clients, tc.dial(t, i%3, "converge"))
		}
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(func() {
				for range 40 {
					assert.NoError(t, c.Apply(add1))
				}
			})
		}
		wg.Wait()
		settle(t, clients)
		for _, c := range clients {
			assert.Equal(t, int64(240), c.State().Value())
		}
		// One member orders the room; every member's Snapshot is its state (see
		// TestNonOwner).
		for _, m := range tc.members {
			st, _, err := m.srv.Snapshot(t.Context(), "converge")
			if assert.NoError(t, err) {
				assert.Equal(t, int64(240), st.Value())
			}
		}
	})

	t.Run("OwnerKilled", func(t *testing.T) {
		const room = "failover"
		var clients []*client
		for i := range 6 {
			clients = append(clients, tc.dial(t, i%3, room))
		}
		require.NoError(t, clients[0].Apply(add1))
		settle(t, clients)
		own := tc.owner(t, room)

		// Every client writes; the owner dies in the middle.
		const each = 60
		var wg sync.WaitGroup
		var applied atomic.Int64
		killAt := make(chan struct{})
		for k, c := range clients {
			wg.Go(func() {
				for n := range each {
					if n == each/3 && k == 0 {
						close(killAt)
					}
					assert.NoError(t, c.Apply(add1))
					applied.Add(1)
					if n%10 == 0 {
						ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
						assert.NoError(t, c.Sync(ctx))
						cancel()
					}
				}
			})
		}
		<-killAt
		tc.members[own].kill()
		wg.Wait()
		settle(t, clients)
		want := 1 + int64(len(clients)*each)
		for _, c := range clients {
			assert.Equal(t, want, c.State().Value(), "client %s", c.ID())
		}
		assert.NotEqual(t, own, tc.owner(t, room))
	})
}

// fenceless keeps the claims it hands out from ever reporting a loss, as a server paused
// past its lease would: its room goes on as if it owned it until the journal fences it off.
type fenceless struct{ apersync.Ownership }

func (f fenceless) Campaign(ctx context.Context, room string) (apersync.Claim, error) {
	c, err := f.Ownership.Campaign(ctx, room)
	if err != nil {
		return nil, err
	}
	return blindClaim{c}, nil
}

type blindClaim struct{ apersync.Claim }

func (blindClaim) Lost() <-chan struct{} { return nil }

// TestStaleOwnerFenced: an owner that missed the loss of its lease is fenced off by the
// journal at its next append; its room stops and its clients come back relayed to the new
// owner, with every transition applied once.
func TestStaleOwnerFenced(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, func(i int, o apersync.Ownership) apersync.Ownership {
		if i == 0 {
			return fenceless{o}
		}
		return o
	})
	const room = "fenced"
	a := tc.dial(t, 0, room)
	require.NoError(t, a.Apply(add1))
	settle(t, []*client{a})
	require.Equal(t, 0, tc.owner(t, room))

	// Member 0's lease is gone (as if it expired while member 0 was paused): the next client,
	// on member 1, makes member 1 the owner, which appends.
	tc.dropLease(t, room)
	b := tc.dial(t, 1, room)
	require.NoError(t, b.Apply(add1))
	settle(t, []*client{b})
	require.Equal(t, 1, tc.owner(t, room))
	require.Equal(t, int64(2), b.State().Value())

	// Member 0 still serves a and appends its next transition on an old expectation: refused.
	// a reconnects to member 0, which now relays it to member 1.
	require.NoError(t, a.Apply(add1))
	require.NoError(t, b.Apply(add1))
	settle(t, []*client{a, b})
	assert.Equal(t, int64(4), a.State().Value())
	assert.Equal(t, int64(4), b.State().Value())
	assert.Equal(t, 1, tc.owner(t, room))
	_, _, err := tc.members[0].srv.Snapshot(t.Context(), room)
	var oe *apersync.OwnerError
	require.True(t, errors.As(err, &oe), "member 0 serves the room: %v", err)
	assert.Equal(t, "n1", oe.Owner)
}

// waitPresence waits until c sees n other clients' presence values.
func waitPresence(t *testing.T, c *client, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for len(c.Presence()) != n {
		select {
		case <-c.PresenceChanges():
		case <-ctx.Done():
			t.Fatalf("%d presence values, want %d", len(c.Presence()), n)
		}
	}
}

// TestRelayMemberKilled: when a member that relays a client to the owner dies, the owner
// notices within the relay's liveness (not the connection timeout, 45 s), so the client's
// presence leaves the room at once; the client, reconnected elsewhere, is back in it.
func TestRelayMemberKilled(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	const room = "presence"
	a := tc.dial(t, 0, room)
	require.NoError(t, a.Apply(add1))
	settle(t, []*client{a})
	require.Equal(t, 0, tc.owner(t, room))
	// b reaches member 1, which relays it; a, on the owner, watches.
	b := tc.dial(t, 1, room)
	require.NoError(t, b.SetPresence("b"))
	waitPresence(t, a, 1)

	// b's own pings would take it elsewhere within a second; a silent client (as one whose
	// network went with its server) shows what the owner notices by itself.
	tc.members[1].kill()
	b.Close()
	waitPresence(t, a, 0)
	require.NoError(t, a.Apply(add1))
	settle(t, []*client{a})
	assert.Equal(t, int64(2), a.State().Value())
}

// TestLeaseLost: when the owner's lease is lost (here, deleted under it), the owner stops the
// room and ends its connections with a non-fatal reason that names the move; the client
// reconnects, and carries on with nothing lost.
func TestLeaseLost(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	const room = "lost"
	a := tc.dial(t, 0, room)
	require.NoError(t, a.Apply(add1))
	settle(t, []*client{a})
	require.Equal(t, 0, tc.owner(t, room))

	tc.dropLease(t, room)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for a.Status().State == apersync.Connected {
		select {
		case <-a.StatusChanges():
		case <-ctx.Done():
			t.Fatal("the client stayed connected to a room whose owner lost its lease")
		}
	}
	assert.ErrorContains(t, a.Status().Err, "moved to another server")
	require.NoError(t, a.Apply(add1))
	settle(t, []*client{a})
	assert.Equal(t, int64(2), a.State().Value())
}
