package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/websocket"
)

// simTarget is the server a sim drives: one in this process, a running aper serve (-server), or
// a child aper serve that the sim kills and restarts (-kill).
type simTarget interface {
	// dialer returns a dialer for one client; the sim wraps it in its fault injection.
	dialer() transport.Dialer
	// state returns the room's state on the server and the seq it is at.
	state(ctx context.Context, room string) (*rooms.Room, uint64, error)
	// close stops what the target started; it is called once.
	close() error
}

// inProcess is a server in the sim's own process.
type inProcess struct {
	srv  *apersync.Server[*rooms.Room, rooms.RoomTransition]
	dial func() transport.Dialer
	stop func()
}

func (p *inProcess) dialer() transport.Dialer { return p.dial() }

func (p *inProcess) state(ctx context.Context, room string) (*rooms.Room, uint64, error) {
	return p.srv.Snapshot(ctx, room)
}

func (p *inProcess) close() error {
	p.stop()
	return nil
}

// newInProcess starts a server over the named transport, on loopback for ws and quic.
func newInProcess(cfg simConfig) (*inProcess, error) {
	srv, err := apersync.NewServer(rooms.New, apersync.WithRoomIdle(-1))
	if err != nil {
		return nil, err
	}
	var l transport.Listener
	var dial func() transport.Dialer
	cleanup := func() {}
	switch cfg.transport {
	case "memory":
		network := memory.NewNetwork(nil)
		ml, err := network.Listen("server")
		if err != nil {
			return nil, err
		}
		l, dial, cleanup = ml, func() transport.Dialer { return network.Dialer("server") }, func() { network.Close() }
	case "ws":
		wl, err := websocket.Listen("127.0.0.1:0", nil)
		if err != nil {
			return nil, err
		}
		u := "ws://" + wl.Addr().String()
		l, dial = wl, func() transport.Dialer { return websocket.Dialer(u, &websocket.DialOptions{Codec: cfg.codec}) }
	case "quic":
		server, client, err := quic.SelfSigned()
		if err != nil {
			return nil, err
		}
		ql, err := quic.Listen("127.0.0.1:0", server, nil)
		if err != nil {
			return nil, err
		}
		a := ql.Addr().String()
		l, dial = ql, func() transport.Dialer { return quic.Dialer(a, client, nil) }
	default:
		return nil, fmt.Errorf("%w: -transport %q: want memory, ws or quic", errUsage, cfg.transport)
	}
	done := make(chan struct{})
	go func() { // owned by stop, which waits for it
		defer close(done)
		srv.Serve(context.Background(), l)
	}()
	stop := func() {
		srv.Close()
		<-done
		cleanup()
	}
	return &inProcess{srv: srv, dial: dial, stop: stop}, nil
}

// remote is a server in another process, reached at a ws://, wss:// or quic:// URL.
type remote struct {
	dial func() transport.Dialer
}

func (r *remote) dialer() transport.Dialer { return r.dial() }

// state joins the room with a client of its own, which holds the server's state once Dial
// returns, and leaves.
func (r *remote) state(ctx context.Context, room string) (*rooms.Room, uint64, error) {
	c, err := apersync.Dial[*rooms.Room, rooms.RoomTransition](ctx, r.dial(), room,
		apersync.WithBackoff(10*time.Millisecond, 200*time.Millisecond), apersync.WithHandshakeTimeout(10*time.Second))
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	return c.State(), c.Seq(), nil
}

func (r *remote) close() error { return nil }

// parseServerURL returns the transport (ws or quic) and the address of a -server URL:
// ws://HOST:PORT/PATH or wss://... for WebSocket (the path defaults to /aper), quic://HOST:PORT
// for QUIC.
func parseServerURL(s string) (tr, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("%w: -server %q: want ws://HOST:PORT/aper or quic://HOST:PORT", errUsage, s)
	}
	switch u.Scheme {
	case "ws", "wss":
		if u.Path == "" {
			u.Path = wsPath
		}
		return "ws", u.String(), nil
	case "quic":
		if u.Path != "" && u.Path != "/" {
			return "", "", fmt.Errorf("%w: -server %q: a quic URL has no path", errUsage, s)
		}
		return "quic", u.Host, nil
	}
	return "", "", fmt.Errorf("%w: -server %q: the scheme must be ws, wss or quic", errUsage, s)
}

// newRemote returns the target of a running server at the URL u.
func newRemote(u string, cfg simConfig) (*remote, error) {
	tr, addr, err := parseServerURL(u)
	if err != nil {
		return nil, err
	}
	newDialer, _, err := dialers(tr, addr, cfg.cert, cfg.insecure, cfg.codec)
	if err != nil {
		return nil, err
	}
	return &remote{dial: newDialer}, nil
}

// errKill marks a failure of the -kill mode to restart its server.
var errKill = errors.New("aper sim: kill mode")
