package sync_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/websocket"
)

type (
	cmap   = aper.Map[string, *aper.Counter, aper.CounterTransition]
	cmt    = aper.MapTransition[string, *aper.Counter, aper.CounterTransition]
	client = apersync.Client[*cmap, cmt]
	server = apersync.Server[*cmap, cmt]
)

const waitLimit = 20 * time.Second

func add(n int64) aper.CounterTransition {
	return aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n}
}

var m *cmap // for the transition constructors, which do not read the map

func newMapServer(t testing.TB, opts ...apersync.ServerOption) *server {
	t.Helper()
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
		return aper.NewMap[string, *aper.Counter, aper.CounterTransition](), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// serve runs srv on l until the test ends.
func serve(t testing.TB, srv *server, l transport.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, apersync.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
}

// memoryServer starts a server on a fresh memory network.
func memoryServer(t testing.TB, netOpts *memory.Options, opts ...apersync.ServerOption) (*server, *memory.Network) {
	t.Helper()
	srv := newMapServer(t, opts...)
	return srv, onMemory(t, netOpts, srv)
}

// onMemory serves srv as "server" on a fresh memory network until the test ends.
func onMemory(t testing.TB, netOpts *memory.Options, srv *server) *memory.Network {
	t.Helper()
	n := memory.NewNetwork(netOpts)
	t.Cleanup(func() { n.Close() })
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv, l)
	return n
}

