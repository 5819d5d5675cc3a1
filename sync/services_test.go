package sync_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

// game is a small state machine with a timer and a membership, for the room services' tests.
type game struct {
	Log      []string                 `json:"log" cbor:"1,keyasint"`
	Deadline time.Time                `json:"deadline" cbor:"2,keyasint"`
	Players  map[aper.ClientID]string `json:"players" cbor:"3,keyasint"`
	Period   time.Duration            `json:"period" cbor:"4,keyasint"` // a tick re-arms the deadline by this much; 0: one shot
}

type gameT struct {
	Op   string        `json:"op" cbor:"1,keyasint"`
	Who  aper.ClientID `json:"who,omitempty" cbor:"2,keyasint,omitempty"`
	Text string        `json:"text,omitempty" cbor:"3,keyasint,omitempty"`
	At   time.Time     `json:"at,omitzero" cbor:"4,keyasint,omitzero"`
}

func (g *game) Apply(ev aper.Event[gameT]) error {
	t := ev.Transition
	switch t.Op {
	case "tick":
		g.Log = append(g.Log, "tick")
		if g.Period > 0 {
			g.Deadline = g.Deadline.Add(g.Period)
		} else {
			g.Deadline = time.Time{}
		}
	case "arm":
		g.Deadline = t.At
		g.Log = append(g.Log, "arm")
	case "join":
		if g.Players == nil {
			g.Players = map[aper.ClientID]string{}
		}
		g.Players[t.Who] = "in"
		g.Log = append(g.Log, "join:"+string(t.Who))
	case "leave":
		if _, ok := g.Players[t.Who]; !ok {
			return conflict.New(conflict.NotFound, "no player "+string(t.Who))
		}
		delete(g.Players, t.Who)
		g.Log = append(g.Log, "leave:"+string(t.Who))
	case "say":
		g.Log = append(g.Log, string(ev.Client)+":"+t.Text)
	default:
		return conflict.New(conflict.Invalid, "unknown op "+t.Op)
	}
	return nil
}

func (g *game) Clone() *game {
	c := *g
	c.Log = slices.Clone(g.Log)
	c.Players = maps.Clone(g.Players)
	return &c
}

func (g *game) NextTimer() (gameT, time.Time, bool) {
	if g.Deadline.IsZero() {
		return gameT{}, time.Time{}, false
	}
	return gameT{Op: "tick"}, g.Deadline, true
}

func (g *game) Joined(id aper.ClientID) (gameT, bool) { return gameT{Op: "join", Who: id}, true }
func (g *game) Left(id aper.ClientID) (gameT, bool)   { return gameT{Op: "leave", Who: id}, true }

var (
	_ apersync.Timer[gameT]      = (*game)(nil)
	_ apersync.Membership[gameT] = (*game)(nil)
)

type (
	gameServer = apersync.Server[*game, gameT]
	gameClient = apersync.Client[*game, gameT]
)

func newGameServer(t testing.TB, initial func() *game, opts ...apersync.ServerOption) (*gameServer, *memory.Network) {
	t.Helper()
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*game, error) {
		return initial(), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	n := memory.NewNetwork(nil)
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		n.Close()
	})
	return srv, n
}

