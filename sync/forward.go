package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// Forwarder is an optional interface of an [Ownership]: it carries the server's own calls on a
// room (Snapshot, Seq, Submit, Restore, Kick) to the server that owns the room, so that a
// program may make them on any server of a cluster. Package cluster implements it. Without
// it, those calls on a server that does not own the room fail with an *OwnerError.
type Forwarder interface {
	// Owner reports who owns room without campaigning for it: an *OwnerError naming the
	// owner if it is another server, nil if it is this server or no server, or another error
	// if that cannot be known.
	Owner(ctx context.Context, room string) error
	// Forward sends req to the server called owner (an OwnerError's Owner), whose handler
	// (see Handle) answers it, and returns the answer. req and the answer may be of any
	// size. An error means that the answer did not arrive: the call may or may not have
	// been made there.
	Forward(ctx context.Context, owner string, req []byte) ([]byte, error)
	// Handle sets the handler of the requests that other servers forward to this one. The
	// Forwarder calls it on a goroutine of its own for each request, with a context that
	// ends when the request's sender goes or the Forwarder closes, and sends its answer
	// back. NewServer calls it once, with a handler that answers ErrServerClosed after the
	// server closed; one Forwarder serves one server.
	Handle(h func(ctx context.Context, req []byte) []byte)
}

// maxHops bounds how often a carried call follows a room that moved while it was carried.
const maxHops = 3

// Operations of a carried call.
const (
	opSnapshot = "snapshot"
	opSeq      = "seq"
	opSubmit   = "submit"
	opRestore  = "restore"
	opKick     = "kick"
)

// call is one of the server's own calls on a room, to be made where the room lives.
type call[T any] struct {
	op     string
	room   string
	ident  Identity      // Submit's
	t      T             // Submit's
	seq    uint64        // Restore's
	client aper.ClientID // Kick's
	reason string        // Kick's
}

// result is a call's answer.
type result[S any] struct {
	state S      // Snapshot's
	seq   uint64 // Snapshot's, Seq's, Submit's, Restore's
	n     int    // Kick's
}

// carry makes c on the server that owns its room: here if this server owns it or wins its
// campaign, and otherwise on the owner through the Forwarder, following the room to the
// server the owner names if it moved meanwhile (this one included: the call then comes back
// through the Forwarder). A call that cannot be carried fails with an error that matches the
// *OwnerError naming the owner.
func (s *Server[S, T]) carry(ctx context.Context, c *call[T]) (result[S], error) {
	res, err := s.here(ctx, c)
	fw, ok := s.cfg.owners.(Forwarder)
	var oe *OwnerError
	for hop := 0; ok && hop < maxHops && errors.As(err, &oe); hop++ {
		res, err = s.forward(ctx, fw, oe, c)
		var next *OwnerError
		if errors.As(err, &next) && next.Owner == oe.Owner {
			break // not carried, or the owner says it is the owner: nothing to follow
		}
	}
	return res, err
}

// here makes c on this server, which must own its room: on a room that another server owns it
// fails with an *OwnerError.
func (s *Server[S, T]) here(ctx context.Context, c *call[T]) (result[S], error) {
	var res result[S]
	var err error
	switch c.op {
	case opSnapshot:
		res.state, res.seq, err = s.snapshotHere(ctx, c.room)
	case opSeq:
		res.seq, err = s.seqHere(ctx, c.room)
	case opSubmit:
		res.seq, err = s.submitHere(ctx, c.room, c.ident, c.t)
	case opRestore:
		res.seq, err = s.restore(ctx, c.room, c.seq)
	case opKick:
		res.n, err = s.controlHere(ctx, c.room, &controlMsg{kick: c.client, reason: c.reason})
	default:
		err = fmt.Errorf("%w: unknown carried call %q", ErrProtocol, c.op)
	}
	return res, err
}

// controlHere is control in a cluster: a room that is not loaded here may be loaded on its
// owner, which the caller is told of with an *OwnerError.
func (s *Server[S, T]) controlHere(ctx context.Context, room string, m *controlMsg) (int, error) {
	n, loaded, err := s.control(ctx, room, m)
	if loaded || err != nil {
		return n, err
	}
	if fw, ok := s.cfg.owners.(Forwarder); ok {
		return 0, fw.Owner(ctx, room)
	}
	return 0, nil
}

