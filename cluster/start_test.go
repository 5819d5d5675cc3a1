package cluster_test

import (
	"context"
	"fmt"
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
	"github.com/aper-go/aper/transport/memory"
)

// freeAddrs returns n addresses on 127.0.0.1 whose ports were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// TestFreshClusterStart: three members of a fresh cluster started at once, each routed to all
// three (as the README's three commands), create the same streams and buckets at the same
// moment, and each serves a room within a few seconds: 1.5 to 3 s on a loaded 2-core machine,
// about 6 s when the first election of JetStream's meta leader takes a second round. With
// concurrent creates that went unanswered, they did not within 20 s (aper serve's retries made
// that 20 to 30 s); the bound is only where the test gives up.
func TestFreshClusterStart(t *testing.T) {
	t.Parallel()
	const bound = 15 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	start := time.Now()
	fc := startAtOnce(ctx, t, nil)
	// A room joined through each member: one owns it, the others relay.
	var clients []*client
	for i := range 3 {
		c, err := apersync.Dial[counter, aper.CounterTransition](ctx, fc.net.Dialer(fmt.Sprintf("n%d", i)), "start",
			apersync.WithBackoff(10*time.Millisecond, 200*time.Millisecond))
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.Apply(add1))
		clients = append(clients, c)
	}
	for _, c := range clients {
		require.NoError(t, c.Sync(ctx), "no room served within %v of the start", bound)
	}
	t.Logf("a room joined through each member after %v", time.Since(start))
}

// freshCluster is a testCluster started by startAtOnce, with its members' journals.
type freshCluster struct {
	*testCluster
	journals []*ajs.Journal
}

// startAtOnce starts three members n0, n1, n2 of a fresh cluster at the same time, each with
// the server options opts gives it (opts may be nil), reached by their names on the memory
// network, and closed with the test.
func startAtOnce(ctx context.Context, t *testing.T, opts func(i int) []apersync.ServerOption) *freshCluster {
	t.Helper()
	addrs := freeAddrs(t, 3)
	fc := &freshCluster{
		testCluster: &testCluster{net: memory.NewNetwork(nil), members: make([]*member, 3), prefix: "APER"},
		journals:    make([]*ajs.Journal, 3),
	}
	t.Cleanup(func() { fc.net.Close() })
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 3 {
		name := fmt.Sprintf("n%d", i)
		var o []apersync.ServerOption
		if opts != nil {
			o = opts(i)
		}
		wg.Go(func() {
			var err error
			fc.members[i], fc.journals[i], err = startMember(ctx, t, fc.net, name, addrs[i], addrs, o...)
			if err != nil {
				t.Errorf("%s: %v after %v", name, err, time.Since(start))
				return
			}
			t.Logf("%s serves after %v", name, time.Since(start))
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return fc
}

// startMember starts an embedded node routed to all of routes and, on it, a journal, a
// Cluster (with startCluster's short lease and liveness) and a sync server with opts reached
// under name on mnet, all closed with the test.
func startMember(ctx context.Context, t *testing.T, mnet *memory.Network, name, listen string, routes []string, opts ...apersync.ServerOption) (*member, *ajs.Journal, error) {
	m := &member{name: name}
	var err error
	m.node, err = node.Start(ctx, node.Config{Name: name, DataDir: t.TempDir(), ClusterListen: listen, Routes: routes})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { m.node.Close() })
	if err := m.node.WaitJetStream(ctx); err != nil {
		return nil, nil, err
	}
	if m.nc, err = m.node.Connect(nats.MaxReconnects(-1)); err != nil {
		return nil, nil, err
	}
	t.Cleanup(m.nc.Close)
	if m.js, err = jetstream.New(m.nc); err != nil {
		return nil, nil, err
	}
	j, err := ajs.New(ctx, m.js, &ajs.Options{Replicas: 3})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { j.Close() })
	m.cl, err = cluster.New(ctx, m.nc, m.js, name, &cluster.Options{Replicas: 3, LeaseTTL: time.Second, Liveness: 600 * time.Millisecond})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { m.cl.Close() })
	m.srv, err = apersync.NewServer(func(context.Context, string) (counter, error) { return aper.NewCounter(0), nil },
		append([]apersync.ServerOption{apersync.WithJournal(j), apersync.WithOwnership(m.cl), apersync.WithRoomIdle(-1)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { m.srv.Close() })
	l, err := mnet.Listen(name)
	if err != nil {
		return nil, nil, err
	}
	srv, rl := m.srv, m.cl.Listener()
	go srv.Serve(context.Background(), l)
	go srv.Serve(context.Background(), rl)
	return m, j, nil
}
