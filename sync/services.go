package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/aper-go/aper"
	"github.com/fxamacker/cbor/v2"
)

// Timer is an optional interface of a room's state machine that schedules transitions of its own:
// NextTimer names the next one and when it is due (ok false: none). The room applies it when it
// is due, as a server event (an aper.Event with no Client, stamped with the server's time), ordered
// and journaled like any other transition, and then asks again.
//
// The state after the timer's transition decides the next timer, so a transition that moves the
// state's own deadline on (a turn that ends, a round that advances) fires once: a timer that was
// overdue while the server was down fires once when the room is loaded again, not once per
// restart. A timer transition that conflicts is not retried until another transition changes the
// state. Timers run while their room is loaded: a room whose state names a timer stays loaded
// while it is empty (see WithRoomIdle), and after a restart rooms load on their first join, or
// all at once with Server.LoadRooms.
type Timer[T any] interface {
	NextTimer() (t T, at time.Time, ok bool)
}

// Membership is an optional interface of a room's state machine that turns clients joining and
// leaving into transitions of its own, applied as server events (no Client), ordered and journaled
// like any other.
//
// Joined is asked when a client that is not a member connects (its first connection, or its
// first after it left for good); the transition is applied right after the client's welcome, so
// that the client sees it. Left is asked when a member's connection has been gone for the grace
// period (WithLeaveGrace) without a new one: a client that merely reconnects has not left.
// Membership survives restarts (it is journaled with the transitions): after a restart, every
// member that does not come back within the grace period leaves. ok false means no transition.
// Agents are clients too.
type Membership[T any] interface {
	Joined(client aper.ClientID) (t T, ok bool)
	Left(client aper.ClientID) (t T, ok bool)
}

// Identity is who a connection is, as the authentication hook (WithAuth) established it.
type Identity struct {
	// Client is the client's id in its rooms (Event.Client of its transitions). Set by the
	// hook, it replaces the id the client presented: a user id, say, so that a user keeps their
	// seat in a game across a page reload. Several clients (a user's devices or tabs) may share
	// it; exactly-once is counted per client instance (AuthRequest.Instance) all the same. A
	// state machine that tells authors apart by Event.Client, as text.Text does to transform
	// concurrent edits, needs one id per instance: make it the user id plus the instance, say.
	// Empty: the client's id is its instance, which nobody else can claim.
	Client aper.ClientID
	// Rooms lists the rooms the client may join; nil allows every room.
	Rooms []string
	// Info is the application's own data (a user record, roles), for the permission hook.
	Info any
	// Agent is true for an in-process client made by Server.Agent (the authentication hook is
	// not asked about agents).
	Agent bool
}

// AuthRequest is what the authentication hook sees of a new connection.
type AuthRequest struct {
	// Room is the room the client asks to join.
	Room string
	// Client is the id the client presented: empty on its first connection, the one it was
	// given afterwards. It is the client's word: do not trust it.
	Client aper.ClientID
	// Instance is the client instance: a hash of the secret key the client sends (see
	// WithClientKey), the same on every connection of one client (and of a process that keeps
	// its key), different for each device. Nobody without the key can present it.
	Instance aper.ClientID
	// Token is the token the client sent in its hello (WithToken), or "".
	Token string
	// Metadata is what the transport knows of the peer (transport.Metadata): the upgrade's
	// *http.Request for WebSocket (headers, cookies), tls.ConnectionState for QUIC, the dial's
	// metadata for transport/memory; nil if the transport has none.
	Metadata any
	// Relayed is, on a connection that another server of a cluster relays to this one, the
	// identity that server's hook established, when it gave an Identity.Info: Info does not
	// travel between servers, so this server's hook is asked again, and may rebuild Info from
	// Relayed.Client instead of checking the token once more. Nil otherwise: a relayed
	// connection whose identity has no Info is not shown to the hook (see WithOwnership).
	Relayed *Identity
}

// AuthFunc authenticates a new connection: it returns the client's identity, or an error whose
// message the client receives (as a *ServerError with code "unauthorized", matching
// ErrUnauthorized) before the connection is closed; the client does not reconnect. ctx ends
// after the hello timeout or when the server closes.
type AuthFunc func(ctx context.Context, req AuthRequest) (Identity, error)

// cborAny decodes CBOR maps with string keys for conversion to JSON.
var cborAny = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		MaxNestedLevels:  32,
		MaxArrayElements: 1 << 16,
		MaxMapPairs:      1 << 16,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// maxPresenceDepth bounds the nesting of a presence value (arrays, maps, tags), so that every
// welcome that carries it decodes within the frame decoder's nesting limit.
const maxPresenceDepth = 16

// presenceDepth checks CBOR presence values' nesting.
var presenceDepth = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  maxPresenceDepth,
		MaxArrayElements: 1 << 16,
		MaxMapPairs:      1 << 16,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// checkPresence reports why a presence value in codec w is not acceptable: nested deeper than
// maxPresenceDepth, or not one well-formed value.
func checkPresence(data raw, w *wire) error {
	if w != wireJSON {
		return presenceDepth.Wellformed(data)
	}
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > maxPresenceDepth {
				return fmt.Errorf("presence value nested deeper than %d", maxPresenceDepth)
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

// convertPayload re-encodes a nested payload from codec from to codec to (through a generic
// value: it works for what both can express, such as presence values made of maps with string
// keys, lists, strings, numbers and booleans).
func convertPayload(data raw, from, to *wire) (raw, error) {
	if from == to {
		return data, nil
	}
	var v any
	var err error
	if from == wireJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err = dec.Decode(&v); err == nil {
			v = numbers(v)
		}
	} else {
		err = cborAny.Unmarshal(data, &v)
	}
	if err != nil {
		return nil, err
	}
	if to == wireJSON {
		return json.Marshal(v)
	}
	return cborEnc.Marshal(v)
}

// numbers turns the json.Numbers of a decoded JSON value into int64 where they are integers and
// float64 otherwise, so that integers stay integers in CBOR.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
