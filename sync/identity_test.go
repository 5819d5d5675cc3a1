package sync_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/fxamacker/cbor/v2"
)

// waitClosed waits until c stops and returns its status.
func waitClosed(t *testing.T, c *client) apersync.Status {
	t.Helper()
	select {
	case <-c.Done():
	case <-ctxT(t).Done():
		t.Fatalf("client %s did not stop (status %+v)", c.ID(), c.Status())
	}
	return c.Status()
}

// Two clients with one key are one client: the same id, and the second supersedes the first,
// which stops for good (it does not reconnect and fight back). The second numbers its
// transitions on from the first's, so the room applies them.
func TestClientKeyKeepsTheIDAndSupersedes(t *testing.T) {
	srv, n := memoryServer(t, nil)
	key := "a key kept in a file, 32 bytes."
	opts := []apersync.ClientOption{apersync.WithClientKey(key), apersync.WithBackoff(time.Millisecond, 2*time.Millisecond)}
	first, err := apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("server"), "r", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	mustApply(t, first, m.Set("x", aper.NewCounter(1)))
	mustApply(t, first, m.Update("x", add(1)))
	if err := first.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	second, err := apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("server"), "r", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	if second.ID() != first.ID() {
		t.Fatalf("ids %s and %s for one key", first.ID(), second.ID())
	}
	st := waitClosed(t, first)
	if st.State != apersync.Closed || !errors.Is(st.Err, apersync.ErrSuperseded) {
		t.Fatalf("first client: %+v, want closed with ErrSuperseded", st)
	}
	mustApply(t, second, m.Update("x", add(10)))
	quiesce(t, srv, "r", second)
	if x, _ := second.State().Get("x"); x.Value() != 12 {
		t.Fatalf("x = %d, want 12", x.Value())
	}

	// Another key is another client; an invalid key is refused by Dial.
	other := dial(t, n.Dialer("server"), "r")
	if other.ID() == second.ID() {
		t.Fatal("two keys gave one id")
	}
	if _, err := apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("server"), "r", apersync.WithClientKey("short")); !errors.Is(err, apersync.ErrInvalidOption) {
		t.Fatalf("short key: %v, want ErrInvalidOption", err)
	}
}

// With an auth hook that names users, the same user on two devices is one client id (the id
// their transitions carry) and two client instances (one per key): both stay connected, and each
// device's transitions are applied once, however they interleave. A device that comes back
// with transitions pending does not take the other's confirmations (same id, same local seqs)
// for its own.
func TestSameUserOnTwoDevices(t *testing.T) {
	auth := apersync.WithAuth(func(ctx context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
		if req.Instance == "" {
			return apersync.Identity{}, errors.New("no instance")
		}
		return apersync.Identity{Client: aper.ClientID("user-" + req.Token)}, nil
	})
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, _ := n.Listen("server")
	srv := newMapServer(t, auth)
	serve(t, srv, l)
	opts := []apersync.ClientOption{apersync.WithToken("ann"), apersync.WithBackoff(time.Millisecond, 2*time.Millisecond)}
	phone, err := apersync.Dial[*cmap, cmt](ctxT(t), n.DialerWith("server", &memory.DialOptions{From: "phone"}), "r", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	mustApply(t, phone, m.Set("x", aper.NewCounter(0)))
	if err := phone.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	laptop, err := apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("server"), "r", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { laptop.Close() })
	if laptop.ID() != "user-ann" || phone.ID() != "user-ann" {
		t.Fatalf("ids %s and %s, want user-ann", phone.ID(), laptop.ID())
	}

	// The phone goes offline with two transitions pending (local seqs 2 and 3); the laptop's
	// own local seqs 1 and 2 are ordered meanwhile.
	n.Partition("phone", "server", memory.Hold)
	mustApply(t, phone, m.Update("x", add(100)))
	mustApply(t, phone, m.Update("x", add(100)))
	mustApply(t, laptop, m.Update("x", add(1)))
	mustApply(t, laptop, m.Update("x", add(1)))
	if err := laptop.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	n.HealAll()
	quiesce(t, srv, "r", phone, laptop)
	if x, _ := laptop.State().Get("x"); x.Value() != 202 {
		t.Fatalf("x = %d, want 202: every transition of both devices once", x.Value())
	}
	for _, c := range []*client{phone, laptop} {
		if st := c.Status(); st.State != apersync.Connected {
			t.Fatalf("%+v, want both devices connected", st)
		}
	}
}

// fragile is a transition whose decoder panics on one value: a bug in an application's codec
// must not let a peer's bytes bring the server (or a client) down.
type fragile struct{ N int64 }