// fwdRequest is a carried call on the wire (CBOR).
type fwdRequest struct {
	Op     string        `cbor:"1,keyasint"`
	Room   string        `cbor:"2,keyasint"`
	Client aper.ClientID `cbor:"3,keyasint,omitempty"` // Submit's Identity.Client, Kick's client
	Rooms  []string      `cbor:"4,keyasint,omitempty"` // Submit's Identity.Rooms
	All    bool          `cbor:"5,keyasint,omitempty"` // Identity.Rooms is nil: every room
	Agent  bool          `cbor:"6,keyasint,omitempty"`
	T      []byte        `cbor:"7,keyasint,omitempty"` // Submit's transition, aper.CBOR
	Seq    uint64        `cbor:"8,keyasint,omitempty"`
	Reason string        `cbor:"9,keyasint,omitempty"`
}

// fwdReply is a carried call's answer on the wire (CBOR).
type fwdReply struct {
	Seq   uint64    `cbor:"1,keyasint,omitempty"`
	N     int       `cbor:"2,keyasint,omitempty"`
	State []byte    `cbor:"3,keyasint,omitempty"` // Snapshot's state, aper.CBOR
	Err   *fwdError `cbor:"4,keyasint,omitempty"`
}

// fwdError is a carried call's error on the wire: its kind and what that kind's type holds.
type fwdError struct {
	Kind     string             `cbor:"1,keyasint"`
	Code     string             `cbor:"2,keyasint,omitempty"`
	Message  string             `cbor:"3,keyasint,omitempty"`
	Fatal    bool               `cbor:"4,keyasint,omitempty"`
	Owner    string             `cbor:"5,keyasint,omitempty"`
	Conflict *conflict.Conflict `cbor:"6,keyasint,omitempty"`
}

// Kinds of a fwdError.
const (
	errKindConflict = "conflict"
	errKindRefused  = "refused"
	errKindServer   = "server"
	errKindOwner    = "owner"
	errKindClosed   = "closed"
	errKindRange    = "seq-range"
	errKindRetained = "not-retained"
	errKindOther    = "other"
)

// forward carries c to the owner oe names and returns its answer.
func (s *Server[S, T]) forward(ctx context.Context, fw Forwarder, oe *OwnerError, c *call[T]) (result[S], error) {
	var res result[S]
	cannot := func(err error) error { return fmt.Errorf("%w: the call was not carried there: %w", oe, err) }
	req := fwdRequest{Op: c.op, Room: c.room, Seq: c.seq, Reason: c.reason, Client: c.client}
	if c.op == opSubmit {
		if c.ident.Info != nil {
			return res, cannot(errors.New("an Identity with Info cannot be carried to another server"))
		}
		req.Client, req.Rooms, req.All, req.Agent = c.ident.Client, c.ident.Rooms, c.ident.Rooms == nil, c.ident.Agent
		if err := catch("encoding a transition", func() (err error) {
			req.T, err = aper.CBOR.Marshal(c.t)
			return err
		}); err != nil {
			return res, err
		}
	}
	b, err := cborEnc.Marshal(&req)
	if err != nil {
		return res, cannot(err)
	}
	b, err = fw.Forward(ctx, oe.Owner, b)
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("%w (%w)", context.Cause(ctx), cannot(err))
		}
		return res, cannot(err)
	}
	var rep fwdReply
	if err := cborDec.Unmarshal(b, &rep); err != nil {
		return res, cannot(fmt.Errorf("%w: a malformed answer: %v", ErrProtocol, err))
	}
	if rep.Err != nil {
		return res, rep.Err.err(c.room)
	}
	res.seq, res.n = rep.Seq, rep.N
	if c.op == opSnapshot {
		if err := unmarshal(aper.CBOR, rep.State, &res.state); err != nil {
			return res, cannot(fmt.Errorf("%w: decode the state: %v", ErrProtocol, err))
		}
	}
	return res, nil
}

