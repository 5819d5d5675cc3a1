package sync_test

import (
	"context"
	"errors"
	stdsync "sync"
	"testing"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
)

func TestDisconnectKeepsPendingAndView(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	b := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	quiesce(t, srv, "r", a, b)

	if err := a.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if err := a.Disconnect(); err != nil { // idempotent
		t.Fatal(err)
	}
	if st := a.Status(); st.State != apersync.Disconnected || !errors.Is(st.Err, apersync.ErrOffline) {
		t.Fatalf("status %+v, want disconnected, offline", st)
	}
	h, err := a.Submit(m.Update("x", add(2)))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, a, m.Set("y", aper.NewCounter(7)))
	mustApply(t, b, m.Update("x", add(10)))
	if err := b.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	seq, err := srv.Seq(ctxT(t), "r")
	if err != nil || seq != 2 {
		t.Fatalf("server at %d, %v: want 2, a's transitions must not have left", seq, err)
	}
	if x, _ := a.State().Get("x"); x.Value() != 3 || !a.State().Has("y") || a.Pending() != 2 {
		t.Fatalf("offline view x=%d has y %v, pending %d", x.Value(), a.State().Has("y"), a.Pending())
	}
	if a.Status().State != apersync.Disconnected || h.Seq() != 0 {
		t.Fatalf("status %+v, handle at %d: the client went online by itself", a.Status(), h.Seq())
	}

	if err := a.Reconnect(); err != nil {
		t.Fatal(err)
	}
	if err := a.Settled(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := h.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if a.Status().State != apersync.Connected {
		t.Fatalf("status %+v after Reconnect", a.Status())
	}
	quiesce(t, srv, "r", a, b)
	if x, _ := b.State().Get("x"); x.Value() != 13 || !b.State().Has("y") {
		t.Fatalf("b sees x=%d, has y %v; want 13 and y", x.Value(), b.State().Has("y"))
	}

	// A transition left pending when the client closes: its handle says so.
	if err := a.Disconnect(); err != nil {
		t.Fatal(err)
	}
	h2, err := a.Submit(m.Update("x", add(1)))
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if err := h2.Wait(ctxT(t)); !errors.Is(err, apersync.ErrClosed) {
		t.Fatalf("Wait of a transition pending at Close = %v", err)
	}
	if err := a.Disconnect(); !errors.Is(err, apersync.ErrClosed) {
		t.Fatalf("Disconnect after Close = %v", err)
	}
	if err := a.Reconnect(); !errors.Is(err, apersync.ErrClosed) {
		t.Fatalf("Reconnect after Close = %v", err)
	}
}

// gateDialer passes dials through until blocked; then each Dial says it started and waits for
// its context.
type gateDialer struct {
	d       transport.Dialer
	mu      stdsync.Mutex
	block   bool
	last    transport.Conn
	entered chan struct{}
	left    chan error
}

func (g *gateDialer) Dial(ctx context.Context) (transport.Conn, error) {
	g.mu.Lock()
	block := g.block
	g.mu.Unlock()
	if block {
		g.entered <- struct{}{}
		<-ctx.Done()
		g.left <- ctx.Err()
		return nil, ctx.Err()
	}
	c, err := g.d.Dial(ctx)
	g.mu.Lock()
	g.last = c
	g.mu.Unlock()
	return c, err
}

// A client that goes offline while it is reconnecting stops the attempt and stays offline.
func TestDisconnectWhileReconnecting(t *testing.T) {
	srv, n := memoryServer(t, nil)
	g := &gateDialer{d: n.Dialer("server"), entered: make(chan struct{}), left: make(chan error, 1)}
	a := dial(t, g, "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(1)))
	if err := a.Settled(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.block = true
	g.last.Close() // the connection drops: the client reconnects
	g.mu.Unlock()
	select {
	case <-g.entered:
	case <-ctxT(t).Done():
		t.Fatal("the client did not try to reconnect")
	}
	if err := a.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if err := <-g.left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the attempt ended with %v, want it cancelled", err)
	}
	mustApply(t, a, m.Update("x", add(1)))
	if st := a.Status(); st.State != apersync.Disconnected || !errors.Is(st.Err, apersync.ErrOffline) {
		t.Fatalf("status %+v, want offline", st)
	}
	g.mu.Lock()
	g.block = false
	g.mu.Unlock()
	if err := a.Reconnect(); err != nil {
		t.Fatal(err)
	}
	if err := a.Settled(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if seq := quiesce(t, srv, "r", a); seq != 2 {
		t.Fatalf("server at %d, want 2", seq)
	}
}
