package sync

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"

	"github.com/aper-go/aper/transport"
)

// Ownership lets several servers serve the same rooms on one shared journal (a cluster): for
// each room one server, its owner, orders its transitions, and the others relay their clients'
// connections to it. Package journal/jetstream's cluster support implements it on NATS; this
// package only uses the interface, so that it builds without NATS.
//
// Safety does not rest on Ownership: the journal's appends are conditional on the room's last
// Seq, so a stale owner's append is refused (its room stops, and the server relays from then
// on). Ownership only keeps that rare.
type Ownership interface {
	// Campaign tries to make this server the owner of room. It returns a Claim when it is, an
	// error matching ErrNotOwner (an *OwnerError naming the owner) when another server owns
	// the room, or another error (the room is changing hands, the cluster cannot be reached),
	// which the client is told and retries after.
	Campaign(ctx context.Context, room string) (Claim, error)
	// Dial opens a connection to the server called owner (an OwnerError's Owner), to be
	// served there as any client's connection of room: the server relays a client's
	// connection over it. codec is the client's codec ("cbor" or "json"); the connection
	// must carry the client's messages unchanged.
	Dial(ctx context.Context, owner, room, codec string) (transport.Conn, error)
}

// Claim is a server's ownership of one room, from a successful Campaign.
type Claim interface {
	// Lost is closed once the room may have passed to another server. The room then stops:
	// its clients are told, and reconnect.
	Lost() <-chan struct{}
	// Release gives the room up (when it unloads or stops), so that the next server a client
	// reaches takes it at once. It is idempotent.
	Release(ctx context.Context) error
}

// ErrNotOwner marks a Campaign for a room that another server owns, and a server's call on
// such a room (Snapshot, Seq, Submit, Restore, Kick, Reauthorize) that could not be carried to
// the owner (see [Forwarder]); see [OwnerError].
var ErrNotOwner = errors.New("aper/sync: another server owns the room")

// OwnerError says which server owns a room. It matches ErrNotOwner.
type OwnerError struct {
	Room  string
	Owner string
}

// Error names the room and its owner.
func (e *OwnerError) Error() string {
	return fmt.Sprintf("aper/sync: room %q is owned by server %q", e.Room, e.Owner)
}

// Is makes errors.Is(err, ErrNotOwner) true.
func (e *OwnerError) Is(target error) bool { return target == ErrNotOwner }

// WithOwnership makes the server one of a cluster that shares its journal (WithJournal, which
// it requires): a room is loaded only on the server that wins its Campaign, and a client
// connection to a room owned elsewhere is relayed to the owner (see Ownership.Dial), whose own
// Serve must accept those connections. When the owner changes (its claim is lost, an append
// is fenced off, its server goes), the room's connections end with a non-fatal error and
// clients resume, exactly once, through whichever server they reach.
//
// A relayed connection is authenticated once, by the server the client reached (with the
// transport's metadata and the hello's token); the relay carries the Identity it established
// (Client, Rooms, Agent) to the owner, which trusts it on a connection from its cluster (a
// [MemberConn]) and does not ask its own hook, so that a relayed agent stays an agent and a
// hook that checks a one-time token is not asked twice. The owner does ask its hook when the
// Identity had Info, which does not travel (see AuthRequest.Relayed), or when the server that
// relayed has no hook. Every server of a cluster should have the same hooks.
func WithOwnership(o Ownership) ServerOption {
	return func(c *serverConfig) error {
		if o == nil {
			return fmt.Errorf("%w: nil ownership", ErrInvalidOption)
		}
		c.owners = o
		return nil
	}
}

// errMoved is the reason a room's connections get when the room's ownership passes to another
// server: clients reconnect.
func errMoved(name string) *ServerError {
	return &ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q moved to another server", name)}
}

// errChangingHands refuses a connection to a room that stopped while the server looked at it:
// the client tries again, and the server campaigns anew.
func errChangingHands(name string) *ServerError {
	return &ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q is changing hands", name)}
}

// errOwnershipLost stops a room whose claim was lost.
var errOwnershipLost = errors.New("aper/sync: the room's ownership was lost")

// retryableLoad marks a room that failed to load from the shared journal of a cluster (a
// stream electing its leader, a node restarting): its joins are refused with a non-fatal
// error, and the clients try again.
type retryableLoad struct{ error }