func dialGame(t testing.TB, d transport.Dialer, room string, opts ...apersync.ClientOption) *gameClient {
	t.Helper()
	opts = append([]apersync.ClientOption{apersync.WithBackoff(time.Millisecond, 20*time.Millisecond)}, opts...)
	c, err := apersync.Dial[*game, gameT](ctxT(t), d, room, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func gameState(t testing.TB, srv *gameServer, room string) (*game, uint64) {
	t.Helper()
	g, seq, err := srv.Snapshot(ctxT(t), room)
	if err != nil {
		t.Fatal(err)
	}
	return g, seq
}

type cursor struct {
	X int `json:"x" cbor:"1,keyasint"`
	Y int `json:"y" cbor:"2,keyasint"`
}

// presenceOf returns the cursors that c sees, by client.
func presenceOf(t testing.TB, c *client) map[aper.ClientID]cursor {
	t.Helper()
	out := map[aper.ClientID]cursor{}
	for _, p := range c.Presence() {
		var cur cursor
		if err := p.Decode(&cur); err != nil {
			t.Fatal(err)
		}
		out[p.Client] = cur
	}
	return out
}

// countingDialer counts the messages its connections send.
type countingDialer struct {
	transport.Dialer
	sent *atomic.Int64
}

type countingConn struct {
	transport.Conn
	sent *atomic.Int64
}

func (d countingDialer) Dial(ctx context.Context) (transport.Conn, error) {
	c, err := d.Dialer.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return countingConn{c, d.sent}, nil
}

func (c countingConn) Send(ctx context.Context, b []byte) error {
	c.sent.Add(1)
	return c.Conn.Send(ctx, b)
}

// Presence: set, update, seen by a late joiner in its welcome, throttled, gone when its client
// leaves.
func TestPresenceSetUpdateLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, n := memoryServer(t, nil)
		var sent atomic.Int64
		a := dial(t, countingDialer{n.Dialer("server"), &sent}, "p")
		b := dial(t, n.Dialer("server"), "p")

		if err := a.SetPresence(cursor{1, 2}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := presenceOf(t, b); len(got) != 1 || got[a.ID()] != (cursor{1, 2}) {
			t.Fatalf("b sees %v", got)
		}
		if got := presenceOf(t, a); len(got) != 0 {
			t.Fatalf("a sees itself or a ghost: %v", got)
		}

		// 1,000 moves in one second: at most 20 messages (one per 50ms), the last value arrives.
		before := sent.Load()
		for i := range 1000 {
			a.SetPresence(cursor{i, i})
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := sent.Load() - before; got > 22 {
			t.Fatalf("1,000 presence updates took %d messages", got)
		}
		if got := presenceOf(t, b)[a.ID()]; got != (cursor{999, 999}) {
			t.Fatalf("b sees %v after the moves, want the last", got)
		}

		// A late joiner gets it in its welcome.
		c := dial(t, n.Dialer("server"), "p")
		if got := presenceOf(t, c); got[a.ID()] != (cursor{999, 999}) {
			t.Fatalf("late joiner sees %v", got)
		}
		c.SetPresence(cursor{7, 7})
		synctest.Wait()
		if got := presenceOf(t, a); got[c.ID()] != (cursor{7, 7}) || len(got) != 1 {
			t.Fatalf("a sees %v", got)
		}

		// Clearing, then leaving: gone for everyone.
		c.SetPresence(nil) // within 50ms of the last: sent when the interval allows
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if got := presenceOf(t, a); len(got) != 0 {
			t.Fatalf("cleared presence still seen: %v", got)
		}
		a.Close()
		synctest.Wait()
		if got := presenceOf(t, b); len(got) != 0 {
			t.Fatalf("b sees a ghost after a left: %v", got)
		}
	})
}

// A client whose connection goes silent (partitioned, holding traffic) is dropped after the
// server's connection timeout, and its presence goes with it.
func TestPresenceConnectionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, n := memoryServer(t, nil, apersync.WithConnTimeout(5*time.Second))
		ghost := dial(t, n.DialerWith("server", &memory.DialOptions{From: "ghost"}), "p")
		b := dial(t, n.Dialer("server"), "p")
		ghost.SetPresence(cursor{3, 4})
		synctest.Wait()
		if got := presenceOf(t, b); len(got) != 1 {
			t.Fatalf("b sees %v", got)
		}
		start := time.Now()
		n.Partition("ghost", "server", memory.Hold)
		for len(b.Presence()) != 0 {
			<-b.PresenceChanges()
		}
		if d := time.Since(start); d < 5*time.Second || d > 6*time.Second {
			t.Fatalf("the ghost's presence went after %v, want the 5s timeout", d)
		}
		n.HealAll()
	})
}

// Presence set by a JSON client reaches a CBOR client and back.
func TestPresenceAcrossCodecs(t *testing.T) {
	// Covered over WebSocket in TestScenarioWebSocket's room; here the conversion itself.
	synctest.Test(t, func(t *testing.T) {
		_, n := memoryServer(t, nil)
		a := dial(t, n.Dialer("server"), "p")
		b := dial(t, n.Dialer("server"), "p")
		a.SetPresence(map[string]any{"name": "ann", "x": 3})
		synctest.Wait()
		var v map[string]any
		ps := b.Presence()
		if len(ps) != 1 {
			t.Fatalf("b sees %d values", len(ps))
		}
		if err := ps[0].Decode(&v); err != nil || v["name"] != "ann" {
			t.Fatalf("decoded %v, %v", v, err)
		}
	})
}

