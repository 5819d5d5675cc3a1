package sync

import (
	"fmt"
	"time"

	"github.com/aper-go/aper"
)

type logEntry[T any] struct {
	ev     aper.Event[T]
	inst   aper.ClientID // the sender's instance, when it differs from ev.Client
	local  uint64
	frames [numWires][]byte // encoded confirmed frame per codec, made on first need
}

// record is one ordered transition as the journal will keep it: enough to rebuild the state and
// each client's processed local seq.
type record[T any] struct {
	Seq        uint64
	Client     aper.ClientID
	Inst       aper.ClientID // the sender's instance, when it differs from Client
	Local      uint64
	Time       time.Time
	Transition T
	Kind       recordKind    // what made a server event, for Membership
	Subject    aper.ClientID // the client that joined or left
	State      raw           // kindRestore: the state restored, in CBOR
	From       uint64        // kindRestore: the Seq whose state it is
}

// recordKind says what made a transition: a client's submit or the server's own event.
type recordKind uint8

const (
	kindSubmit recordKind = iota // a client's transition, or a timer (Client empty)
	kindJoined                   // Membership.Joined of Subject
	kindLeft                     // Membership.Left of Subject
)

// canResume reports whether the log holds every transition after seq.
func (r *roomCore[S, T]) canResume(seq uint64) bool {
	if seq > r.seq {
		return false // the client knows of transitions this room does not have
	}
	if seq == r.seq {
		return true
	}
	if r.logLen == 0 {
		return false
	}
	first := r.log[r.logStart].ev.Seq
	return seq+1 >= first
}

// confirmedFrame returns e's confirmed frame in codec w, encoding it on first need.
func (r *roomCore[S, T]) confirmedFrame(e *logEntry[T], w *wire) []byte {
	if b := e.frames[w.idx]; b != nil {
		return b
	}
	data, err := w.payload.Marshal(e.ev.Transition)
	if err == nil {
		f := frame{Type: frameConfirmed, Seq: e.ev.Seq, Time: e.ev.Time.UnixNano(), Client: e.ev.Client, Inst: e.inst, Local: e.local, Data: data}
		var b []byte
		if b, err = w.encode(&f); err == nil {
			e.frames[w.idx] = b
			return b
		}
	}
	// A transition the codec cannot encode: its readers cannot follow the room. Send them
	// an error frame in its place; deliver closes them.
	return errorFrame(w, &ServerError{Code: codeProtocol, Fatal: true,
		Message: fmt.Sprintf("room %q: encode transition %d: %v", r.name, e.ev.Seq, err)})
}

// push adds an ordered transition to the in-memory log, dropping the oldest once it holds
// logMax entries. The ring grows as it fills (doubling, from minLog entries), so that a room
// with few transitions does not pay for the configured maximum.
func (r *roomCore[S, T]) push(ev aper.Event[T], inst aper.ClientID, local uint64) *logEntry[T] {
	if r.logLen == len(r.log) && len(r.log) < r.logMax {
		r.resizeLog(min(max(2*len(r.log), minLog), r.logMax))
	}
	var e *logEntry[T]
	if r.logLen < len(r.log) {
		e = &r.log[(r.logStart+r.logLen)%len(r.log)]
		r.logLen++
	} else {
		e = &r.log[r.logStart]
		r.logStart = (r.logStart + 1) % len(r.log)
	}
	*e = logEntry[T]{ev: ev, inst: inst, local: local}
	return e
}

// minLog is the size of a room's resume log when it first grows.
const minLog = 4

// idleLog is how many of its latest transitions an idle room keeps in its resume log (see
// trimLog).
const idleLog = 16

// resizeLog moves the log's entries, oldest first, into a ring of n ≥ logLen entries.
func (r *roomCore[S, T]) resizeLog(n int) {
	log := make([]logEntry[T], n)
	for i := range r.logLen {
		log[i] = r.log[(r.logStart+i)%len(r.log)]
	}
	r.log, r.logStart = log, 0
}

// trimLog shrinks the resume log of a room that went idle to its latest idleLog entries,
// without their cached frames, so that a room nobody is connected to holds little more than its
// state. A client that resumes from further back gets its transitions from the journal, or a
// snapshot.
func (r *roomCore[S, T]) trimLog() {
	if len(r.log) <= idleLog {
		return
	}
	if n := r.logLen - idleLog; n > 0 {
		r.logStart = (r.logStart + n) % len(r.log)
		r.logLen = idleLog
	}
	r.resizeLog(r.logLen)
	for i := range r.log {
		r.log[i].frames = [numWires][]byte{}
	}
}

// replay applies a journaled record while rebuilding the room, restoring the state, the Seq and
// the sender's processed local seq. The local seqs a sender skipped were rejected (the journal
// keeps only what was applied): they are remembered as rejections whose reason is forgotten.
// Nothing is sent.
func (r *roomCore[S, T]) replay(rc record[T]) error {
	if rc.Seq != r.seq+1 {
		return fmt.Errorf("aper/sync: room %q: record %d follows %d", r.name, rc.Seq, r.seq)
	}
	if rc.Kind == kindRestore {
		return r.replayRestore(rc)
	}
	ev := aper.Event[T]{Seq: rc.Seq, Client: rc.Client, Time: rc.Time, Transition: rc.Transition}
	if err := r.apply(&ev, nil); err != nil {
		return wrap(err, "room %q: replay %d", r.name, rc.Seq) // err may be a *panicError
	}
	if rc.Client != "" && rc.Local > 0 {
		inst := rc.Inst
		if inst == "" {
			inst = rc.Client
		}
		rec := r.clients[inst]
		if rec == nil {
			rec = &clientRecord{}
			r.clients[inst] = rec
		}
		rec.client = rc.Client
		if rc.Local > rec.processed+1 {
			from := rec.processed + 1
			if lim := uint64(max(r.maxRejections, 0)); rc.Local-from > lim {
				from = rc.Local - lim
				rec.unsure = max(rec.unsure, from-1)
			}
			for l := from; l < rc.Local; l++ {
				rec.remember(rejectionRecord{Local: l, Conflict: errForgotten}, r.maxRejections)
			}
		}
		rec.processed = max(rec.processed, rc.Local)
	}
	if rc.Subject != "" {
		r.member(rc.Subject).member = rc.Kind == kindJoined
		r.dropMember(rc.Subject)
	}
	r.seq = rc.Seq
	r.push(ev, rc.Inst, rc.Local)
	return nil
}

// replayed ends a rebuild at now: members that have no connection (all of them, after a
// restart) start their grace period, so that they leave for good unless they come back.
func (r *roomCore[S, T]) replayed(now time.Time) {
	for _, mem := range r.members {
		if mem.member && mem.sessions == 0 {
			mem.awayAt = now
		}
	}
}
