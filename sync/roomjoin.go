package sync

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"
	"weak"

	"github.com/aper-go/aper"
)

// join attaches a connection that sent hello h and answers with a welcome: a resume from the
// in-memory log when it still holds everything after h.Seq, or else a snapshot. h.Client is the
// id the connection's transitions carry and h.Inst its client instance (the hash of its key;
// empty: the same as Client; a core test's hello with neither gets a new id).
//
// One connection per instance: a newer connection of the instance supersedes the attached one
// (closed, so that frames still in flight on it are ignored), an older one (a connection attempt
// the client gave up on, joining late) is refused. The supersede is fatal for the old
// connection only when the new one comes from another incarnation of the instance (h.Nonce: a
// copy of the key in another process). A room at its client limit refuses the connection.
//
// If the state is a Membership and the client id is not a member (its first join, or after it
// left for good), its Joined transition is applied after the welcome, as a server event.
func (r *roomCore[S, T]) join(sid sessionID, w *wire, h *frame, id Identity, now time.Time) {
	if r.halted() {
		return
	}
	defer r.guard("the room's state", nil)
	r.joinSession(sid, w, h, id, now)
}

// joinSession is join; it returns the session, nil if it refused the connection.
func (r *roomCore[S, T]) joinSession(sid sessionID, w *wire, h *frame, id Identity, now time.Time) *session {
	cid, inst := h.Client, h.Inst
	if cid == "" {
		cid = r.newID()
	}
	if inst == "" {
		inst = cid
	}
	rec := r.clients[inst]
	refuse := func(code, msg string) *session {
		r.closeWith(&session{id: sid, wire: w, idx: -1}, &ServerError{Code: code, Message: msg})
		return nil
	}
	if r.maxClients > 0 && len(r.sessions) >= r.maxClients && (rec == nil || rec.session == nil) {
		return refuse(codeLimit, fmt.Sprintf("aper/sync: room %q is full (%d clients)", r.name, r.maxClients))
	}
	if rec != nil && rec.session != nil && h.Nonce == rec.nonce && h.Attempt <= rec.attempt {
		return refuse(codeStale, "aper/sync: a newer connection of this client is attached")
	}
	if rec == nil {
		rec = &clientRecord{}
		r.clients[inst] = rec
	}
	if !rec.live {
		// The room has not seen this client since it was loaded: its record, if any, comes from
		// the journal, which keeps no rejections (those of the log after the snapshot are
		// remembered as forgotten ones; those before it are unsure). The client's next
		// transition follows those it says are resolved (rejected ones included); from now on
		// the room counts them itself.
		rec.live = true
		rec.unsure = max(rec.unsure, rec.snapshots)
		if h.Local > rec.processed {
			rec.processed = h.Local
		}
	}
	if old := rec.session; old != nil {
		r.closeWith(old, &ServerError{Code: codeSuperseded, Message: "the same client connected again", Fatal: h.Nonce != rec.nonce})
		r.detach(old)
	}
	rec.client, rec.nonce, rec.attempt = cid, h.Nonce, h.Attempt
	id.Client = cid
	s := &session{id: sid, wire: w, ident: id, client: cid, inst: inst, idx: len(r.sessions)}
	r.sessions = append(r.sessions, s)
	r.byID[sid] = s
	r.perWire[w.idx]++
	rec.session = s
	mem := r.member(cid)
	mem.sessions++

	// Forget the rejections the client says it has seen.
	kept := rec.rejected[:0]
	for _, rj := range rec.rejected {
		if rj.Local > h.Local {
			kept = append(kept, rj)
		}
	}
	clear(rec.rejected[len(kept):])
	rec.rejected = kept
	if rec.unsure <= h.Local {
		rec.unsure = 0
	}

	wf := frame{
		Type:     frameWelcome,
		V:        ProtocolVersion,
		Client:   cid,
		Local:    rec.processed,
		Time:     now.UnixNano(),
		Rejected: rec.rejected,
		Unsure:   rec.unsure,
		Presence: r.presenceList(s),
	}
	if inst != cid {
		wf.Inst = inst
	}
	var fromJournal []record[T]
	if h.Resume && !r.canResume(h.Seq) && r.reader != nil && h.Seq < r.seq && r.seq-h.Seq <= maxJournalResume {
		fromJournal, _ = r.reader.readLog(h.Seq+1, r.seq) // on error, a snapshot
	}
	switch {
	case h.Resume && r.canResume(h.Seq):
		if r.stats != nil {
			r.stats.resumed++
		}
		wf.Seq, wf.Upto = h.Seq, r.seq
		r.direct(s, &wf)
		for i := 0; i < r.logLen; i++ {
			e := &r.log[(r.logStart+i)%len(r.log)]
			if e.ev.Seq > h.Seq {
				r.stage(s, outItem{frame: r.confirmedFrame(e, w)})
			}
		}
	case fromJournal != nil:
		if r.stats != nil {
			r.stats.fromLog++
		}
		wf.Seq, wf.Upto = h.Seq, r.seq
		r.direct(s, &wf)
		for _, rc := range fromJournal {
			e := logEntry[T]{ev: aper.Event[T]{Seq: rc.Seq, Client: rc.Client, Time: rc.Time, Transition: rc.Transition}, inst: rc.Inst, local: rc.Local}
			r.stage(s, outItem{frame: r.confirmedFrame(&e, w)})
		}
	default:
		sb, err := r.snapshot(w)
		if err != nil {
			r.closeWith(s, &ServerError{Code: codeRoom, Fatal: true, Message: fmt.Sprintf("aper/sync: room %q: encode snapshot: %v", r.name, err)})
			r.leaveSession(s, now)
			return s
		}
		wf.Snapshot, wf.Seq = true, sb.seq
		if r.stats != nil {
			r.stats.snapshots++
		}
		if r.chunk <= 0 || len(sb.data) <= r.chunk {
			wf.Data = sb.data
			r.direct(s, &wf)
			break
		}
		// Too large for one message: chunks follow the welcome, from where an earlier
		// connection of the client broke off if it holds the start of this very snapshot.
		send := &snapSend{snap: sb, chunk: r.chunk}
		if h.Part == sb.seq && h.Off < uint64(len(sb.data)) && bytes.Equal(h.Sum, sb.sum[:]) {
			send.off = int(h.Off)
		}
		wf.Size, wf.Off, wf.Sum = uint64(len(sb.data)), uint64(send.off), sb.sum[:]
		r.direct(s, &wf)
		if s.closing == nil {
			s.out[len(s.out)-1].snap = send
		}
	}
	if m, ok := any(r.state).(Membership[T]); ok && !mem.member {
		mem.member = true
		if t, ok := m.Joined(cid); ok {
			r.memberEvent(kindJoined, cid, t, now)
		}
	}
	return s
}

// snapshot returns the state's encoding in codec w at the current Seq, shared with the
// transfers in flight that hold the same one.
func (r *roomCore[S, T]) snapshot(w *wire) (*snapshotBytes, error) {
	if sb := r.snaps[w.idx].Value(); sb != nil && sb.seq == r.seq {
		return sb, nil
	}
	data, err := w.payload.Marshal(r.state)
	if err != nil {
		return nil, err
	}
	sb := &snapshotBytes{seq: r.seq, data: data}
	if r.chunk > 0 && len(data) > r.chunk {
		sb.sum = sha256.Sum256(data)
		r.snaps[w.idx] = weak.Make(sb)
	}
	return sb, nil
}
