package sync

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// prefix starts every error message of the package, once. Sentinels and the error types carry
// it; an exported call wraps the error it returns with [wrap], which prints the prefix once
// however many errors of the package the message chains (the pattern of coder/websocket's
// errd.Wrap); a reason the server sends to a client is read without it ([ServerError.Message]).
const prefix = "aper/sync: "

// opError is the error of an exported call: the prefix and the operation, then the cause
// without its own prefix. errors.Is and errors.As see the cause.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return prefix + e.op + ": " + strings.TrimPrefix(e.err.Error(), prefix)
}

func (e *opError) Unwrap() error { return e.err }

// wrap returns err as the error of the operation op (a format for args), or nil if err is nil.
func wrap(err error, op string, args ...any) error {
	if err == nil {
		return nil
	}
	if len(args) > 0 {
		op = fmt.Sprintf(op, args...)
	}
	return &opError{op: op, err: err}
}

// Sentinels for errors.Is. Closed clients and servers return errors that match net.ErrClosed.
var (
	// ErrProtocol marks a malformed or unexpected frame. The connection that sent it is closed;
	// the room and its other clients carry on.
	ErrProtocol = errors.New("aper/sync: protocol error")
	// ErrVersion marks a peer that speaks another protocol version; see [VersionError].
	ErrVersion = errors.New("aper/sync: protocol version mismatch")
	// ErrInvalidOption marks an option with an invalid value.
	ErrInvalidOption = errors.New("aper/sync: invalid option")
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("aper/sync: server closed")
	// ErrClosed is net.ErrClosed: a closed Client returns errors that match it.
	ErrClosed = net.ErrClosed
	// ErrUnauthorized marks a connection the server's authentication hook refused, or a room
	// the client's identity may not join; see [ServerError].
	ErrUnauthorized = errors.New("aper/sync: unauthorized")
	// ErrForbidden marks a transition the server's permission hook refused; see [RefusedError].
	ErrForbidden = errors.New("aper/sync: transition forbidden")
	// ErrLimit marks a request over one of the server's limits (transitions per second,
	// transitions in flight, transition size, clients per room, rooms per server, rooms a
	// client loads per minute) or the client's own pending limit; see [RefusedError] and
	// [ServerError].
	ErrLimit = errors.New("aper/sync: over a limit")
	// ErrOutcomeUnknown is the Err of a Rejection whose transition the server may or may not
	// have applied: see [Rejection].
	ErrOutcomeUnknown = errors.New("aper/sync: the outcome of the transition is unknown")
	// ErrSuperseded marks a Client stopped because another Client holding a copy of its key
	// (WithClientKey: another process, say) connected to the room: see [ServerError].
	ErrSuperseded = errors.New("aper/sync: superseded by another connection of the same client")
	// ErrNoRoom is for a room factory (NewServer) to wrap in its error for a name that names no
	// room the server can hold (an unknown kind of room, say), rather than a room it failed to
	// make: the HTTP API then answers 404 instead of 500 (code "no-room"), and a client's Dial
	// fails with a fatal [*ServerError] of code "no-room" that matches ErrNoRoom, where a failing
	// factory's is code "room".
	ErrNoRoom = errors.New("aper/sync: no such room")
	// ErrServerSilent marks a connection the client gave up on because nothing came from the
	// server for three ping intervals (see WithPingInterval): [Status.Err] of a Client that
	// reconnects for it.
	ErrServerSilent = errors.New("aper/sync: the server was silent for too long")
)

// VersionError says that the peer speaks another protocol version. It matches ErrVersion.
type VersionError struct {
	Peer int // the version the peer announced
	Ours int // ProtocolVersion
}

var _ error = (*VersionError)(nil)

// Error says which versions the two sides speak.
func (e *VersionError) Error() string {
	return fmt.Sprintf("aper/sync: the peer speaks protocol version %d, this side speaks version %d", e.Peer, e.Ours)
}

// Is makes errors.Is(err, ErrVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// ServerError is an error frame the server sent before closing the connection. Fatal errors stop
// a Client from reconnecting (another protocol version, a room that cannot load); others (the
// server shutting down, a client that fell behind) are followed by a reconnection.
//
// It matches ErrVersion for code "version", ErrUnauthorized for "unauthorized" (the
// authentication hook refused the connection; Message is the hook's reason), ErrLimit for
// "limit" (too many clients in the room or rooms on the server; not fatal: the client retries)
// and "new-rooms" (the client, or its address, loaded as many rooms as it may this minute: see
// WithNewRoomsPerMinute; not fatal), and ErrSuperseded for "superseded" when it is fatal (another holder of the client's key
// connected), ErrKicked for "kicked" (Server.Kick; fatal) and ErrNoRoom for "no-room" (the room
// factory says the name names no room; fatal). Code "restored" (not fatal) says
// that Server.Restore reset the room: the client reconnects and loads the restored state.
type ServerError struct {
	Code    string // "version", "protocol", "room", "no-room", "shutdown", "superseded", "stale", "overflow", "too-large", "unauthorized", "limit", "new-rooms", "timeout", "restored", "kicked"
	Message string // the server's reason, read without the package's "aper/sync: " prefix
	Fatal   bool
}

var _ error = (*ServerError)(nil)

// Error gives the code and the server's message: "aper/sync: unauthorized: bad token".
func (e *ServerError) Error() string {
	if e.Message == "" {
		return prefix + e.Code
	}
	return prefix + e.Code + ": " + e.Message
}

// Is makes errors.Is true for ErrVersion, ErrUnauthorized and ErrLimit as their codes say.
func (e *ServerError) Is(target error) bool {
	switch target {
	case ErrVersion:
		return e.Code == codeVersion
	case ErrUnauthorized:
		return e.Code == codeAuth
	case ErrLimit:
		return e.Code == codeLimit || e.Code == codeNewRooms
	case ErrSuperseded:
		return e.Code == codeSuperseded
	case ErrKicked:
		return e.Code == codeKicked
	case ErrNoRoom:
		return e.Code == codeNoRoom
	}
	return false
}

// RefusedError is why the server refused a transition before applying it: the permission hook
// said no (Code "forbidden", matches ErrForbidden) or the client was over a limit (Code "rate",
// "pending" or "size", matches ErrLimit). It is [Rejection.Err] of such a rejection; the
// transition reached nobody else and the room carried on.
type RefusedError struct {
	Code    string
	Message string
}

var _ error = (*RefusedError)(nil)

// Error gives the code and the server's message.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("aper/sync: transition refused (%s): %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrForbidden) or errors.Is(err, ErrLimit) true as the code says.
func (e *RefusedError) Is(target error) bool {
	switch target {
	case ErrForbidden:
		return e.Code == codeForbidden
	case ErrLimit:
		return e.Code == codeRate || e.Code == codePending || e.Code == codeSize
	}
	return false
}
