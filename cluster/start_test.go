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
// moment, and each serves a room within a few seconds. They took about 20 s when every
// member's create of a stream went unanswered until its attempt timed out; the bound below is
// only where the test gives up, far above the 2 to 3 s they take on a loaded machine.
func TestFreshClusterStart(t *testing.T) {
	const bound = 10 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	addrs := freeAddrs(t, 3)
	mnet := memory.NewNetwork(nil)
	t.Cleanup(func() { mnet.Close() })
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 3 {
		name := fmt.Sprintf("n%d", i)
		wg.Go(func() {
			err := startMember(ctx, t, mnet, name, addrs[i], addrs)
			if err != nil {
				t.Errorf("%s: %v after %v", name, err, time.Since(start))
				return
			}
			t.Logf("%s serves after %v", name, time.Since(start))
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// A room joined through each member: one owns it, the others relay.
	var clients []*client
	for i := range 3 {
		c, err := apersync.Dial[counter, aper.CounterTransition](ctx, mnet.Dialer(fmt.Sprintf("n%d", i)), "start",
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

// startMember starts an embedded node routed to all of routes and, on it, a journal, a
// Cluster and a sync server reached under name on net, all closed with the test.
func startMember(ctx context.Context, t *testing.T, mnet *memory.Network, name, listen string, routes []string) error {
	nd, err := node.Start(ctx, node.Config{Name: name, DataDir: t.TempDir(), ClusterListen: listen, Routes: routes})
	if err != nil {
		return err
	}
	t.Cleanup(func() { nd.Close() })
	if err := nd.WaitJetStream(ctx); err != nil {
		return err
	}
	nc, err := nd.Connect(nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	j, err := ajs.New(ctx, js, &ajs.Options{Replicas: 3})
	if err != nil {
		return err
	}
	t.Cleanup(func() { j.Close() })
	cl, err := cluster.New(ctx, nc, js, name, &cluster.Options{Replicas: 3})
	if err != nil {
		return err
	}
	t.Cleanup(func() { cl.Close() })
	srv, err := apersync.NewServer(func(context.Context, string) (counter, error) { return aper.NewCounter(0), nil },
		apersync.WithJournal(j), apersync.WithOwnership(cl))
	if err != nil {
		return err
	}
	t.Cleanup(func() { srv.Close() })
	l, err := mnet.Listen(name)
	if err != nil {
		return err
	}
	go srv.Serve(context.Background(), l)
	go srv.Serve(context.Background(), cl.Listener())
	return nil
}
