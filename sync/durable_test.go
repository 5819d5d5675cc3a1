package sync_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/websocket"
)

// startGame runs a game server with journal j on network n under the name "server", until stop.
func startGame(t testing.TB, n *memory.Network, initial func() *game, opts ...apersync.ServerOption) (srv *gameServer, stop func()) {
	t.Helper()
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*game, error) {
		return initial(), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			srv.Close()
			<-done
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

// A server restarted on the same journal rebuilds the room (state, Seq, each client's processed
// local seqs): a client resumes from its Seq out of the journal, and its transitions are applied
// exactly once. A rejected transition is never journaled.
func TestJournalRestartResumesExactlyOnce(t *testing.T) {
	j := journal.NewMemory()
	defer j.Close()
	n := memory.NewNetwork(nil)
	defer n.Close()
	nope := apersync.WithPermission(func(id apersync.Identity, room string, g *game, t gameT) error {
		if t.Text == "nope" {
			return errors.New("no")
		}
		return nil
	})
	srv1, stop1 := startGame(t, n, func() *game { return &game{} }, apersync.WithJournal(j), nope)
	a := dialGame(t, n.DialerWith("server", &memory.DialOptions{From: "a"}), "g")
	b := dialGame(t, n.DialerWith("server", &memory.DialOptions{From: "b"}), "g")
	for i := range 10 {
		if err := a.Apply(gameT{Op: "say", Text: "a" + string(rune('0'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	a.Apply(gameT{Op: "say", Text: "nope"}) // rejected: never journaled
	if err := a.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	<-a.Rejections()
	g1, seq1 := gameState(t, srv1, "g")
	last, _ := j.Last(ctxT(t), "g")
	if last != seq1 {
		t.Fatalf("journal at %d, room at %d", last, seq1)
	}

	// a's connection is cut while it has transitions in flight, and the server goes away.
	n.Partition("a", "server", memory.Drop)
	for i := range 5 {
		a.Apply(gameT{Op: "say", Text: "late" + string(rune('0'+i))})
	}
	waitSeq(t, b, seq1)
	n.Partition("b", "server", memory.Drop) // b stays away until the successor has moved on
	stop1()

	// The successor keeps one transition in memory: b resumes from the journal.
	srv2, _ := startGame(t, n, func() *game { return &game{} }, apersync.WithJournal(j), apersync.WithResumeLog(1))
	c := dialGame(t, n.Dialer("server"), "g")
	for i := range 3 {
		c.Apply(gameT{Op: "say", Text: "c" + string(rune('0'+i))})
	}
	if err := c.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	n.HealAll()
	n.Disconnect("a") // the closes of their old connections were lost with the partitions
	n.Disconnect("b")
	if err := a.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	g2, seq2 := gameState(t, srv2, "g")
	if !slices.Equal(g2.Log[:len(g1.Log)], g1.Log) {
		t.Fatalf("the log before the restart changed: %v, was %v", g2.Log, g1.Log)
	}
	for _, want := range []string{"late0", "late4", "c2", "a9"} {
		if k := countSuffix(g2.Log, ":"+want); k != 1 {
			t.Fatalf("%s applied %d times: %v", want, k, g2.Log)
		}
	}
	waitSeq(t, a, seq2)
	waitSeq(t, b, seq2)
	waitSeq(t, c, seq2)
	for _, cl := range []*gameClient{a, b, c} {
		if got := cl.State().Log; !slices.Equal(got, g2.Log) {
			t.Fatalf("client %s: %v, server %v", cl.ID(), got, g2.Log)
		}
	}
}

func countSuffix(log []string, suffix string) int {
	k := 0
	for _, l := range log {
		if strings.HasSuffix(l, suffix) {
			k++
		}
	}
	return k
}

// A timer that became due while the server was down fires once when the room is rebuilt, and
// not again after another restart.
func TestTimerOverdueAfterRestartFiresOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := journal.NewMemory()
		defer j.Close()
		n := memory.NewNetwork(nil)
		defer n.Close()
		start := time.Now()
		initial := func() *game { return &game{Deadline: start.Add(10 * time.Second)} }
		opts := []apersync.ServerOption{apersync.WithJournal(j), apersync.WithSnapshotEvery(2)}

		_, stop := startGame(t, n, initial, opts...)
		c := dialGame(t, n.Dialer("server"), "g")
		c.Close()
		stop()
		time.Sleep(time.Minute) // down while the timer is due

		ticks := func(srv *gameServer) int {
			synctest.Wait()
			g, _ := gameState(t, srv, "g")
			return countSuffix(g.Log, "tick")
		}
		for restart := range 3 {
			srv, stop := startGame(t, n, initial, opts...)
			if err := srv.LoadRooms(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if k := ticks(srv); k != 1 {
				t.Fatalf("restart %d: %d ticks, want 1", restart, k)
			}
			time.Sleep(time.Hour)
			if k := ticks(srv); k != 1 {
				t.Fatalf("restart %d, an hour later: %d ticks, want 1", restart, k)
			}
			stop()
		}
	})
}

var _ = aper.ClientID("")

// flakyJournal fails the first Append after Seq failAfter, before writing anything.
type flakyJournal struct {
	journal.Journal
	failAfter uint64
	failed    atomic.Bool
}

func (f *flakyJournal) Append(ctx context.Context, room string, last uint64, es []journal.Entry) error {
	if last >= f.failAfter && f.failed.CompareAndSwap(false, true) {
		return errors.New("disk on fire")
	}
	return f.Journal.Append(ctx, room, last, es)
}

// A failed Append confirms nothing of its batch: the room closes its connections and is rebuilt
// from the journal, and the clients re-send what they had pending, applied once.
func TestJournalFailureConfirmsNothing(t *testing.T) {
	mem := journal.NewMemory()
	defer mem.Close()
	j := &flakyJournal{Journal: mem, failAfter: 2} // after the two joins
	n := memory.NewNetwork(nil)
	defer n.Close()
	srv, _ := startGame(t, n, func() *game { return &game{} }, apersync.WithJournal(j))
	a := dialGame(t, n.Dialer("server"), "g")
	b := dialGame(t, n.Dialer("server"), "g")
	for i := range 20 {
		a.Apply(gameT{Op: "say", Text: fmt.Sprint("a", i)})
		b.Apply(gameT{Op: "say", Text: fmt.Sprint("b", i)})
	}
	for _, c := range []*gameClient{a, b} {
		if err := c.Sync(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	g, seq := gameState(t, srv, "g")
	for i := range 20 {
		for _, who := range []string{"a", "b"} {
			if k := countSuffix(g.Log, fmt.Sprint(":", who, i)); k != 1 {
				t.Fatalf("%s%d applied %d times: %v", who, i, k, g.Log)
			}
		}
	}
	if last, _ := mem.Last(ctxT(t), "g"); last != seq {
		t.Fatalf("journal at %d, room at %d", last, seq)
	}
	if !j.failed.Load() {
		t.Fatal("the failure was not exercised")
	}
}

// label encodes alike in JSON and CBOR (same field names), so it converts between them.
type label struct {
	Name string `json:"name" cbor:"name"`
	X    int    `json:"x" cbor:"x"`
}

// Presence between a JSON and a CBOR client over WebSocket: the server converts it.
func TestPresenceAcrossCodecsWebSocket(t *testing.T) {
	srv := newMapServer(t)
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv, l)
	url := "ws://" + l.Addr().String()
	j := dial(t, websocket.Dialer(url, &websocket.DialOptions{Codec: "json"}), "p")
	c := dial(t, websocket.Dialer(url, &websocket.DialOptions{Codec: "cbor"}), "p")
	j.SetPresence(label{"jay", 1})
	c.SetPresence(label{"cee", 3})
	for _, pair := range []struct {
		who  *client
		from *client
		want label
	}{{c, j, label{"jay", 1}}, {j, c, label{"cee", 3}}} {
		timer := time.NewTimer(waitLimit)
		for {
			var got label
			for _, p := range pair.who.Presence() {
				if p.Client == pair.from.ID() {
					p.Decode(&got)
				}
			}
			if got == pair.want {
				break
			}
			select {
			case <-pair.who.PresenceChanges():
			case <-timer.C:
				t.Fatalf("presence not converted: %v", got)
			}
		}
		timer.Stop()
	}
}

// gatedJournal holds each Append while gate is set, until the test lets it go.
type gatedJournal struct {
	journal.Journal
	gate    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedJournal) Append(ctx context.Context, room string, last uint64, es []journal.Entry) error {
	if g.gate.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.Journal.Append(ctx, room, last, es)
}

// Server.Snapshot answers with what is durable: a Snapshot handled in the same batch as a
// transition waits until the batch's append returns.
func TestSnapshotWaitsForTheJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := journal.NewMemory()
		defer mem.Close()
		j := &gatedJournal{Journal: mem, entered: make(chan struct{}), release: make(chan struct{})}
		n := memory.NewNetwork(nil)
		t.Cleanup(func() { n.Close() })
		srv := newMapServer(t, apersync.WithJournal(j))
		l, _ := n.Listen("durable")
		serve(t, srv, l)
		a := dial(t, n.Dialer("durable"), "r")
		j.gate.Store(true)
		mustApply(t, a, m.Set("x", aper.NewCounter(1)))
		<-j.entered // the room waits in the first append
		mustApply(t, a, m.Update("x", add(1)))
		synctest.Wait() // the second transition waits in the room's inbox
		type reply struct {
			seq uint64
			err error
		}
		got := make(chan reply, 1)
		go func() {
			_, seq, err := srv.Snapshot(context.Background(), "r")
			got <- reply{seq, err}
		}()
		synctest.Wait() // and so does the Snapshot call, behind it
		j.release <- struct{}{}
		<-j.entered // the second append: the Snapshot's batch holds the second transition
		synctest.Wait()
		select {
		case r := <-got:
			t.Fatalf("Snapshot returned seq %d (%v) before its batch was durable", r.seq, r.err)
		default:
		}
		j.gate.Store(false)
		j.release <- struct{}{}
		if r := <-got; r.err != nil || r.seq != 2 {
			t.Fatalf("Snapshot: seq %d, %v; want 2", r.seq, r.err)
		}
	})
}
