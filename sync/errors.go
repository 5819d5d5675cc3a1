package sync

import (
	"errors"
	"fmt"
	"net"
)

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
type ServerError struct {
	Code    string // "version", "protocol", "room", "shutdown", "superseded", "overflow"
	Message string
	Fatal   bool
}

var _ error = (*ServerError)(nil)

// Error gives the code and the server's message.
func (e *ServerError) Error() string {
	return fmt.Sprintf("aper/sync: server error %q: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrVersion) true for the server's version error.
func (e *ServerError) Is(target error) bool { return target == ErrVersion && e.Code == codeVersion }