// A timer fires once at its time, and a periodic one once per period, never twice.
func TestTimerFiresOnceAtItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv, n := newGameServer(t, func() *game { return &game{Deadline: start.Add(10 * time.Second)} })
		c := dialGame(t, n.Dialer("server"), "g")
		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		if g, _ := gameState(t, srv, "g"); len(g.Log) != 1 || g.Log[0] != "join:"+string(c.ID()) {
			t.Fatalf("before its time: %v", g.Log)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		g, seq := gameState(t, srv, "g")
		if !slices.Equal(g.Log, []string{"join:" + string(c.ID()), "tick"}) {
			t.Fatalf("at its time: %v", g.Log)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if g2, seq2 := gameState(t, srv, "g"); seq2 != seq || len(g2.Log) != 2 {
			t.Fatalf("a one-shot timer fired again: %v", g2.Log)
		}
		// The client saw it, as a server event.
		waitSeq(t, c, seq)
		if got := c.State().Log; !slices.Equal(got, g.Log) {
			t.Fatalf("client %v, server %v", got, g.Log)
		}
		// A transition re-arms it; it fires once more.
		if err := c.Apply(gameT{Op: "arm", At: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if g, _ := gameState(t, srv, "g"); strings.Count(strings.Join(g.Log, " "), "tick") != 2 {
			t.Fatalf("re-armed: %v", g.Log)
		}
	})
}

// A leave transition is applied once when a client leaves for good (after the grace period),
// not when it merely reconnects.
func TestLeaveAppliedOnceForGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, n := newGameServer(t, func() *game { return &game{} }, apersync.WithLeaveGrace(10*time.Second))
		a := dialGame(t, n.DialerWith("server", &memory.DialOptions{From: "a"}), "g")
		b := dialGame(t, n.Dialer("server"), "g")
		ida, idb := string(a.ID()), string(b.ID())
		// a's connection drops; it reconnects at once: it has not left.
		n.Disconnect("a")
		time.Sleep(time.Second)
		synctest.Wait()
		if st := a.Status(); st.State != apersync.Connected {
			t.Fatalf("a did not reconnect: %+v", st)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		g, _ := gameState(t, srv, "g")
		if want := []string{"join:" + ida, "join:" + idb}; !slices.Equal(g.Log, want) {
			t.Fatalf("after a reconnection: %v, want %v", g.Log, want)
		}
		// Away for less than the grace period, then back: still no leave.
		n.Partition("a", "server", memory.Drop)
		n.Disconnect("a")
		time.Sleep(5 * time.Second)
		n.HealAll()
		time.Sleep(time.Minute)
		synctest.Wait()
		if g, _ := gameState(t, srv, "g"); len(g.Log) != 2 {
			t.Fatalf("after a short absence: %v", g.Log)
		}
		// a leaves for good: one leave, after the grace period.
		a.Close()
		synctest.Wait()
		left := time.Now()
		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		if g, _ := gameState(t, srv, "g"); len(g.Log) != 2 {
			t.Fatalf("left before the grace period: %v", g.Log)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		g, seq := gameState(t, srv, "g")
		if want := []string{"join:" + ida, "join:" + idb, "leave:" + ida}; !slices.Equal(g.Log, want) {
			t.Fatalf("after leaving at %v: %v, want %v", left, g.Log, want)
		}
		waitSeq(t, b, seq)
		if _, in := b.State().Players[aper.ClientID(ida)]; in {
			t.Fatal("b still sees a as a player")
		}
	})
}

