package cluster

import (
	"context"
	"fmt"
	stdsync "sync"
	"time"

	"github.com/nats-io/nats.go"

	apersync "github.com/aper-go/aper/sync"
)

// A call that the sync server carries to a room's owner (sync.Forwarder) travels on a
// connection of its own, dialed as a relay connection is (with the Aper-Call header) and so
// numbered, split into parts and kept alive by heartbeats the same way: the caller sends the
// request, the owner's handler answers it, and the connection ends. A caller that goes away
// ends the connection, which cancels the handler's context.

// calls are the carried calls a Cluster answers.
type calls struct {
	life context.Context // ends when the Cluster closes
	stop context.CancelFunc

	mu      stdsync.Mutex
	handler func(ctx context.Context, req []byte) []byte
	closed  bool
	wg      stdsync.WaitGroup
}

// close ends the calls in progress and waits for them.
func (cs *calls) close() {
	cs.mu.Lock()
	cs.closed = true
	cs.mu.Unlock()
	cs.stop()
	cs.wg.Wait()
}

// Owner implements sync.Forwarder: an *OwnerError if another server holds room's lease.
func (c *Cluster) Owner(ctx context.Context, room string) error {
	h, ok, err := c.leases.Holder(ctx, room)
	switch {
	case err != nil:
		return fmt.Errorf("aper/cluster: owner of room %q: %w", room, err)
	case !ok || h == c.name:
		return nil
	case !validName(h):
		return fmt.Errorf("aper/cluster: room %q: lease held by %q, not a server name", room, h)
	}
	return &apersync.OwnerError{Room: room, Owner: h}
}

// Forward implements sync.Forwarder: it sends req to the server called owner on a connection
// of its own, and returns the answer of that server's handler.
func (c *Cluster) Forward(ctx context.Context, owner string, req []byte) ([]byte, error) {
	// The dial is answered at once by a server that is there; the bound is for one that is
	// not, and leaves room for the relay dials the owner answers first.
	dctx, cancel := context.WithTimeout(ctx, max(5*c.liveness, 5*time.Second))
	cn, err := c.dial(dctx, owner, "", "call", true)
	cancel()
	if err != nil {
		return nil, err
	}
	defer cn.Close()
	if err := cn.Send(ctx, req); err != nil {
		return nil, err
	}
	rep, err := cn.Recv(ctx)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// Handle implements sync.Forwarder: h answers the calls other servers carry to this one.
func (c *Cluster) Handle(h func(ctx context.Context, req []byte) []byte) {
	c.calls.mu.Lock()
	c.calls.handler = h
	c.calls.mu.Unlock()
}

// onCall answers the dial of a connection for a carried call, and serves it on a goroutine
// of the Cluster's.
func (c *Cluster) onCall(m *nats.Msg, peer string) {
	cs := &c.calls
	cs.mu.Lock()
	h, closed := cs.handler, cs.closed
	if h != nil && !closed {
		cs.wg.Add(1)
	}
	cs.mu.Unlock()
	if h == nil || closed {
		m.Respond(nil)
		return
	}
	cn, err := c.newConn("call", m.Header.Get(hdrFrom))
	if err != nil {
		cs.wg.Done()
		m.Respond(nil)
		return
	}
	cn.start(peer)
	if err := m.Respond([]byte(cn.in)); err != nil {
		cn.Close()
		cs.wg.Done()
		return
	}
	go func() {
		defer cs.wg.Done()
		c.serveCall(cn, h)
	}()
}

// serveCall reads one request from cn, answers it with h, and closes cn. h's context ends
// when the caller goes (closes cn, or falls silent) or the Cluster closes.
func (c *Cluster) serveCall(cn *conn, h func(ctx context.Context, req []byte) []byte) {
	defer cn.Close()
	ctx, cancel := context.WithCancel(c.calls.life)
	defer cancel()
	req, err := cn.Recv(ctx)
	if err != nil {
		return
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		cn.Recv(ctx) // returns when the caller ends the connection, or with ctx
		cancel()
	}()
	rep := h(ctx, req)
	cn.Send(ctx, rep)
	cancel()
	<-watched
}
