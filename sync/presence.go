package sync

import (
	"time"

	"github.com/aper-go/aper"
)

// presenceValue is a client's presence value, encoded in the codec it came in and converted to
// the others on first need.
type presenceValue struct {
	src  int            // the wire it came in
	data [numWires]raw  // the value per codec (nil: not yet converted)
	bad  [numWires]bool // conversion to that codec failed: its clients do not see it
}

// presenceList returns the presence values of the clients other than s, in s's codec.
func (r *roomCore[S, T]) presenceList(s *session) []presenceRecord {
	var list []presenceRecord
	for id, p := range r.presence {
		if id == s.client {
			continue
		}
		if d := r.presenceData(p, s.wire); d != nil {
			list = append(list, presenceRecord{Client: id, Data: d})
		}
	}
	return list
}

// presenceData returns p's value in codec w, converting it on first need; nil if it does not
// convert.
func (r *roomCore[S, T]) presenceData(p *presenceValue, w *wire) raw {
	if p.data[w.idx] == nil && !p.bad[w.idx] {
		d, err := convertPayload(p.data[p.src], wires[p.src], w)
		if err != nil {
			p.bad[w.idx] = true
		} else {
			p.data[w.idx] = d
		}
	}
	return p.data[w.idx]
}

// setPresence records s's client's presence value (data in s's codec; null clears it) and
// broadcasts it to the room's other sessions. Presence is not ordered, not part of the state and
// never journaled. A value that comes within the presence throttle of the last one passed on is
// held (a later one replaces it) until flushPresence passes it on.
func (r *roomCore[S, T]) setPresence(s *session, data raw, now time.Time) {
	if s.gone() {
		return
	}
	if r.presenceEvery > 0 && !s.presAt.IsZero() && now.Before(s.presAt.Add(r.presenceEvery)) {
		s.held, s.isHeld = data, true
		if !s.heldList {
			s.heldList = true
			r.presenceHeld = append(r.presenceHeld, s)
		}
		return
	}
	s.held, s.isHeld = nil, false
	s.presAt = now
	r.passPresence(s, data)
}

// flushPresence passes on the held presence values whose time has come, and returns when the
// next one is due (ok false: none is held).
func (r *roomCore[S, T]) flushPresence(now time.Time) (next time.Time, ok bool) {
	kept := r.presenceHeld[:0]
	for _, s := range r.presenceHeld {
		if s.gone() || !s.isHeld {
			s.heldList = false
			continue
		}
		at := s.presAt.Add(r.presenceEvery)
		if at.After(now) {
			kept = append(kept, s)
			if !ok || at.Before(next) {
				next, ok = at, true
			}
			continue
		}
		s.heldList = false
		data := s.held
		s.held, s.isHeld = nil, false
		s.presAt = now
		r.passPresence(s, data)
	}
	clear(r.presenceHeld[len(kept):])
	r.presenceHeld = kept
	return next, ok
}

// passPresence records and broadcasts s's presence value.
func (r *roomCore[S, T]) passPresence(s *session, data raw) {
	if r.stats != nil {
		r.stats.presence++
	}
	if nullPayload(data) {
		r.clearPresence(s.client, s)
		return
	}
	p := &presenceValue{src: s.wire.idx}
	p.data[s.wire.idx] = data
	r.presence[s.client] = p
	var frames [numWires][]byte
	for _, w := range wires {
		if r.perWire[w.idx] == 0 {
			continue
		}
		if d := r.presenceData(p, w); d != nil {
			frames[w.idx], _ = w.encode(&frame{Type: framePresence, Client: s.client, Data: d})
		}
	}
	r.broadcastExcept(s, frames)
}

// clearPresence removes a client's presence value, telling the room's other sessions.
func (r *roomCore[S, T]) clearPresence(id aper.ClientID, except *session) {
	if _, ok := r.presence[id]; !ok {
		return
	}
	delete(r.presence, id)
	var frames [numWires][]byte
	for _, w := range wires {
		if r.perWire[w.idx] > 0 {
			frames[w.idx], _ = w.encode(&frame{Type: framePresence, Client: id})
		}
	}
	r.broadcastExcept(except, frames)
}

// broadcastExcept stages an unordered frame (presence) for every session but except, in its
// codec; a codec whose frame is nil gets nothing.
func (r *roomCore[S, T]) broadcastExcept(except *session, frames [numWires][]byte) {
	for _, s := range r.sessions {
		if s != except && frames[s.wire.idx] != nil {
			r.stage(s, outItem{frame: frames[s.wire.idx]})
		}
	}
}