// An agent is a client in the server's process: same API, ordered with everybody else, and it
// stops when the server closes.
func TestAgent(t *testing.T) {
	srv, n := newGameServer(t, func() *game { return &game{} })
	c := dialGame(t, n.Dialer("server"), "g")
	bot, err := srv.Agent(ctxT(t), "g")
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	if err := bot.Apply(gameT{Op: "say", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if err := bot.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_, seq := gameState(t, srv, "g")
	waitSeq(t, c, seq)
	if got := c.State().Log; got[len(got)-1] != string(bot.ID())+":hello" {
		t.Fatalf("client sees %v", got)
	}
	srv.Close()
	select {
	case <-bot.Done():
	case <-time.After(waitLimit):
		t.Fatal("agent still running after the server closed")
	}
}

// The authentication hook sees the transport's metadata and the hello's token; a refusal reaches
// the client with its reason and the client does not reconnect.
func TestAuthRefusesWithReason(t *testing.T) {
	var asked []apersync.AuthRequest
	var mu stdsync.Mutex
	auth := func(ctx context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
		mu.Lock()
		asked = append(asked, req)
		mu.Unlock()
		if req.Metadata != "cookie:alice" || req.Token != "t0k3n" {
			return apersync.Identity{}, errors.New("bad credentials")
		}
		return apersync.Identity{Client: "alice", Rooms: []string{"lobby"}}, nil
	}
	_, n := newGameServer(t, func() *game { return &game{} }, apersync.WithAuth(auth))
	good := n.DialerWith("server", &memory.DialOptions{Metadata: "cookie:alice"})

	_, err := apersync.Dial[*game, gameT](ctxT(t), good, "lobby")
	if !errors.Is(err, apersync.ErrUnauthorized) || !strings.Contains(err.Error(), "bad credentials") {
		t.Fatalf("no token: %v, want ErrUnauthorized with the reason", err)
	}
	_, err = apersync.Dial[*game, gameT](ctxT(t), good, "cellar", apersync.WithToken("t0k3n"))
	if !errors.Is(err, apersync.ErrUnauthorized) || !strings.Contains(err.Error(), "cellar") {
		t.Fatalf("wrong room: %v", err)
	}
	c := dialGame(t, good, "lobby", apersync.WithToken("t0k3n"))
	if c.ID() != "alice" {
		t.Fatalf("client id %q, want the hook's", c.ID())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 3 || asked[2].Token != "t0k3n" || asked[2].Room != "lobby" {
		t.Fatalf("hook saw %+v", asked)
	}
}

// A read-only client's transition is rejected to it alone and reaches nobody.
func TestPermissionRejectsReadOnly(t *testing.T) {
	auth := func(ctx context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
		return apersync.Identity{Info: req.Token}, nil
	}
	permit := func(id apersync.Identity, room string, g *game, t gameT) error {
		if id.Info == "ro" {
			return fmt.Errorf("%s is read-only in %s", id.Client, room)
		}
		return nil
	}
	srv, n := newGameServer(t, func() *game { return &game{} },
		apersync.WithAuth(auth), apersync.WithPermission(permit))
	w := dialGame(t, n.Dialer("server"), "g", apersync.WithToken("rw"))
	ro := dialGame(t, n.Dialer("server"), "g", apersync.WithToken("ro"))
	_, seq0 := gameState(t, srv, "g")
	waitSeq(t, w, seq0)
	if err := ro.Apply(gameT{Op: "say", Text: "graffiti"}); err != nil {
		t.Fatal(err)
	}
	rj := <-ro.Rejections()
	if !errors.Is(rj.Err, apersync.ErrForbidden) || rj.Transition.Text != "graffiti" {
		t.Fatalf("rejection %+v", rj)
	}
	var re *apersync.RefusedError
	if !errors.As(rj.Err, &re) || !strings.Contains(re.Message, "read-only") {
		t.Fatalf("rejection error %v", rj.Err)
	}
	if err := w.Apply(gameT{Op: "say", Text: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	g, seq := gameState(t, srv, "g")
	if seq != seq0+1 || slices.Contains(g.Log, string(ro.ID())+":graffiti") {
		t.Fatalf("the refused transition was applied: %v", g.Log)
	}
	waitSeq(t, ro, seq)
	if got := ro.State().Log; !slices.Equal(got, g.Log) {
		t.Fatalf("read-only client sees %v, server %v", got, g.Log)
	}
}

// A flooding client is limited (typed rejections) while another client of the room is not.
func TestFloodingClientIsLimited(t *testing.T) {
	srv, n := newGameServer(t, func() *game { return &game{} }, apersync.WithRateLimit(100, 20))
	flood := dialGame(t, n.Dialer("server"), "g")
	calm := dialGame(t, n.Dialer("server"), "g")
	start := time.Now() // the flooding client's bucket fills from its first transition on
	for i := range 2000 {
		flood.Apply(gameT{Op: "say", Text: fmt.Sprint("spam", i)})
	}
	for i := range 5 {
		if err := calm.Apply(gameT{Op: "say", Text: fmt.Sprint("calm", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := calm.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := flood.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start) // every flooding transition has been processed
	g, _ := gameState(t, srv, "g")
	calmSeen := 0
	for _, l := range g.Log {
		if strings.HasPrefix(l, string(calm.ID())+":calm") {
			calmSeen++
		}
	}
	if calmSeen != 5 {
		t.Fatalf("the calm client got %d of 5 through", calmSeen)
	}
	floodSeen := 0
	for _, l := range g.Log {
		if strings.HasPrefix(l, string(flood.ID())+":spam") {
			floodSeen++
		}
	}
	// Every other flooding transition was refused, with a typed error.
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for range 2000 - floodSeen {
		select {
		case rj := <-flood.Rejections():
			if !errors.Is(rj.Err, apersync.ErrLimit) {
				t.Fatalf("flood rejection %v, want ErrLimit", rj.Err)
			}
		case <-timer.C:
			t.Fatal("rejections missing")
		}
	}
	// At most the burst and 100 a second got through, however long the server took over the
	// 2,000 (one more for rounding).
	if limit := 20 + int(100*elapsed.Seconds()) + 1; floodSeen > limit {
		t.Fatalf("%d of 2000 flooding transitions got through in %v, want at most %d", floodSeen, elapsed, limit)
	}
	t.Logf("%d of 2000 flooding transitions limited in %v", 2000-floodSeen, elapsed)
}

// Clients per room and rooms per server: one more is refused with ErrLimit, the others carry on.
func TestRoomAndServerLimits(t *testing.T) {
	_, n := newGameServer(t, func() *game { return &game{} },
		apersync.WithMaxClientsPerRoom(2), apersync.WithMaxRooms(2))
	dialGame(t, n.Dialer("server"), "a")
	dialGame(t, n.Dialer("server"), "a")
	if _, err := apersync.Dial[*game, gameT](ctxT(t), n.Dialer("server"), "a"); !errors.Is(err, apersync.ErrLimit) {
		t.Fatalf("third client: %v, want ErrLimit", err)
	}
	dialGame(t, n.Dialer("server"), "b")
	if _, err := apersync.Dial[*game, gameT](ctxT(t), n.Dialer("server"), "c"); !errors.Is(err, apersync.ErrLimit) {
		t.Fatalf("third room: %v, want ErrLimit", err)
	}
	// A client's own pending bound.
	c := dialGame(t, n.DialerWith("server", &memory.DialOptions{From: "slow"}), "b", apersync.WithPendingLimit(1))
	n.Partition("slow", "server", memory.Hold)
	if err := c.Apply(gameT{Op: "say", Text: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(gameT{Op: "say", Text: "2"}); !errors.Is(err, apersync.ErrLimit) {
		t.Fatalf("second pending: %v, want ErrLimit", err)
	}
	n.HealAll()
	if err := c.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// A transition over the size limit is refused to its sender with a typed error; the room and
// the sender carry on.
func TestTransitionSizeLimit(t *testing.T) {
	srv, n := newGameServer(t, func() *game { return &game{} }, apersync.WithMaxTransitionSize(64))
	c := dialGame(t, n.Dialer("server"), "g")
	if err := c.Apply(gameT{Op: "say", Text: strings.Repeat("x", 200)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(gameT{Op: "say", Text: "short"}); err != nil {
		t.Fatal(err)
	}
	rj := <-c.Rejections()
	var re *apersync.RefusedError
	if !errors.Is(rj.Err, apersync.ErrLimit) || !errors.As(rj.Err, &re) || re.Code != "size" {
		t.Fatalf("rejection %v, want a size refusal", rj.Err)
	}
	if err := c.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if g, _ := gameState(t, srv, "g"); g.Log[len(g.Log)-1] != string(c.ID())+":short" || len(g.Log) != 2 {
		t.Fatalf("log %v", g.Log)
	}
}
