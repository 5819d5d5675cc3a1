package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Relayed is the Metadata of a relay connection that the owner accepts (see
// transport.Metadata): the server the client reached. The owner's auth hook sees it only when
// it is asked about a relayed client (see sync.WithOwnership): the server the client reached
// authenticated it, and the owner trusts the identity that server carries.
type Relayed struct {
	Server string
}

// conn is one relay connection, either end: it receives on its inbox subject, in, and sends
// to its peer's. Messages are numbered; a gap (NATS dropped one) ends the connection.
type conn struct {
	c     *Cluster
	codec string
	from  string // the other server
	in    string
	sub   *nats.Subscription

	sendMu   stdsync.Mutex
	peer     string // the other end's inbox, set by start
	n        uint64 // messages sent
	lastSend time.Time

	rn  uint64 // messages received (Recv's goroutine)
	buf []byte // a message received in parts

	closeOnce stdsync.Once
	closed    chan struct{}
	hbDone    chan struct{} // closed when the heartbeat goroutine ends; nil before start
}

func (c *Cluster) newConn(codec, from string) (*conn, error) {
	cn := &conn{c: c, codec: codec, from: from, in: c.nc.NewInbox(), closed: make(chan struct{})}
	var err error
	cn.sub, err = c.nc.SubscribeSync(cn.in)
	if err != nil {
		return nil, fmt.Errorf("aper/cluster: subscribe: %w", err)
	}
	c.connsMu.Lock()
	c.conns[cn] = struct{}{}
	c.connsMu.Unlock()
	return cn, nil
}

// start sets the peer's inbox and starts the heartbeat.
func (cn *conn) start(peer string) {
	cn.sendMu.Lock()
	cn.peer = peer
	cn.lastSend = time.Now()
	cn.hbDone = make(chan struct{})
	cn.sendMu.Unlock()
	go cn.heartbeat()
}

// heartbeat sends a heartbeat every Liveness/3 that nothing else was sent, until the
// connection closes.
func (cn *conn) heartbeat() {
	err := cn.beat()
	close(cn.hbDone)
	if err != nil {
		cn.Close()
	}
}

func (cn *conn) beat() error {
	every := cn.c.liveness / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-cn.closed:
			return nil
		case <-tick.C:
		}
		cn.sendMu.Lock()
		var err error
		if time.Since(cn.lastSend) >= every {
			err = cn.publishLocked(nil, "hb", false)
		}
		cn.sendMu.Unlock()
		if err != nil {
			return err
		}
	}
}

// publishLocked sends one numbered message; sendMu is held.
func (cn *conn) publishLocked(data []byte, ctl string, more bool) error {
	cn.n++
	m := &nats.Msg{Subject: cn.peer, Data: data, Header: nats.Header{}}
	m.Header.Set(hdrN, strconv.FormatUint(cn.n, 10))
	if ctl != "" {
		m.Header.Set(hdrCtl, ctl)
	}
	if more {
		m.Header.Set(hdrMore, "1")
	}
	cn.lastSend = time.Now()
	return cn.c.nc.PublishMsg(m)
}

func (cn *conn) isClosed() bool {
	select {
	case <-cn.closed:
		return true
	default:
		return false
	}
}

// Send sends msg, in parts if it is larger than a NATS message may be.
func (cn *conn) Send(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("aper/cluster: relay send: %w", err)
	}
	if cn.isClosed() {
		return fmt.Errorf("aper/cluster: relay send: %w", net.ErrClosed)
	}
	part := int(cn.c.nc.MaxPayload()) - 4096
	part = max(part, 1024)
	cn.sendMu.Lock()
	var err error
	for err == nil {
		n := min(len(msg), part)
		err = cn.publishLocked(msg[:n], "", n < len(msg))
		msg = msg[n:]
		if len(msg) == 0 {
			break
		}
	}
	cn.sendMu.Unlock()
	if err != nil {
		cn.Close()
		return fmt.Errorf("aper/cluster: relay send: %w", err)
	}
	return nil
}

// errSilent ends a relay connection that heard nothing from the other server for Liveness.
var errSilent = errors.New("aper/cluster: relay: the other server is silent")

// Recv returns the next message from the other server.
func (cn *conn) Recv(ctx context.Context) ([]byte, error) {
	for {
		rctx, cancel := context.WithTimeoutCause(ctx, cn.c.liveness, errSilent)
		m, err := cn.sub.NextMsgWithContext(rctx)
		cause := context.Cause(rctx)
		cancel()
		switch {
		case err == nil:
		case cn.isClosed():
			return nil, fmt.Errorf("aper/cluster: relay recv: %w", net.ErrClosed)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("aper/cluster: relay recv: %w", ctx.Err())
		case cause == errSilent:
			cn.Close()
			return nil, fmt.Errorf("%w from server %q for %v: %w", errSilent, cn.from, cn.c.liveness, net.ErrClosed)
		default:
			cn.Close()
			return nil, fmt.Errorf("aper/cluster: relay recv: %w: %w", err, net.ErrClosed)
		}
		n, perr := strconv.ParseUint(m.Header.Get(hdrN), 10, 64)
		if perr != nil || n != cn.rn+1 {
			cn.Close()
			return nil, fmt.Errorf("aper/cluster: relay recv: message %q after %d (one was lost): %w", m.Header.Get(hdrN), cn.rn, net.ErrClosed)
		}
		cn.rn = n
		switch m.Header.Get(hdrCtl) {
		case "hb":
			continue
		case "close":
			cn.closeOnce.Do(func() { cn.shut(false) })
			return nil, fmt.Errorf("aper/cluster: relay recv: closed by server %q: %w", cn.from, net.ErrClosed)
		}
		if m.Header.Get(hdrMore) != "" {
			cn.buf = append(cn.buf, m.Data...)
			continue
		}
		if cn.buf != nil {
			msg := append(cn.buf, m.Data...)
			cn.buf = nil
			return msg, nil
		}
		return m.Data, nil
	}
}

// Close tells the other server and ends the connection. It is idempotent.
func (cn *conn) Close() error {
	cn.closeOnce.Do(func() { cn.shut(true) })
	return nil
}

func (cn *conn) shut(tell bool) {
	close(cn.closed)
	cn.sendMu.Lock()
	if tell && cn.peer != "" {
		cn.publishLocked(nil, "close", false)
	}
	hb := cn.hbDone
	cn.sendMu.Unlock()
	cn.sub.Unsubscribe()
	cn.c.connsMu.Lock()
	delete(cn.c.conns, cn)
	cn.c.connsMu.Unlock()
	if hb != nil {
		<-hb
	}
}

// Codec implements transport.Codec: the client's codec.
func (cn *conn) Codec() string { return cn.codec }

// Metadata implements transport.Metadata: a Relayed naming the other server.
func (cn *conn) Metadata() any { return Relayed{Server: cn.from} }

// Member implements sync.MemberConn: the other server. A relay connection comes from a
// server of the cluster, one with access to its NATS subjects, so the owner trusts the
// identity its hello carries.
func (cn *conn) Member() string { return cn.from }
