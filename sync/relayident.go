package sync

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
)

// MemberConn is implemented by the connections that an Ownership's listener accepts from the
// other servers of its cluster (package cluster's relay connections). A hello on such a
// connection may carry the identity that the server the client reached established, which the
// server trusts instead of asking its authentication hook again (see WithOwnership); on any
// other connection that part of a hello is ignored. Implement it only on connections that
// nobody but a server of the cluster can open.
type MemberConn interface {
	transport.Conn
	// Member names the server of the cluster that opened the connection.
	Member() string
}

// relayedIdentity is the identity a relaying server established for its client, in the hello
// it relays to the room's owner.
type relayedIdentity struct {
	Client aper.ClientID `json:"client,omitempty" cbor:"1,keyasint,omitempty"`
	Rooms  []string      `json:"rooms,omitempty" cbor:"2,keyasint,omitempty"`
	All    bool          `json:"all,omitempty" cbor:"3,keyasint,omitempty"` // Rooms is nil: every room
	Agent  bool          `json:"agent,omitempty" cbor:"4,keyasint,omitempty"`
	// Authed says that the identity is an agent's or an auth hook's, not the default of a
	// server without a hook.
	Authed bool `json:"authed,omitempty" cbor:"5,keyasint,omitempty"`
	// Info says that the hook gave Identity.Info, which is not carried.
	Info bool `json:"info,omitempty" cbor:"6,keyasint,omitempty"`
}

// relayedFrom returns what a relay carries of sc's identity.
func relayedFrom(sc *serverConn) *relayedIdentity {
	id := sc.ident
	return &relayedIdentity{
		Client: id.Client, Rooms: id.Rooms, All: id.Rooms == nil, Agent: id.Agent || sc.agent,
		Authed: sc.authed, Info: id.Info != nil,
	}
}

// identity is the Identity a relayed hello carries.
func (r *relayedIdentity) identity() Identity {
	id := Identity{Client: r.Client, Rooms: r.Rooms, Agent: r.Agent}
	if !r.All && id.Rooms == nil {
		id.Rooms = []string{} // no room at all, not every room
	}
	return id
}