func (f *fragile) UnmarshalCBOR(b []byte) error {
	var n int64
	if err := cbor.Unmarshal(b, &n); err != nil {
		return err
	}
	if n == 13 {
		panic("unlucky number")
	}
	f.N = n
	return nil
}

func (f fragile) MarshalCBOR() ([]byte, error) { return cbor.Marshal(f.N) }

// tally is a sum of fragile transitions.
type tally struct {
	Sum int64 `cbor:"1,keyasint"`
}

func (s *tally) Apply(ev aper.Event[fragile]) error { s.Sum += ev.Transition.N; return nil }
func (s *tally) Clone() *tally                      { c := *s; return &c }

func TestPanickingTransitionDecoderClosesOnlyThatConnection(t *testing.T) {
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*tally, error) { return &tally{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, _ := n.Listen("server")
	go srv.Serve(context.Background(), l)
	t.Cleanup(func() { srv.Close() })

	good, err := apersync.Dial[*tally, fragile](ctxT(t), n.Dialer("server"), "r")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { good.Close() })
	bad := dialRaw(t, n, "r", nil)
	bad.await(2)
	bad.send(map[uint64]any{1: 3, 7: 1, 11: cbor.RawMessage(mustCBOR(t, 13))})
	if f := bad.awaitError(); f[14] != "protocol" {
		t.Fatalf("got %v, want a protocol error", f)
	}
	if err := good.Apply(fragile{N: 2}); err != nil {
		t.Fatal(err)
	}
	if err := good.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	st, _, err := srv.Snapshot(ctxT(t), "r")
	if err != nil || st.Sum != 2 {
		t.Fatalf("sum %v (%v), want 2", st, err)
	}
}

func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(fmt.Errorf("cbor: %w", err))
	}
	return b
}

// The server throttles presence itself: a peer that bypasses the client's interval and sends a
// thousand values a second reaches the room's others at most once per throttle interval (25ms by
// default), and the last value always arrives.
func TestServerThrottlesPresence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, n := bombServer(t, nil)
		flood, _ := joinRaw(t, n, "p", nil)
		watcher, _ := joinRaw(t, n, "p", nil)
		for i := range 1000 {
			flood.send(map[uint64]any{1: 9, 11: cbor.RawMessage(mustCBOR(t, i))})
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		var got []int
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			msg, err := watcher.c.Recv(ctx)
			cancel()
			if err != nil {
				break
			}
			for rest := msg; len(rest) > 0; {
				var f map[uint64]any
				if rest, err = cbor.UnmarshalFirst(rest, &f); err != nil {
					t.Fatal(err)
				}
				if num(f[1]) == 9 {
					got = append(got, int(num(f[11])))
				}
			}
		}
		if len(got) == 0 || len(got) > 1000/25+2 || got[len(got)-1] != 999 {
			t.Fatalf("the watcher got %d presence frames (last %v), want at most %d ending with 999", len(got), got[max(len(got)-1, 0):], 1000/25+2)
		}
	})
}

// A connection attempt that the client gave up on (its auth hook was slow, the handshake timed
// out) and that joins the room after the client's next attempt did is refused as stale: it does
// not supersede the live connection.
func TestLateStaleConnectionDoesNotSupersede(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		slow, release := make(chan struct{}), make(chan struct{})
		auth := apersync.WithAuth(func(ctx context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
			if calls.Add(1) == 2 { // the first reconnection
				close(slow)
				<-release
			}
			return apersync.Identity{}, nil
		})
		_, n := memoryServer(t, nil, auth, apersync.WithHelloTimeout(time.Hour))
		var dials atomic.Int64
		d := n.DialerWith("server", &memory.DialOptions{From: "c"})
		counted := transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
			dials.Add(1)
			return d.Dial(ctx)
		})
		c, err := apersync.Dial[*cmap, cmt](context.Background(), counted, "r",
			apersync.WithHandshakeTimeout(time.Second), apersync.WithBackoff(time.Millisecond, 2*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		n.Disconnect("c")
		<-slow // attempt 2 waits in the auth hook; the client gives up on it and makes attempt 3
		for c.Status().State != apersync.Connected {
			<-c.StatusChanges()
		}
		close(release) // attempt 2 now joins, late
		synctest.Wait()
		mustApply(t, c, m.Set("x", aper.NewCounter(1)))
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := c.Status(); st.State != apersync.Connected || dials.Load() != 3 {
			t.Fatalf("status %+v after %d dials; want connected after 3", st, dials.Load())
		}
	})
}
