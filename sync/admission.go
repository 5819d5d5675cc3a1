package sync

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aper-go/aper/transport"
)

// Defaults of the limits on loaded rooms: see WithMaxRooms and WithNewRoomsPerMinute.
const (
	DefaultMaxRooms             = 10000
	DefaultNewRoomsPerClient    = 60
	DefaultNewRoomsPerAddress   = 600
	maxIdleBuckets              = 4096 // buckets kept before full ones are swept (see admit)
	newRoomsWindow              = time.Minute
	addressBucket, clientBucket = "a\x00", "c\x00"
)

// WithNewRoomsPerMinute bounds how many rooms one client may bring into memory per minute: a
// join of a room that is not loaded (a new room, or one unloaded after its idle time) counts,
// a join of a loaded room does not. perClient counts by the client's identity (the Client the
// authentication hook gives, else the hash of the client's key); perAddress counts by the
// network address the connection comes from (its host, without the port), for the connections
// the authentication hook gives no Client (with no hook, every connection), since such a client
// can make as many keys as it likes. Each is a budget of that many rooms, refilled evenly over
// a minute. A join over either is refused with a *ServerError of code "new-rooms" (matching
// ErrLimit; not fatal: the client retries with backoff). 0 turns that bound off. Agents and
// Server.Snapshot are not counted.
//
// Defaults: DefaultNewRoomsPerClient and DefaultNewRoomsPerAddress. A transport that does not
// tell the address (the memory transport names its peers; WebSocket gives the HTTP request's
// RemoteAddr, QUIC the UDP address) counts its connections by identity only. Behind a proxy,
// every client has the proxy's address: raise perAddress or authenticate clients.
func WithNewRoomsPerMinute(perClient, perAddress int) ServerOption {
	return func(c *serverConfig) error {
		if perClient < 0 || perAddress < 0 {
			return fmt.Errorf("%w: new rooms per minute %d per client, %d per address", ErrInvalidOption, perClient, perAddress)
		}
		c.newRoomsPerClient, c.newRoomsPerAddr = perClient, perAddress
		return nil
	}
}

// roomBucket is a token bucket of rooms a client or an address may load.
type roomBucket struct {
	tokens float64
	at     time.Time // when tokens was last refilled
}

// level returns the bucket's tokens at now, refilled at n per minute up to n.
func (b *roomBucket) level(now time.Time, n int) float64 {
	if b == nil {
		return float64(n)
	}
	return min(float64(n), b.tokens+now.Sub(b.at).Minutes()*float64(n))
}

// admission is what the server counts to bound the rooms clients load; under Server.mu.
type admission struct {
	buckets map[string]*roomBucket
	swept   int // len(buckets) after the last sweep
}

// newRoomsRefusal is the error of a join over WithNewRoomsPerMinute.
func newRoomsRefusal(what string, n int) *ServerError {
	return &ServerError{Code: codeNewRooms, Message: fmt.Sprintf("this %s loaded %d rooms in the last minute, the most it may", what, n)}
}

// admitLocked takes one room from the budgets of sc's client and address, or returns the
// refusal if either is spent. s.mu is held.
func (s *Server[S, T]) admitLocked(sc *serverConn, client string) error {
	if sc == nil || sc.agent {
		return nil
	}
	now := s.cfg.now()
	type take struct {
		key, what string
		n         int
	}
	var takes [2]take
	k := 0
	if n := s.cfg.newRoomsPerClient; n > 0 && client != "" {
		takes[k] = take{clientBucket + client, "client", n}
		k++
	}
	if n := s.cfg.newRoomsPerAddr; n > 0 && sc.ident.Client == "" {
		if addr := remoteHost(sc.conn); addr != "" {
			takes[k] = take{addressBucket + addr, "address", n}
			k++
		}
	}
	a := &s.admit
	for _, t := range takes[:k] {
		if a.buckets[t.key].level(now, t.n) < 1 {
			return newRoomsRefusal(t.what, t.n)
		}
	}
	if a.buckets == nil {
		a.buckets = make(map[string]*roomBucket)
	}
	for _, t := range takes[:k] {
		b := a.buckets[t.key]
		if b == nil {
			b = &roomBucket{}
			a.buckets[t.key] = b
		}
		b.tokens, b.at = b.level(now, t.n)-1, now
	}
	if len(a.buckets) > max(maxIdleBuckets, 2*a.swept) {
		// Forget the buckets that are full again: they read as full when absent.
		for key, b := range a.buckets {
			n := s.cfg.newRoomsPerClient
			if key[0] == addressBucket[0] {
				n = s.cfg.newRoomsPerAddr
			}
			if b.level(now, n) >= float64(n) {
				delete(a.buckets, key)
			}
		}
		a.swept = len(a.buckets)
	}
	return nil
}

// remoteHost returns the host a connection comes from, or "" if its transport does not say.
func remoteHost(c transport.Conn) string {
	var addr string
	if ra, ok := c.(interface{ RemoteAddr() net.Addr }); ok {
		if a := ra.RemoteAddr(); a != nil {
			addr = a.String()
		}
	} else if m, ok := c.(transport.Metadata); ok {
		if r, ok := m.Metadata().(*http.Request); ok && r != nil {
			addr = r.RemoteAddr
		}
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
