package sync

import "context"

// Seq returns the Seq of the last transition a room ordered, loading the room if it is not
// loaded, without copying its state. The room's clients confirm it once it reaches them (see
// [Client.WaitSeq]).
func (s *Server[S, T]) Seq(ctx context.Context, room string) (uint64, error) {
	r, err := s.acquire(room)
	if err != nil {
		return 0, wrap(err, "seq of room %q", room)
	}
	defer s.release(r)
	reply := make(chan seqReply, 1)
	if err := r.sendCtx(ctx, roomMsg[T]{kind: msgSeq, reply: reply}); err != nil {
		return 0, wrap(err, "seq of room %q", room)
	}
	select {
	case rep := <-reply:
		if rep.err != nil {
			return 0, wrap(rep.err, "seq of room %q", room)
		}
		return rep.seq, nil
	case <-r.done:
		return 0, wrap(ErrServerClosed, "seq of room %q", room)
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// seqReply answers a msgSeq: the room's Seq, or why the room could not be loaded.
type seqReply struct {
	seq uint64
	err error
}