func (e retryableLoad) Unwrap() error { return e.error }

// campaigns serializes the campaigns of one server for one room, so that two of its
// connections do not race each other for the same lease.
type campaigns struct {
	mu    stdsync.Mutex
	rooms map[string]*campaign
}

type campaign struct {
	mu   stdsync.Mutex
	refs int
}

func (cs *campaigns) lock(room string) (unlock func()) {
	cs.mu.Lock()
	if cs.rooms == nil {
		cs.rooms = make(map[string]*campaign)
	}
	c := cs.rooms[room]
	if c == nil {
		c = &campaign{}
		cs.rooms[room] = c
	}
	c.refs++
	cs.mu.Unlock()
	c.mu.Lock()
	return func() {
		c.mu.Unlock()
		cs.mu.Lock()
		if c.refs--; c.refs == 0 {
			delete(cs.rooms, room)
		}
		cs.mu.Unlock()
	}
}

// acquireOwned is acquireFor in a cluster: a room loaded here is used as it is; otherwise the
// server campaigns, and loads the room with the claim it won, or fails with an *OwnerError.
func (s *Server[S, T]) acquireOwned(ctx context.Context, name string, sc *serverConn, client string) (*room[S, T], error) {
	unlock := s.campaigns.lock(name)
	defer unlock()
	s.mu.Lock()
	loaded := s.rooms[name] != nil
	s.mu.Unlock()
	if loaded {
		return s.acquireClaimed(name, sc, client, nil)
	}
	claim, err := s.cfg.owners.Campaign(ctx, name)
	if err != nil {
		if !errors.Is(err, ErrNotOwner) {
			err = &ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q: %v", name, err)}
		}
		return nil, err
	}
	r, err := s.acquireClaimed(name, sc, client, claim)
	if err != nil || r.claim != claim {
		claim.Release(context.WithoutCancel(ctx))
	}
	return r, err
}

// lostC is the channel closed when the room's claim is lost; nil outside a cluster.
func (r *room[S, T]) lostC() <-chan struct{} {
	if r.claim == nil {
		return nil
	}
	return r.claim.Lost()
}

// releaseClaim gives up the room's claim once the room has ended.
func (r *room[S, T]) releaseClaim() {
	if r.claim == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.srv.cfg.helloTimeout)
	defer cancel()
	if err := r.claim.Release(ctx); err != nil {
		r.srv.cfg.logger.Warn("aper/sync: releasing the room's ownership failed", "room", r.name, "err", err)
	}
}

// wireName is the codec name of w, for Ownership.Dial.
func wireName(w *wire) string {
	if w == wireJSON {
		return "json"
	}
	return "cbor"
}

// relay serves a connection whose room another server owns: it opens a connection to the
// owner, passes it the client's hello, and then copies messages both ways until either side
// ends. The owner's server does the rest, including telling the client why it ends.
func (s *Server[S, T]) relay(sc *serverConn, hello *frame, owner string) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.helloTimeout)
	up, err := s.cfg.owners.Dial(ctx, owner, hello.Room, wireName(sc.wire))
	cancel()
	if err != nil {
		s.cfg.logger.Debug("aper/sync: relay to the room's owner failed", "room", hello.Room, "owner", owner, "err", err)
		s.refuse(sc, &ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q: its server %q cannot be reached", hello.Room, owner)})
		return
	}
	defer up.Close()
	hello.Relay = relayedFrom(sc)
	b, err := sc.wire.encode(hello)
	if err == nil {
		err = up.Send(s.ctx, b)
	}
	if err != nil {
		s.refuse(sc, &ServerError{Code: codeRoom, Message: fmt.Sprintf("room %q: relay to server %q: %v", hello.Room, owner, err)})
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(s.ctx, sc.conn, up)
		sc.conn.Close()
	}()
	pipe(s.ctx, up, sc.conn)
	up.Close()
	sc.conn.Close()
	<-done
}

// pipe copies messages from src to dst until either fails or ctx ends.
func pipe(ctx context.Context, dst, src transport.Conn) {
	for {
		msg, err := src.Recv(ctx)
		if err != nil {
			return
		}
		if err := dst.Send(ctx, msg); err != nil {
			return
		}
	}
}
