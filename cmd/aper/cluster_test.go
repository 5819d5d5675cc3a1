package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	ajs "github.com/aper-go/aper/journal/jetstream"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/websocket"
)

// freePorts returns n TCP ports on 127.0.0.1 that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ls []net.Listener
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return addrs
}

// clusterNode is one aper serve -cluster process of the test, which it kills and restarts.
type clusterNode struct {
	name, http, nats string
	args             []string
	proc             *proc
	down             atomic.Bool
}

// waitReady waits, longer than waitLine does (the first nodes wait for the others), for the
// process's ready line.
func (n *clusterNode) waitReady(t *testing.T) {
	t.Helper()
	rx := regexp.MustCompile(`^aper: ready`)
	deadline := time.After(90 * time.Second)
	for {
		select {
		case l := <-n.proc.lines:
			if rx.MatchString(l) {
				return
			}
		case <-n.proc.done:
			t.Fatalf("%s exited (%v) before it was ready:\n%s", n.name, n.proc.err, n.proc.output())
		case <-deadline:
			t.Fatalf("%s not ready in 90s:\n%s", n.name, n.proc.output())
		}
	}
}

// TestServeClusterKill runs three aper serve -cluster processes, clients on all of them
// writing to one room, and SIGKILLs the room's owner three times, restarting it each time. At
// the end every client has every transition it applied confirmed, and every replica holds the
// sum of all of them: none lost, none applied twice.
func TestServeClusterKill(t *testing.T) {
	const leaseTTL = 5 * time.Second // aper serve's default
	dir := t.TempDir()
	httpAddrs, clusterAddrs, natsAddrs := freePorts(t, 3), freePorts(t, 3), freePorts(t, 3)
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		n := &clusterNode{name: fmt.Sprintf("n%d", i), http: httpAddrs[i], nats: natsAddrs[i]}
		n.args = []string{"serve", "-cluster", "-name", n.name, "-http", n.http, "-quic", "",
			"-data", filepath.Join(dir, n.name), "-cluster-listen", clusterAddrs[i],
			"-nats-listen", n.nats, "-routes", strings.Join(clusterAddrs, ","), "-grace", "1s", "-lease-ttl", leaseTTL.String()}
		n.proc = start(t, dir, n.args...)
		nodes[i] = n
	}
	for _, n := range nodes {
		n.waitReady(t)
	}

	// The test watches the leases on its own NATS connection, to any node that is up.
	var urls []string
	for _, n := range nodes {
		urls = append(urls, "nats://"+n.nats)
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	leases, err := ajs.NewLeases(t.Context(), js, "test-observer", &ajs.LeaseOptions{TTL: leaseTTL, Replicas: 3})
	require.NoError(t, err)

	const room = "counter/crash"
	dialer := func(first int) transport.Dialer {
		return transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
			var err error
			for k := range nodes {
				n := nodes[(first+k)%len(nodes)]
				if n.down.Load() {
					continue
				}
				var c transport.Conn
				if c, err = websocket.Dialer("ws://"+n.http+wsPath, nil).Dial(ctx); err == nil {
					return c, nil
				}
			}
			return nil, fmt.Errorf("no node up: %w", err)
		})
	}
	type roomClient = apersync.Client[*rooms.Room, rooms.RoomTransition]
	var clients []*roomClient
	for i := range 6 {
		c, err := apersync.Dial[*rooms.Room, rooms.RoomTransition](t.Context(), dialer(i%3), room,
			apersync.WithBackoff(20*time.Millisecond, 300*time.Millisecond), apersync.WithPingInterval(300*time.Millisecond),
			apersync.WithDialRetry(nil))
		require.NoError(t, err)
		defer c.Close()
		clients = append(clients, c)
	}

	// Every client writes until told to stop, a Sync every few transitions.
	var applied atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt() // on a failure too, so that no writer outlives the test
	for _, c := range clients {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				tr, err := rooms.Parse(rooms.Counter, c.State(), "add 1")
				if !assert.NoError(t, err) {
					return
				}
				if c.Apply(tr) == nil {
					applied.Add(1)
				}
				if n%5 == 4 {
					ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
					assert.NoError(t, c.Sync(ctx))
					cancel()
				}
			}
		})
	}
	// progress waits until the room has confirmed more transitions after the last look.
	confirmed := func() uint64 {
		var top uint64
		for _, c := range clients {
			top = max(top, c.Seq())
		}
		return top
	}
	progress := func(more uint64) {
		t.Helper()
		want := confirmed() + more
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		for confirmed() < want {
			select {
			case <-clients[0].Changes():
			case <-ctx.Done():
				t.Fatalf("the room stalled at Seq %d, want %d", confirmed(), want)
			}
		}
	}
	owner := func() *clusterNode {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		for {
			holder, ok, err := leases.Holder(ctx, room)
			if err == nil && ok {
				for _, n := range nodes {
					if n.name == holder && !n.down.Load() {
						return n
					}
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("no owner up for %s: %q, %v", room, holder, err)
			case <-clients[0].Changes(): // ownership moves as the room is served
			}
		}
	}

	// The times a client saw the room's Seq grow at, for the pause each kill caused: logged
	// for the figures, not asserted.
	watchDone := make(chan struct{})
	var (
		confirmedMu sync.Mutex
		confirms    []time.Time
		seen        uint64
	)
	for _, c := range clients {
		wg.Go(func() {
			for {
				select {
				case <-watchDone:
					return
				case <-c.Changes():
				}
				confirmedMu.Lock()
				if seq := c.Seq(); seq > seen {
					confirms = append(confirms, time.Now())
					seen = seq
				}
				confirmedMu.Unlock()
			}
		})
	}
	// pause is the longest time between two confirmations from the last one before at on.
	pause := func(at time.Time) time.Duration {
		confirmedMu.Lock()
		defer confirmedMu.Unlock()
		i, _ := slices.BinarySearchFunc(confirms, at, time.Time.Compare)
		var p time.Duration
		for i = max(i, 1); i < len(confirms); i++ {
			p = max(p, confirms[i].Sub(confirms[i-1]))
		}
		return p
	}
	// leader names the node that leads a stream: the room's (the FNV-1a hash of its name
	// picks one of the journal's three) or the lease bucket's.
	roomStream := func() string {
		h := fnv.New32a()
		h.Write([]byte(room))
		return fmt.Sprintf("APER_LOG_%d", h.Sum32()%3)
	}()
	leader := func(stream string) string {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return "?"
		}
		if info, err := s.Info(ctx); err == nil && info.Cluster != nil {
			return info.Cluster.Leader
		}
		return "?"
	}
	var longest time.Duration
	stopWatch := sync.OnceFunc(func() { close(watchDone) })
	defer stopWatch()

	progress(50)
	// Three rounds kill the room's owner, the last one a node that does not own it (whose
	// clients are relayed, and which may lead the room's stream).
	for round := range 4 {
		n, what := owner(), "the owner"
		if round == 3 {
			for _, m := range nodes {
				if m != n {
					n, what = m, "not the owner"
					break
				}
			}
		}
		streamLeader, leaseLeader := leader(roomStream), leader("KV_APER_LEASE")
		t.Logf("round %d: SIGKILL %s, %s, at Seq %d", round, n.name, what, confirmed())
		n.down.Store(true)
		killed := time.Now()
		require.NoError(t, n.proc.cmd.Process.Kill())
		<-n.proc.done
		progress(50)
		p := pause(killed)
		if round < 3 {
			longest = max(longest, p)
		}
		t.Logf("round %d: pause %v; the killed node (%s) led the room's stream: %v, the lease bucket: %v",
			round, p.Round(time.Millisecond), what, streamLeader == n.name, leaseLeader == n.name)
		n.proc = start(t, dir, n.args...)
		n.waitReady(t)
		n.down.Store(false)
		progress(20)
	}
	stopWatch()
	halt()

	want := applied.Load()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, c := range clients {
		require.NoError(t, c.Sync(ctx))
	}
	top := confirmed()
	for _, c := range clients {
		for c.Seq() < top {
			select {
			case <-c.Changes():
			case <-ctx.Done():
				t.Fatalf("client at Seq %d, want %d", c.Seq(), top)
			}
		}
		select {
		case r := <-c.Rejections():
			t.Errorf("rejection: %v", r.Err)
		default:
		}
		assert.Equal(t, want, c.State().Counter.Value(), "client %s", c.ID())
	}
	assert.Equal(t, uint64(want), top, "one Seq per transition applied")
	t.Logf("%d transitions, 3 owners killed; longest pause without a confirmation: %v", want, longest.Round(time.Millisecond))
}
