package sync

import (
	"context"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport/memory"
)

// A client store whose log outgrows its limit writes a new checkpoint and starts the log again;
// a client restarted on it holds the same state, and the store's files stay small.
func TestClientStoreCompacts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := memory.NewNetwork(nil)
	defer n.Close()
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) { return aper.NewCounter(0), nil })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	defer func() {
		srv.Close()
		<-done
	}()

	dir := t.TempDir()
	c, err := Dial[*aper.Counter, aper.CounterTransition](ctx, n.Dialer("server"), "room", WithClientStore(dir))
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	st := c.core.store
	st.compactAt = 1 << 10
	gen := st.gen
	c.mu.Unlock()
	other, err := Dial[*aper.Counter, aper.CounterTransition](ctx, n.Dialer("server"), "room")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i := range 300 {
		cl := c
		if i%2 == 0 {
			cl = other
		}
		if err := cl.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_, seq, err := srv.Snapshot(ctx, "room")
	if err != nil {
		t.Fatal(err)
	}
	for c.Seq() < seq {
		select {
		case <-c.Changes():
		case <-ctx.Done():
			t.Fatalf("stuck at Seq %d, want %d", c.Seq(), seq)
		}
	}
	c.mu.Lock()
	gens, size := st.gen-gen, st.logSize
	c.mu.Unlock()
	if gens < 2 || size > 2<<10 {
		t.Fatalf("%d checkpoints and a log of %d bytes after 300 transitions, want checkpoints that keep the log under 2 KiB", gens, size)
	}
	c.Close()

	down := memory.NewNetwork(nil) // nothing listens
	defer down.Close()
	c, err = Dial[*aper.Counter, aper.CounterTransition](ctx, down.Dialer("server"), "room", WithClientStore(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Seq() != seq || c.State().Value() != 300 {
		t.Fatalf("restored Seq %d and value %d, want %d and 300", c.Seq(), c.State().Value(), seq)
	}
}