// answer is the handler of the calls other servers carry to this one (see Forwarder.Handle).
func (s *Server[S, T]) answer(ctx context.Context, b []byte) []byte {
	rep := s.answerCall(ctx, b)
	out, err := cborEnc.Marshal(&rep)
	if err != nil {
		out, _ = cborEnc.Marshal(&fwdReply{Err: &fwdError{Kind: errKindOther, Message: "encode the answer: " + err.Error()}})
	}
	return out
}

func (s *Server[S, T]) answerCall(ctx context.Context, b []byte) fwdReply {
	var req fwdRequest
	if err := cborDec.Unmarshal(b, &req); err != nil {
		return fwdReply{Err: toFwdError(fmt.Errorf("%w: a malformed carried call: %v", ErrProtocol, err))}
	}
	if why := badRoomName(req.Room); why != "" {
		return fwdReply{Err: toFwdError(fmt.Errorf("%w: %s", ErrProtocol, why))}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(s.ctx, func() { cancel(ErrServerClosed) })
	defer stop()
	c := &call[T]{op: req.Op, room: req.Room, seq: req.Seq, client: req.Client, reason: req.Reason}
	if req.Op == opSubmit {
		c.ident = Identity{Client: req.Client, Rooms: req.Rooms, Agent: req.Agent}
		if !req.All && c.ident.Rooms == nil {
			c.ident.Rooms = []string{}
		}
		if err := unmarshal(aper.CBOR, req.T, &c.t); err != nil {
			return fwdReply{Err: toFwdError(fmt.Errorf("%w: decode the transition: %v", ErrProtocol, err))}
		}
	}
	res, err := s.here(ctx, c)
	if err != nil {
		if ctx.Err() != nil && s.ctx.Err() != nil {
			err = ErrServerClosed
		}
		return fwdReply{Err: toFwdError(err)}
	}
	rep := fwdReply{Seq: res.seq, N: res.n}
	if c.op == opSnapshot {
		err := catch("encoding a state", func() (err error) {
			rep.State, err = aper.CBOR.Marshal(res.state)
			return err
		})
		if err != nil {
			return fwdReply{Err: toFwdError(err)}
		}
	}
	return rep
}

// toFwdError encodes err for the server that carried the call.
func toFwdError(err error) *fwdError {
	var (
		c  *conflict.Conflict
		re *RefusedError
		se *ServerError
		oe *OwnerError
	)
	switch {
	case errors.As(err, &c):
		return &fwdError{Kind: errKindConflict, Conflict: c}
	case errors.As(err, &re):
		return &fwdError{Kind: errKindRefused, Code: re.Code, Message: re.Message}
	case errors.As(err, &oe):
		return &fwdError{Kind: errKindOwner, Owner: oe.Owner}
	case errors.As(err, &se):
		return &fwdError{Kind: errKindServer, Code: se.Code, Message: se.Message, Fatal: se.Fatal}
	case errors.Is(err, ErrServerClosed):
		return &fwdError{Kind: errKindClosed}
	case errors.Is(err, ErrSeqRange):
		return &fwdError{Kind: errKindRange, Message: err.Error()}
	case errors.Is(err, ErrNotRetained):
		return &fwdError{Kind: errKindRetained, Message: err.Error()}
	}
	return &fwdError{Kind: errKindOther, Message: err.Error()}
}

// err decodes e, an error of a call on room carried to its owner.
func (e *fwdError) err(room string) error {
	switch e.Kind {
	case errKindConflict:
		if e.Conflict != nil {
			return e.Conflict
		}
	case errKindRefused:
		return &RefusedError{Code: e.Code, Message: e.Message}
	case errKindOwner:
		return &OwnerError{Room: room, Owner: e.Owner}
	case errKindServer:
		return &ServerError{Code: e.Code, Message: e.Message, Fatal: e.Fatal}
	case errKindClosed:
		return fmt.Errorf("the room's owner: %w", ErrServerClosed)
	case errKindRange:
		return fmt.Errorf("%w (the room's owner: %s)", ErrSeqRange, e.Message)
	case errKindRetained:
		return fmt.Errorf("%w (the room's owner: %s)", ErrNotRetained, e.Message)
	}
	return fmt.Errorf("the room's owner: %s", e.Message)
}
