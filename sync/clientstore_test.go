package sync_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

var errServerDown = errors.New("test: the server is down")

// switchDialer dials the memory server "server" while up is true and fails at once otherwise,
// as a dial to a stopped server does.
type switchDialer struct {
	n  *memory.Network
	up chan bool // holds the current value; a buffer of one
}

func newSwitchDialer(n *memory.Network, up bool) *switchDialer {
	d := &switchDialer{n: n, up: make(chan bool, 1)}
	d.up <- up
	return d
}

func (d *switchDialer) set(up bool) {
	<-d.up
	d.up <- up
	if !up {
		d.n.Disconnect("server")
	}
}

func (d *switchDialer) Dial(ctx context.Context) (transport.Conn, error) {
	up := <-d.up
	d.up <- up
	if !up {
		return nil, errServerDown
	}
	return d.n.Dial(ctx, "server")
}

func storeDial(ctx context.Context, d transport.Dialer, dir string, opts ...apersync.ClientOption) (*client, error) {
	opts = append([]apersync.ClientOption{apersync.WithClientStore(dir), apersync.WithBackoff(time.Millisecond, 20*time.Millisecond)}, opts...)
	return apersync.Dial[*cmap, cmt](ctx, d, "room", opts...)
}

func mustStoreDial(t *testing.T, d transport.Dialer, dir string, opts ...apersync.ClientOption) *client {
	t.Helper()
	c, err := storeDial(ctxT(t), d, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func counterOf(t testing.TB, m *cmap, key string) int64 {
	t.Helper()
	c, ok := m.Get(key)
	if !ok {
		return 0
	}
	return c.Value()
}

// A client restarted on its store shows the confirmed state and its pending transitions while
// the server is down (Dial returns at once), keeps its id, and sends them exactly once when the
// server is back.
func TestClientStoreOfflineStart(t *testing.T) {
	srv, n := memoryServer(t, nil)
	d := newSwitchDialer(n, true)
	dir := t.TempDir()

	c := mustStoreDial(t, d, dir)
	id := c.ID()
	mustApply(t, c, m.Set("a", aper.NewCounter(1)))
	mustApply(t, c, m.Update("a", add(2)))
	if err := c.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	d.set(false)
	c = mustStoreDial(t, d, dir)
	if st := c.Status(); st.State != apersync.Disconnected {
		t.Fatalf("status %+v after an offline start, want disconnected", st)
	}
	if got := counterOf(t, c.State(), "a"); got != 3 {
		t.Fatalf("offline view has a=%d, want the confirmed 3", got)
	}
	for i := range 5 {
		mustApply(t, c, m.Update("a", add(int64(10<<i))))
	}
	mustApply(t, c, m.Set("b", aper.NewCounter(7)))
	c.Close()

	c = mustStoreDial(t, d, dir) // still offline: the pending transitions come from the store
	if got, want := counterOf(t, c.State(), "a"), int64(3+10+20+40+80+160); got != want {
		t.Fatalf("restarted offline view has a=%d, want %d", got, want)
	}
	if got := counterOf(t, c.State(), "b"); got != 7 {
		t.Fatalf("restarted offline view has b=%d, want 7", got)
	}
	if c.Pending() != 6 {
		t.Fatalf("%d pending after restart, want 6", c.Pending())
	}
	mustApply(t, c, m.Update("b", add(1)))

	d.set(true)
	waitStatus(t, c, apersync.Connected)
	quiesce(t, srv, "room", c)
	if c.ID() != id {
		t.Fatalf("id %s after restarts, want %s", c.ID(), id)
	}
	state, _, err := srv.Snapshot(ctxT(t), "room")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := counterOf(t, state, "a"), counterOf(t, state, "b"); a != 313 || b != 8 {
		t.Fatalf("server has a=%d b=%d, want 313 and 8: each transition once", a, b)
	}
}

// A store whose client was away while the room moved past its resume log gets a snapshot; the
// store keeps it, so that the next offline start shows it.
func TestClientStoreKeepsSnapshot(t *testing.T) {
	srv, n := memoryServer(t, nil, apersync.WithResumeLog(4))
	d := newSwitchDialer(n, true)
	dir := t.TempDir()
	c := mustStoreDial(t, d, dir)
	mustApply(t, c, m.Set("a", aper.NewCounter(1)))
	quiesce(t, srv, "room", c)
	c.Close()

	other := dial(t, n.Dialer("server"), "room")
	for i := range 20 {
		mustApply(t, other, m.Set("o", aper.NewCounter(int64(i))))
	}
	quiesce(t, srv, "room", other)

	c = mustStoreDial(t, d, dir)
	mustApply(t, c, m.Update("a", add(1)))
	seq := quiesce(t, srv, "room", c, other)
	c.Close()

	d.set(false)
	c = mustStoreDial(t, d, dir)
	if c.Seq() != seq {
		t.Fatalf("restored Seq %d, want %d", c.Seq(), seq)
	}
	state, _, err := srv.Snapshot(ctxT(t), "room")
	if err != nil {
		t.Fatal(err)
	}
	apertest.Equal(t, c.State(), state)
}

// Without WithDialRetry, Dial fails at once when the server is down; with it, Dial reports each
// failed attempt and returns once the server is up, or fails when its context ends.
func TestDialRetry(t *testing.T) {
	_, n := memoryServer(t, nil)
	d := newSwitchDialer(n, false)
	fast := apersync.WithBackoff(time.Millisecond, 5*time.Millisecond)

	if _, err := apersync.Dial[*cmap, cmt](ctxT(t), d, "room", fast); !errors.Is(err, errServerDown) {
		t.Fatalf("Dial without retry: %v, want the dial error at once", err)
	}

	reports := make(chan apersync.Status)
	type result struct {
		c   *client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := apersync.Dial[*cmap, cmt](ctxT(t), d, "room", fast, apersync.WithDialRetry(func(st apersync.Status) { reports <- st }))
		done <- result{c, err}
	}()
	for range 3 {
		st := <-reports
		if st.State != apersync.Disconnected || !errors.Is(st.Err, errServerDown) {
			t.Fatalf("reported %+v, want disconnected with the dial error", st)
		}
	}
	d.set(true)
	var r result
	for r.c == nil && r.err == nil {
		select {
		case <-reports: // attempts that began before the server came up
		case r = <-done:
		}
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	if st := r.c.Status(); st.State != apersync.Connected {
		t.Fatalf("status %+v, want connected", st)
	}

	d.set(false)
	ctx, cancel := context.WithCancel(ctxT(t))
	go func() {
		c, err := apersync.Dial[*cmap, cmt](ctx, d, "room", fast, apersync.WithDialRetry(func(apersync.Status) { reports <- apersync.Status{} }))
		done <- result{c, err}
	}()
	<-reports
	cancel()
	for r = (result{}); r.c == nil && r.err == nil; {
		select {
		case <-reports:
		case r = <-done:
		}
	}
	if r.c != nil {
		r.c.Close()
		t.Fatal("Dial succeeded with the server down")
	}
	if !errors.Is(r.err, context.Canceled) || !errors.Is(r.err, errServerDown) {
		t.Fatalf("Dial after its context ended: %v, want both the cancellation and the last dial error", r.err)
	}
}

// One store, one live client: a second Dial on it fails with ErrStoreLocked until the first
// closes.
func TestClientStoreLocked(t *testing.T) {
	_, n := memoryServer(t, nil)
	d := n.Dialer("server")
	dir := t.TempDir()
	c := mustStoreDial(t, d, dir)
	_, err := storeDial(ctxT(t), d, dir)
	var se *apersync.StoreError
	if !errors.Is(err, apersync.ErrStoreLocked) || !errors.As(err, &se) {
		t.Fatalf("second Dial on a store in use: %v, want ErrStoreLocked", err)
	}
	c.Close()
	c = mustStoreDial(t, d, dir)
	c.Close()

	if _, err := apersync.Dial[*cmap, cmt](ctxT(t), d, "another", apersync.WithClientStore(dir)); !errors.Is(err, apersync.ErrInvalidOption) {
		t.Fatalf("Dial of another room with the store: %v, want ErrInvalidOption", err)
	}
	if _, err := storeDial(ctxT(t), d, dir, apersync.WithClientKey("a different key of this client")); !errors.Is(err, apersync.ErrInvalidOption) {
		t.Fatalf("Dial with another key than the store's: %v, want ErrInvalidOption", err)
	}
}

// storeWithWork makes a store holding a confirmed state and pending transitions, and returns
// its directory.
func storeWithWork(t *testing.T, n *memory.Network) string {
	t.Helper()
	dir := t.TempDir()
	d := newSwitchDialer(n, true)
	c := mustStoreDial(t, d, dir)
	mustApply(t, c, m.Set("a", aper.NewCounter(1)))
	if err := c.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	d.set(false)
	c = mustStoreDial(t, d, dir)
	for range 3 {
		mustApply(t, c, m.Update("a", add(1)))
	}
	c.Close()
	return dir
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	for _, name := range []string{"state", "log"} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// A damaged store fails Dial with ErrStoreCorrupt, whatever the damage, and never panics; a
// record cut short at the end of the log (a torn write) is dropped.
func TestClientStoreCorrupt(t *testing.T) {
	_, n := memoryServer(t, nil)
	down := newSwitchDialer(n, false)
	dir := storeWithWork(t, n)

	mutate := func(name string, f func([]byte) []byte) string {
		t.Helper()
		d := copyDir(t, dir)
		p := filepath.Join(d, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f(b), 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	corrupt := func(what, d string) {
		t.Helper()
		c, err := storeDial(ctxT(t), down, d)
		var se *apersync.StoreError
		if !errors.Is(err, apersync.ErrStoreCorrupt) || !errors.As(err, &se) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("%s: Dial gave %v, want ErrStoreCorrupt", what, err)
		}
	}
	corrupt("a flipped bit in state", mutate("state", func(b []byte) []byte { b[len(b)/2] ^= 4; return b }))
	corrupt("a truncated state", mutate("state", func(b []byte) []byte { return b[:len(b)-3] }))
	corrupt("an empty state", mutate("state", func(b []byte) []byte { return nil }))
	corrupt("a flipped bit in the log's first record", mutate("log", func(b []byte) []byte { b[9] ^= 1; return b }))
	corrupt("a log without state", func() string {
		d := copyDir(t, dir)
		os.Remove(filepath.Join(d, "state"))
		return d
	}())

	// A torn last record: the transitions before it are kept, the torn one is dropped.
	d := mutate("log", func(b []byte) []byte { return b[:len(b)-2] })
	c := mustStoreDial(t, down, d)
	if c.Pending() != 2 {
		t.Fatalf("%d pending after a torn last record, want 2", c.Pending())
	}
	mustApply(t, c, m.Update("a", add(1))) // the log goes on after the cut
	c.Close()
	c = mustStoreDial(t, down, d)
	if c.Pending() != 3 || counterOf(t, c.State(), "a") != 4 {
		t.Fatalf("after a write past the torn record: %d pending and a=%d, want 3 and 4", c.Pending(), counterOf(t, c.State(), "a"))
	}
	c.Close()

	// Random damage: an error or a usable client, never a panic.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		name := []string{"state", "log"}[i%2]
		d := mutate(name, func(b []byte) []byte {
			switch rng.IntN(3) {
			case 0:
				b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
			case 1:
				b = b[:rng.IntN(len(b))]
			default:
				b = append(b, byte(rng.IntN(256)))
			}
			return b
		})
		c, err := storeDial(ctxT(t), down, d)
		if err == nil {
			c.State()
			c.Close()
			continue
		}
		var se *apersync.StoreError
		if !errors.As(err, &se) {
			t.Fatalf("damage %d: %v, want a *StoreError", i, err)
		}
	}
}

// A transition Apply accepted is in the store when Apply returns, even if the client is never
// closed (its process dies): a second store opened from a copy of the files holds it.
func TestClientStoreApplyIsDurable(t *testing.T) {
	_, n := memoryServer(t, nil)
	d := newSwitchDialer(n, true)
	dir := t.TempDir()
	c := mustStoreDial(t, d, dir)
	d.set(false)
	waitStatus(t, c, apersync.Disconnected)
	mustApply(t, c, m.Set("x", aper.NewCounter(5)))
	cp := copyDir(t, dir) // c still holds dir's lock
	c2 := mustStoreDial(t, d, cp)
	if got := counterOf(t, c2.State(), "x"); got != 5 || c2.Pending() != 1 {
		t.Fatalf("copy of a live store: x=%d with %d pending, want 5 and 1", got, c2.Pending())
	}
}
