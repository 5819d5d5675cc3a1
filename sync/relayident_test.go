package sync

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

// memberListener hands out its connections as a cluster's relay listener would: as
// MemberConns.
type memberListener struct{ transport.Listener }

type memberConn struct{ transport.Conn }

func (memberConn) Member() string { return "other" }

func (l memberListener) Accept(ctx context.Context) (transport.Conn, error) {
	c, err := l.Listener.Accept(ctx)
	if err != nil {
		return nil, err
	}
	return memberConn{c}, nil
}

// TestRelayedIdentity: the identity a hello carries for a relayed client is trusted on a
// connection from the cluster (a MemberConn), without asking the auth hook again, unless it
// had Info, which does not travel; from anyone else it is ignored, and the hook decides.
func TestRelayedIdentity(t *testing.T) {
	var asked atomic.Int32
	var relayed atomic.Pointer[Identity]
	srv, err := NewServer(func(context.Context, string) (*aper.Counter, error) { return aper.NewCounter(0), nil },
		WithAuth(func(_ context.Context, req AuthRequest) (Identity, error) {
			asked.Add(1)
			relayed.Store(req.Relayed)
			if req.Relayed != nil {
				return Identity{Client: req.Relayed.Client, Info: "rebuilt"}, nil
			}
			if req.Token != "ok" {
				return Identity{}, errors.New("no token")
			}
			return Identity{Client: "hooked"}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	mnet := memory.NewNetwork(nil)
	defer mnet.Close()
	direct, err := mnet.Listen("direct")
	if err != nil {
		t.Fatal(err)
	}
	member, err := mnet.Listen("member")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(context.Background(), direct)
	go srv.Serve(context.Background(), memberListener{member})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	// join sends a hello carrying rel on the listener called via, and returns the client id
	// of the welcome, or the refusal.
	var joins int
	join := func(via string, rel *relayedIdentity) (aper.ClientID, error) {
		t.Helper()
		joins++ // each join a client of its own
		c, err := mnet.Dial(ctx, via)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		p := &rawPeer{conn: c, w: wireCBOR}
		h := &frame{Type: frameHello, V: ProtocolVersion, Room: "r", Key: fmt.Sprintf("the key of client %d", joins), Nonce: 1, Attempt: 1, Relay: rel}
		if err := p.send(ctx, h); err != nil {
			t.Fatal(err)
		}
		f, err := p.await(ctx, frameWelcome)
		if err != nil {
			return "", err
		}
		return f.Client, nil
	}
	forged := &relayedIdentity{Client: "admin", All: true, Authed: true}

	t.Run("ForgedByAClient", func(t *testing.T) {
		asked.Store(0)
		_, err := join("direct", forged)
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("a client's hello that claims a relayed identity got %v, want ErrUnauthorized", err)
		}
		if asked.Load() != 1 || relayed.Load() != nil {
			t.Fatalf("hook asked %d times, Relayed %v; want once, nil", asked.Load(), relayed.Load())
		}
	})
	t.Run("TrustedFromAMember", func(t *testing.T) {
		asked.Store(0)
		id, err := join("member", forged)
		if err != nil {
			t.Fatal(err)
		}
		if id != "admin" || asked.Load() != 0 {
			t.Fatalf("client %q, hook asked %d times; want admin, never", id, asked.Load())
		}
	})
	t.Run("InfoAsksTheHook", func(t *testing.T) {
		asked.Store(0)
		id, err := join("member", &relayedIdentity{Client: "u", All: true, Authed: true, Info: true})
		if err != nil {
			t.Fatal(err)
		}
		if r := relayed.Load(); id != "u" || asked.Load() != 1 || r == nil || r.Client != "u" {
			t.Fatalf("client %q, hook asked %d times with Relayed %v; want u, once with u", id, asked.Load(), r)
		}
	})
	t.Run("NotAuthenticatedThere", func(t *testing.T) {
		// The relaying server had no hook: this one's decides.
		asked.Store(0)
		_, err := join("member", &relayedIdentity{Client: "admin", All: true})
		if !errors.Is(err, ErrUnauthorized) || asked.Load() != 1 {
			t.Fatalf("got %v with the hook asked %d times; want ErrUnauthorized, once", err, asked.Load())
		}
	})
}
