package sync_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
)

// waitState waits until c's status is in state st and returns it.
func waitState(t *testing.T, c *client, st apersync.ConnState) apersync.Status {
	t.Helper()
	for {
		if s := c.Status(); s.State == st {
			return s
		}
		select {
		case <-c.StatusChanges():
		case <-c.Done():
			if s := c.Status(); s.State != st {
				t.Fatalf("client stopped with status %+v, want %v", s, st)
			}
		}
	}
}

// A server that goes silent without closing anything (a black hole: a crashed host, a QUIC
// connection nobody resets) is found dead within three ping intervals, with the default
// interval; the client reports it and reconnects as soon as the server answers again.
func TestDeadServerFoundWithinThreePings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memory.NewNetwork(nil)
		defer n.Close()
		l, err := n.Listen("server")
		if err != nil {
			t.Fatal(err)
		}
		srv, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
			return aper.NewMap[string, *aper.Counter, aper.CounterTransition](), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background(), l) }()
		defer func() {
			srv.Close()
			<-served
		}()
		c, err := apersync.Dial[*cmap, cmt](context.Background(), n.DialerWith("server", &memory.DialOptions{From: "alice"}), "r",
			apersync.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustApply(t, c, m.Set("x", aper.NewCounter(0)))
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}

		// The idle connection stays up: pings keep it alive.
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := c.Status(); st.State != apersync.Connected {
			t.Fatalf("an idle client with a live server: %+v", st)
		}

		// Black hole: nothing is delivered either way, and nothing is closed.
		cut := time.Now()
		n.Partition("alice", "server", memory.Hold)
		st := waitState(t, c, apersync.Disconnected)
		found := time.Since(cut) // the fake clock's: deterministic
		if !errors.Is(st.Err, apersync.ErrServerSilent) {
			t.Fatalf("disconnected for %v, want ErrServerSilent", st.Err)
		}
		const bound = 3 * 2 * time.Second // three default ping intervals
		if found > bound {
			t.Fatalf("dead server found after %v, want at most %v", found, bound)
		}
		t.Logf("dead server found after %v (fake clock)", found)

		healed := time.Now()
		n.Heal("alice", "server")
		waitState(t, c, apersync.Connected)
		if back := time.Since(healed); back > time.Second {
			t.Fatalf("reconnected %v after the heal, want within the backoff (100ms)", back)
		}
		mustApply(t, c, m.Update("x", add(1)))
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
