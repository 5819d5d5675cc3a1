package sync

import "context"

// Seq returns the Seq of the last transition a room ordered, loading the room if it is not
// loaded, without copying its state. The room's clients confirm it once it reaches them (see
// [Client.WaitSeq]).
//
// In a cluster, see Snapshot.
func (s *Server[S, T]) Seq(ctx context.Context, room string) (uint64, error) {
	res, err := s.carry(ctx, &call[T]{op: opSeq, room: room})
	if err != nil && ctx.Err() == nil {
		err = wrap(err, "seq of room %q", room)
	}
	return res.seq, err
}

// seqHere is Seq on this server.
func (s *Server[S, T]) seqHere(ctx context.Context, room string) (uint64, error) {
	r, err := s.acquire(room)
	if err != nil {
		return 0, err
	}
	defer s.release(r)
	reply := make(chan seqReply, 1)
	if err := r.sendCtx(ctx, roomMsg[T]{kind: msgSeq, reply: reply}); err != nil {
		return 0, err
	}
	select {
	case rep := <-reply:
		return rep.seq, rep.err
	case <-r.done:
		return 0, ErrServerClosed
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// seqReply answers a msgSeq: the room's Seq, or why the room could not be loaded.
type seqReply struct {
	seq uint64
	err error
}
