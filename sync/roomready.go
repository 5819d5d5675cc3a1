package sync

import "fmt"

// ready is the core's output: what one or more steps produced, handed back by takeReady.
//
// The ordering duty: the records must be durable (the journal said so) BEFORE any frame of sends
// goes out, since a confirmed frame tells its client that the transition holds. If they cannot
// be made durable, nothing of sends goes out: the caller stops the core (stop) and carries out
// the ready that follows, which closes every connection. Frames of one session go out in order;
// sessions are independent of each other.
type ready[T any] struct {
	// records are the transitions ordered, oldest first (kept only with
	// roomConfig.keepRecords).
	records []record[T]
	// sends are the frames of each session the steps touched, one entry per session.
	sends []send
	// panics are panics recovered from user code that the room survived (a permission hook's):
	// the caller logs them.
	panics []*panicError
	// stopped is why the room stopped (the error stop was given, or a *panicError that broke
	// it), nil while it goes on. The sends then close every connection, each with its reason;
	// the caller carries them out and ends the room: the core takes no more steps.
	stopped error
}

// send is the frames for one session, in order.
type send struct {
	to    sessionID
	items []outItem
	// close, if not nil, ends the connection after items, whose last frame says why.
	close *ServerError

	s *session // for recycle
}

// takeReady returns the output of the steps since the last call (see ready). A core that a panic
// broke stops here: nothing of the batch goes out (see crash). The ready's slices are the
// caller's until it hands them back with recycle, which it does before the next step.
func (r *roomCore[S, T]) takeReady() ready[T] {
	if r.broken != nil && r.stopped == nil {
		r.crash()
	}
	rd := ready[T]{records: r.records, panics: r.panics, stopped: r.stopped, sends: r.spare[:0]}
	r.spare = nil
	for _, s := range r.touched {
		rd.sends = append(rd.sends, send{to: s.id, items: s.out, close: s.closing, s: s})
		s.out, s.touched = nil, false
	}
	clear(r.touched)
	r.touched = r.touched[:0]
	r.records = rd.records[len(rd.records):]
	r.panics = nil
	return rd
}

// maxKeptReady bounds the capacity of the ready slices a room keeps for its next batch: the
// slices of a larger batch go to the collector, so that a burst does not stay allocated.
const maxKeptReady = 256

// recycle hands back the slices of a ready the caller is done with.
func (r *roomCore[S, T]) recycle(rd ready[T]) {
	if len(r.records) == 0 && cap(rd.records) <= maxKeptReady {
		clear(rd.records)
		r.records = rd.records[:0]
	}
	for i := range rd.sends {
		sd := &rd.sends[i]
		if sd.s.out == nil && !sd.s.gone() && cap(sd.items) <= maxKeptReady {
			clear(sd.items)
			sd.s.out = sd.items[:0]
		}
	}
	if cap(rd.sends) <= maxKeptReady {
		clear(rd.sends)
		r.spare = rd.sends[:0]
	}
}

// stage adds an item to what goes to s, unless its connection is closing.
func (r *roomCore[S, T]) stage(s *session, it outItem) {
	if s.closing != nil {
		return
	}
	if !s.touched {
		s.touched = true
		r.touched = append(r.touched, s)
	}
	s.out = append(s.out, it)
}

// dropStaged forgets every frame and record not yet taken, closes included.
func (r *roomCore[S, T]) dropStaged() {
	for _, s := range r.touched {
		clear(s.out)
		s.out, s.touched, s.closing = s.out[:0], false, nil
	}
	clear(r.touched)
	r.touched = r.touched[:0]
	clear(r.records)
	r.records = r.records[:0]
}

func (r *roomCore[S, T]) direct(s *session, f *frame) {
	b, err := s.wire.encode(f)
	if err != nil {
		// Our own frames always encode, except a payload the codec refuses (a snapshot JSON
		// cannot express): tell the client and close.
		r.closeWith(s, &ServerError{Code: codeProtocol, Message: err.Error(), Fatal: true})
		return
	}
	r.stage(s, outItem{frame: b})
}

// closeWith ends s's connection after what is staged for it: reason's error frame is the last
// frame it gets.
func (r *roomCore[S, T]) closeWith(s *session, reason *ServerError) {
	if s.closing != nil {
		return
	}
	r.stage(s, outItem{frame: errorFrame(s.wire, reason)})
	s.closing = reason
}

// stop ends the room for why: every connection is closed with reason, and the core takes no more
// steps (the next ready's stopped is why).
func (r *roomCore[S, T]) stop(why error, reason *ServerError) {
	if r.stopped != nil {
		return
	}
	for _, s := range r.sessions {
		r.closeWith(s, reason)
	}
	r.stopped = why
}

// crash stops a room whose state a panic in user code may have left half-changed. Nothing of the
// batch goes out. The client whose transition panicked gets a fatal error (it must not re-send it
// into the same panic); the others get a non-fatal one and reconnect to the room rebuilt from the
// journal, or, without a journal (the state is lost), a fatal one.
func (r *roomCore[S, T]) crash() {
	r.dropStaged()
	msg := fmt.Sprintf("aper/sync: room %q stopped: internal error", r.name)
	for _, s := range r.sessions {
		r.closeWith(s, &ServerError{Code: codeRoom, Message: msg, Fatal: !r.keepRecords || s == r.brokenBy})
	}
	if by := r.brokenBy; by != nil && by.gone() {
		r.closeWith(by, &ServerError{Code: codeRoom, Message: msg, Fatal: true})
	}
	r.stopped = r.broken
}