func dial(t testing.TB, d transport.Dialer, room string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := apersync.Dial[*cmap, cmt](ctx, d, room, apersync.WithBackoff(time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustApply(t testing.TB, c *client, tr cmt) {
	t.Helper()
	if err := c.Apply(tr); err != nil {
		t.Fatal(err)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// waitSeq waits until c has confirmed seq.
// waitSeq waits until c, a client of any state, has confirmed seq.
func waitSeq[S aper.StateMachine[S, T], T any](t testing.TB, c *apersync.Client[S, T], seq uint64) {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for c.Seq() < seq {
		select {
		case <-c.Changes():
		case <-timer.C:
			t.Fatalf("client %s stuck at seq %d, want %d (status %+v)", c.ID(), c.Seq(), seq, c.Status())
		}
	}
}

// quiesce waits until every client's transitions are resolved and every client holds the
// server's state, and checks that they are equal (by encoding). It returns the server's Seq.
func quiesce(t testing.TB, srv *server, room string, clients ...*client) uint64 {
	t.Helper()
	for _, c := range clients {
		if err := c.Sync(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	state, seq, err := srv.Snapshot(ctxT(t), room)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		waitSeq(t, c, seq)
		apertest.Equal(t, c.State(), state)
	}
	return seq
}

func TestOptimisticApplyThenConfirm(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	b := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	if x, ok := a.State().Get("x"); !ok || x.Value() != 1 {
		t.Fatal("the optimistic view lacks the transition just applied")
	}
	if a.Pending() != 1 && a.Seq() == 0 {
		t.Fatalf("pending %d", a.Pending())
	}
	seq := quiesce(t, srv, "r", a, b)
	if seq != 1 || a.Pending() != 0 {
		t.Fatalf("seq %d pending %d", seq, a.Pending())
	}
	// State is the caller's copy.
	st := a.State()
	st.Apply(aper.On(m.Set("y", aper.NewCounter(0))))
	if a.State().Has("y") {
		t.Fatal("changing State's result changed the client")
	}
}

func TestRejectionReachesOnlySender(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.DialerWith("server", &memory.DialOptions{From: "alice"}), "r")
	b := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("k", aper.NewCounter(1)))
	quiesce(t, srv, "r", a, b)

	// Both act on k concurrently; b's delete is ordered first, so a's update is rejected.
	n.Partition("alice", "server", memory.Hold)
	mustApply(t, a, m.Update("k", add(5)))
	mustApply(t, b, m.Delete("k"))
	if err := b.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	n.Heal("alice", "server")
	select {
	case rj := <-a.Rejections():
		if !errors.Is(rj.Conflict, conflict.ErrNotFound) || rj.Transition.Key != "k" {
			t.Fatalf("rejection %+v", rj)
		}
	case <-time.After(waitLimit):
		t.Fatal("no rejection")
	}
	seq := quiesce(t, srv, "r", a, b)
	if seq != 2 {
		t.Fatalf("seq %d: the rejected transition was ordered", seq)
	}
	if a.State().Has("k") {
		t.Fatal("a's view did not roll back")
	}
	select {
	case rj := <-b.Rejections():
		t.Fatalf("b got a's rejection %+v", rj)
	default:
	}
}

func TestApplyLocalConflictSendsNothing(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	if err := a.Apply(m.Delete("nothing")); !errors.Is(err, conflict.ErrNotFound) {
		t.Fatalf("Apply = %v", err)
	}
	if a.Pending() != 0 {
		t.Fatal("a local conflict is pending")
	}
	if seq := quiesce(t, srv, "r", a); seq != 0 {
		t.Fatalf("seq %d", seq)
	}
}

// The connection drops again and again while a client applies transitions; each is applied
// exactly once.
func TestReconnectMidPendingAppliesExactlyOnce(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.DialerWith("server", &memory.DialOptions{From: "alice"}), "r")
	b := dial(t, n.DialerWith("server", &memory.DialOptions{From: "bob"}), "r")
	mustApply(t, a, m.Set("a", aper.NewCounter(0)))
	mustApply(t, b, m.Set("b", aper.NewCounter(0)))
	quiesce(t, srv, "r", a, b)
	const rounds, per = 6, 40
	for r := range rounds {
		for i := range per {
			mustApply(t, a, m.Update("a", add(1)))
			mustApply(t, b, m.Update("b", add(1)))
			if i == per/2 {
				n.Disconnect("alice") // in the middle of a's pending transitions
			}
		}
		if r%2 == 1 {
			n.Disconnect("bob")
		}
	}
	quiesce(t, srv, "r", a, b)
	st := a.State()
	av, _ := st.Get("a")
	bv, _ := st.Get("b")
	if av.Value() != rounds*per || bv.Value() != rounds*per {
		t.Fatalf("a=%d b=%d, want %d each: a transition was lost or applied twice", av.Value(), bv.Value(), rounds*per)
	}
	if a.ID() == b.ID() || a.ID() == "" {
		t.Fatal("client ids")
	}
}

// A server-side cut after a given number of messages: the server has processed submits whose
// confirmations never reach the client.
func TestConfirmationsLostWithConnection(t *testing.T) {
	srv, n := memoryServer(t, &memory.Options{})
	a := dial(t, n.DialerWith("server", &memory.DialOptions{From: "alice"}), "r")
	mustApply(t, a, m.Set("a", aper.NewCounter(0)))
	quiesce(t, srv, "r", a)
	for _, c := range n.Conns() {
		if c.LocalName() == "server" {
			c.DisconnectAfter(3) // three more messages reach the server, then the cut
		}
	}
	for range 100 {
		mustApply(t, a, m.Update("a", add(1)))
	}
	quiesce(t, srv, "r", a)
	if v, _ := a.State().Get("a"); v.Value() != 100 {
		t.Fatalf("a=%d, want 100", v.Value())
	}
}

// A client away for longer than the resume log gets a snapshot and then re-sends what it
// applied while away.
func TestResumeAfterLogMovedOnUsesSnapshot(t *testing.T) {
	srv, n := memoryServer(t, nil, apersync.WithResumeLog(4))
	a := dial(t, n.DialerWith("server", &memory.DialOptions{From: "alice"}), "r")
	b := dial(t, n.DialerWith("server", &memory.DialOptions{From: "bob"}), "r")
	mustApply(t, a, m.Set("k", aper.NewCounter(0)))
	quiesce(t, srv, "r", a, b)

	n.Partition("alice", "server", memory.Drop)
	n.Disconnect("alice")
	waitStatus(t, a, apersync.Disconnected)
	for range 20 {
		mustApply(t, b, m.Update("k", add(1)))
	}
	mustApply(t, a, m.Update("k", add(1000))) // applied while away
	mustApply(t, a, m.Set("a", aper.NewCounter(1)))
	quiesce(t, srv, "r", b)
	n.Heal("alice", "server")
	seq := quiesce(t, srv, "r", a, b)
	if seq != 23 {
		t.Fatalf("seq %d, want 23", seq)
	}
	if v, _ := a.State().Get("k"); v.Value() != 1020 {
		t.Fatalf("k=%d, want 1020", v.Value())
	}
}

func waitStatus(t testing.TB, c *client, want apersync.ConnState) {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for c.Status().State != want {
		select {
		case <-c.StatusChanges():
		case <-timer.C:
			t.Fatalf("status %+v, want %v", c.Status(), want)
		}
	}
}

// scenario: five clients edit a Map of counters concurrently (with conflicting deletes), then
// quiescence: all equal to the server, and every transition confirmed or rejected exactly once.
func scenario(t *testing.T, srv *server, dialer func(i int) transport.Dialer) {
	const clients, ops = 5, 150
	var cs []*client
	for i := range clients {
		cs = append(cs, dial(t, dialer(i), "scenario"))
	}
	var (
		wg       stdsync.WaitGroup
		applied  [clients]int
		rejected [clients]atomic.Int64
		counted  stdsync.WaitGroup
		progress = make(chan struct{}, 1)
	)
	for i, c := range cs {
		counted.Add(1)
		go func() {
			defer counted.Done()
			for range c.Rejections() {
				rejected[i].Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for range ops {
				key := fmt.Sprint("k", rng.IntN(8))
				var tr cmt
				switch r := rng.IntN(10); {
				case r == 0:
					tr = m.Delete(key)
				case r == 1:
					tr = m.Set(key, aper.NewCounter(int64(rng.IntN(10))))
				default:
					tr = m.Update(key, add(int64(rng.IntN(5)+1)))
				}
				if c.Apply(tr) == nil {
					applied[i]++
				}
			}
		}()
	}
	wg.Wait()
	seq := quiesce(t, srv, "scenario", cs...)
	// Every rejection is delivered: wait for them before Close drops what is unread.
	total := func() (n, rj int) {
		for i := range clients {
			r := int(rejected[i].Load())
			n += applied[i] - r
			rj += r
		}
		return n, rj
	}
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for n, _ := total(); uint64(n) != seq; n, _ = total() {
		select {
		case <-progress:
		case <-timer.C:
			t.Fatalf("server seq %d, but %d applied minus rejected", seq, n)
		}
	}
	for _, c := range cs {
		c.Close()
	}
	counted.Wait()
	n, rj := total()
	if uint64(n) != seq {
		t.Fatalf("server seq %d, but %d applied minus rejected", seq, n)
	}
	t.Logf("%d transitions confirmed, %d rejected", seq, rj)
}

func TestScenarioMemory(t *testing.T) {
	srv, n := memoryServer(t, &memory.Options{Latency: time.Millisecond, Jitter: time.Millisecond, Seed: 1})
	scenario(t, srv, func(int) transport.Dialer { return n.Dialer("server") })
}

func TestScenarioWebSocket(t *testing.T) {
	srv := newMapServer(t)
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv, l)
	url := "ws://" + l.Addr().String()
	scenario(t, srv, func(i int) transport.Dialer {
		codec := "cbor"
		if i%2 == 0 {
			codec = "json" // both codecs in one room
		}
		return websocket.Dialer(url, &websocket.DialOptions{Codec: codec})
	})
}

func TestScenarioQUIC(t *testing.T) {
	srv := newMapServer(t)
	stls, ctls, err := quic.SelfSigned("localhost")
	if err != nil {
		t.Fatal(err)
	}
	l, err := quic.Listen("127.0.0.1:0", stls, nil)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv, l)
	scenario(t, srv, func(int) transport.Dialer { return quic.Dialer(l.Addr().String(), ctls, nil) })
}
