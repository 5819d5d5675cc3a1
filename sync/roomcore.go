package sync

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"
	"weak"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// roomCore is the synchronous, single-threaded heart of a room: it orders transitions, applies
// them, remembers what each client has had processed, and says which frames go to which session.
// It does no I/O, starts no goroutine and reads no clock: on the pattern of etcd-io/raft's
// RawNode, it is driven by a few verbs, each given the time,
//
//   - join: a connection's hello (its session id picked by the caller),
//   - submit: a batch of one connection's submissions, with the reader's refusals, and its
//     latest presence value,
//   - leave: a connection ended,
//   - tick: the time passed (the state's timers, members' grace periods, held presence values),
//   - stop: the room ends (the server shuts down, the journal failed),
//
// and, after one or more steps, hands back one output value, a ready (see takeReady): the
// records to make durable, the frames for each session, addressed by id, and why the room
// stopped if it did. The caller makes the records durable before it sends any frame (see ready).
// The goroutine layer (roomloop.go's room.run) is one loop that feeds the core and carries out
// its output; tests drive the same verbs and read the same output.
//
// Rebuilding a room (restore, replay, replayed) replays journaled records, which restores both
// the state and each client's highest processed local seq (exactly-once survives a restart); a
// room that follows a replicated log elsewhere would be fed the same way. Reads of the journal
// for a resume go through the logReader given at construction.
type roomCore[S aper.StateMachine[S, T], T any] struct {
	name  string
	state S
	seq   uint64 // the Seq of the last ordered transition

	clients  map[aper.ClientID]*clientRecord // by instance (see session.inst)
	members  map[aper.ClientID]*memberRecord // by client id: connections, Membership, presence
	sessions []*session                      // attached sessions, in join order (with holes removed on leave)
	perWire  [numWires]int

	// log is a ring of the latest ordered transitions, for resume: logLen entries from index
	// logStart on. It grows on demand (see push), up to logMax entries, and is trimmed when the
	// room goes idle (see trimLog), so that a room's memory follows what it holds.
	log      []logEntry[T]
	logStart int // index of the oldest entry
	logLen   int
	logMax   int

	keepRecords   bool
	maxRejections int
	newID         func() aper.ClientID
	permit        func(id Identity, state S, t T) error
	rate          float64 // transitions per second per client, 0 for no limit
	burst         float64
	maxClients    int
	grace         time.Duration // how long a member may be away before it has left for good

	// reader reads transitions from the journal, for a resume the in-memory log no longer
	// covers; nil without a journal.
	reader logReader[T]

	presence      map[aper.ClientID]*presenceValue
	presenceEvery time.Duration // the presence throttle: see WithPresenceThrottle
	presenceHeld  []*session    // sessions holding a presence value back (session.held)

	timerStuck    uint64 // the Seq at which the state's timer transition failed; no retry before it moves
	timerStuckSet bool

	// The output accumulated since the last takeReady: the records, the sessions with frames
	// staged (session.out), the panics the room survived, and why it stopped.
	records []record[T]
	touched []*session
	panics  []*panicError
	stopped error
	busy    bool   // a timer or a grace period is running: the room must stay loaded
	spare   []send // the sends of the last ready, handed back by recycle

	byID map[sessionID]*session // the attached sessions by id

	// snaps is the last snapshot encoded per codec, while a transfer still holds it: joiners at
	// the same Seq share it. chunk is the chunk size of snapshot transfers (0: never chunk).
	snaps [numWires]weak.Pointer[snapshotBytes]
	chunk int

	duplicates uint64 // submits ignored because their local seq was already processed

	stats *roomStats // what the metrics count; nil without them

	// broken is set when user code (Apply, a hook) panicked in the room's goroutine: the state
	// may be half-changed, so the layer discards the batch and stops the room. brokenBy is the
	// session whose transition panicked, if any.
	broken   *panicError
	brokenBy *session
}

// panicError is a panic recovered from user code: the permission, auth or factory hook, or a
// method of the state.
type panicError struct {
	what  string
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("aper/sync: panic in %s: %v", e.what, e.value)
}

// recovered wraps a value recover returned, with the stack.
func recovered(what string, v any) *panicError {
	return &panicError{what: what, value: v, stack: debug.Stack()}
}

// catch calls f, turning a panic into a *panicError.
func catch(what string, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = recovered(what, v)
		}
	}()
	return f()
}

// guard, deferred by a verb, turns a panic in user code into a broken core (see broken): the
// next ready stops the room.
func (r *roomCore[S, T]) guard(what string, by *session) {
	if v := recover(); v != nil {
		r.crashed(recovered(what, v), by)
	}
}

// halted reports whether the core takes no more steps: it stopped, or a panic broke it.
func (r *roomCore[S, T]) halted() bool { return r.stopped != nil || r.broken != nil }

// crashed records a panic that leaves the state unusable (see broken).
func (r *roomCore[S, T]) crashed(p *panicError, by *session) {
	if r.broken == nil {
		r.broken, r.brokenBy = p, by
	}
}

// apply applies ev to the state; a panic marks the core broken and is returned as an error.
// When the state is an aper.Orderer, ev's transition becomes its ordered form, the one the room
// sends and logs.
func (r *roomCore[S, T]) apply(ev *aper.Event[T], by *session) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p := recovered("Apply", v)
			r.crashed(p, by)
			err = p
		}
	}()
	if err := r.state.Apply(*ev); err != nil {
		return err
	}
	if o, ok := any(r.state).(aper.Orderer[T]); ok {
		ev.Transition = o.Ordered(ev.Transition)
	}
	return nil
}

// asSent returns a client's transition t as its author would send it, when the state is an
// aper.Orderer: what a server adds to its ordered form (a text edit's op as applied, which
// replicas apply without transforming it) is the server's to say, not a client's.
func (r *roomCore[S, T]) asSent(t T) T {
	if o, ok := any(r.state).(aper.Orderer[T]); ok {
		return o.Sent(t)
	}
	return t
}

// checkPermit asks the permission hook; a panic is returned as a *panicError (the hook only
// reads the state, which stays usable).
func (r *roomCore[S, T]) checkPermit(id Identity, t T) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = recovered("the permission hook", v)
		}
	}()
	return r.permit(id, r.state, t)
}

// sessionID names a connection attached to a room. The caller of join picks it, unique within
// the room; the core's output addresses sessions by it.
type sessionID uint64

// session is one connection attached to a room.
type session struct {
	id     sessionID
	wire   *wire // the connection's codec
	ident  Identity
	client aper.ClientID // the id its transitions carry (Event.Client)
	inst   aper.ClientID // the client instance: the hash of its key, what exactly-once counts by
	idx    int           // position in roomCore.sessions, -1 once gone

	out     []outItem    // frames staged for the next ready
	touched bool         // s is in roomCore.touched
	closing *ServerError // why its connection ends: the last frame staged for it says so

	presAt   time.Time // when the room last passed on this session's presence value
	held     raw       // a presence value held back by the throttle, with isHeld
	isHeld   bool
	heldList bool // s is in roomCore.presenceHeld
}

func (s *session) gone() bool { return s.idx < 0 }

// clientRecord is what the room remembers of a client instance (one key: one Client, or one
// process that keeps its key) across its connections.
type clientRecord struct {
	client    aper.ClientID     // the id its transitions carry
	processed uint64            // highest local seq applied or rejected
	rejected  []rejectionRecord // the last rejections not yet acknowledged by a hello
	unsure    uint64            // rejections of local seqs ≤ unsure may be missing from rejected
	session   *session          // the current connection, or nil
	nonce     uint64            // the session's hello: which incarnation of the instance,
	attempt   uint64            // and which of its connection attempts

	tokens float64   // the rate limit's token bucket
	refill time.Time // when tokens was last topped up

	live      bool   // joined since the room was loaded: processed is the room's own count
	snapshots uint64 // processed as the journal's snapshot had it, when the room was loaded
}

// memberRecord is what the room knows of a client id: the instances connected with it, and
// whether it is a member (see Membership).
type memberRecord struct {
	sessions int
	member   bool      // joined and not yet left for good (tracked when the state is a Membership)
	awayAt   time.Time // when its last connection ended, while member and sessions == 0
}

// member returns the record of client id, making it if need be.
func (r *roomCore[S, T]) member(id aper.ClientID) *memberRecord {
	m := r.members[id]
	if m == nil {
		m = &memberRecord{}
		r.members[id] = m
	}
	return m
}

// remember keeps a rejection for the client's next hello, up to limit of them: the oldest one
// dropped raises unsure. limit 0 keeps none.
func (c *clientRecord) remember(rr rejectionRecord, limit int) {
	if limit <= 0 {
		c.unsure = rr.Local
		return
	}
	if len(c.rejected) >= limit {
		c.unsure = max(c.unsure, c.rejected[0].Local)
		n := copy(c.rejected, c.rejected[1:])
		c.rejected = c.rejected[:n]
	}
	c.rejected = append(c.rejected, rr)
}

type roomConfig[S, T any] struct {
	logSize       int
	maxRejections int
	keepRecords   bool
	newID         func() aper.ClientID
	permit        func(id Identity, state S, t T) error
	rate          float64
	burst         int
	maxClients    int
	grace         time.Duration
	presenceEvery time.Duration
	chunk         int          // chunk size of snapshot transfers; 0: snapshots travel in the welcome
	reader        logReader[T] // the journal's records, for a resume; nil: none
	stats         *roomStats   // counts for the metrics; nil: none
}

// logReader reads a room's ordered transitions from durable storage, for a resume that the
// in-memory log no longer covers.
type logReader[T any] interface {
	// readLog returns the records of Seq from to to, in order, or an error. The slice is the
	// caller's.
	readLog(from, to uint64) ([]record[T], error)
}

func newRoomCore[S aper.StateMachine[S, T], T any](name string, state S, cfg roomConfig[S, T]) *roomCore[S, T] {
	if cfg.logSize <= 0 {
		cfg.logSize = 1
	}
	burst := float64(cfg.burst)
	if burst < 1 {
		burst = max(1, cfg.rate)
	}
	return &roomCore[S, T]{
		name:          name,
		state:         state,
		clients:       make(map[aper.ClientID]*clientRecord),
		members:       make(map[aper.ClientID]*memberRecord),
		logMax:        cfg.logSize,
		keepRecords:   cfg.keepRecords,
		maxRejections: cfg.maxRejections,
		newID:         cfg.newID,
		permit:        cfg.permit,
		rate:          cfg.rate,
		burst:         burst,
		maxClients:    cfg.maxClients,
		grace:         cfg.grace,
		presence:      make(map[aper.ClientID]*presenceValue),
		presenceEvery: cfg.presenceEvery,
		chunk:         cfg.chunk,
		reader:        cfg.reader,
		stats:         cfg.stats,
		byID:          make(map[sessionID]*session),
	}
}

// cloneState returns a copy of the state and its Seq; ok false if Clone panicked (the core is
// then broken).
func (r *roomCore[S, T]) cloneState() (st S, seq uint64, ok bool) {
	if r.halted() {
		return st, 0, false
	}
	defer r.guard("Clone", nil)
	return r.state.Clone(), r.seq, true
}

// submit is a connection's batch: its submissions in order (those the reader refused already
// are rejected as it says), then its latest presence value. A batch of a session that is gone
// (a frame still in flight on a superseded or closed connection) is ignored.
func (r *roomCore[S, T]) submit(id sessionID, b batch[T], now time.Time) {
	s := r.byID[id]
	if s == nil || r.halted() {
		return
	}
	defer r.guard("the room's state", s)
	for _, sub := range b.subs {
		if r.broken != nil {
			return
		}
		if sub.refuse != "" {
			r.refuse(s, sub.local, sub.refuse, sub.why, now)
		} else {
			r.order(s, sub.local, sub.t, now)
		}
	}
	if b.hasPresence {
		r.setPresence(s, b.presence, now)
	}
}

// batch is what a connection's reader passes to its room from one transport message.
type batch[T any] struct {
	subs        []submission[T]
	presence    raw // with hasPresence: the connection's new presence value (after subs)
	hasPresence bool
}

// submission is one submitted transition, or the reader's refusal of it.
type submission[T any] struct {
	local  uint64
	t      T
	refuse string // a refusal code, when the reader refused it already
	why    string
}

// leave detaches the session of a connection that ended at now (see leaveSession).
func (r *roomCore[S, T]) leave(id sessionID, now time.Time) {
	s := r.byID[id]
	if s == nil || r.halted() {
		return
	}
	defer r.guard("the room's state", s)
	r.leaveSession(s, now)
}

// tick fires what is due at now (the state's timers, members' grace periods, held presence
// values) and returns when it is to be called next (ok false: nothing is scheduled).
func (r *roomCore[S, T]) tick(now time.Time) (next time.Time, ok bool) {
	if r.halted() {
		return next, false
	}
	defer r.guard("a Timer or Membership method", nil)
	next, ok = r.fireTimers(now)
	r.busy = ok
	if at, ok2 := r.expireMembers(now); ok2 && (!ok || at.Before(next)) {
		next, ok = at, true
	}
	if at, ok2 := r.flushPresence(now); ok2 && (!ok || at.Before(next)) {
		next, ok = at, true
	}
	r.busy = r.busy || r.away()
	return next, ok
}

// idle reports whether the room may unload: nobody is connected and, as of the last tick, no
// timer or grace period runs.
func (r *roomCore[S, T]) idle() bool { return r.empty() && !r.busy }

// order orders, applies and broadcasts a transition from session s, or rejects it to s alone.
// A local seq the room has already processed for this client is a duplicate (a re-send after a
// reconnection): it is ignored, since the welcome of the client's current connection told it the
// outcome. A client over its rate, or whose transition the permission hook refuses, gets a
// refusal (a rejection with a code), which counts as processed.
func (r *roomCore[S, T]) order(s *session, local uint64, t T, now time.Time) {
	if s.gone() {
		return // a frame still in flight on a superseded or closed connection
	}
	rec := r.clients[s.inst]
	if !r.inOrder(s, rec, local, now) {
		return
	}
	t = r.asSent(t)
	if r.rate > 0 && !rec.take(now, r.rate, r.burst) {
		r.refuse(s, local, codeRate, fmt.Sprintf("over %g transitions per second", r.rate), now)
		return
	}
	if r.permit != nil {
		if err := r.checkPermit(s.ident, t); err != nil {
			msg := err.Error()
			if p := (*panicError)(nil); errors.As(err, &p) {
				r.panics = append(r.panics, p)
				msg = "internal error"
			}
			r.refuse(s, local, codeForbidden, msg, now)
			return
		}
	}
	rec.processed = local
	ev := aper.Event[T]{Seq: r.seq + 1, Client: s.client, Time: now, Transition: t}
	if err := r.apply(&ev, s); err != nil {
		if r.broken != nil {
			return
		}
		c := conflict.As(err)
		if c == nil {
			c = conflict.New(conflict.Invalid, err.Error())
		}
		r.reject(s, rec, local, c, "")
		return
	}
	r.ordered(ev, s.instIfOwn(), local, kindSubmit, "")
}

// instIfOwn returns s's instance when it differs from its client id (what confirmed frames and
// records carry), else "".
func (s *session) instIfOwn() aper.ClientID {
	if s.inst == s.client {
		return ""
	}
	return s.inst
}

// inOrder reports whether local is the next local seq of s's client (the one after the highest
// it has had processed). A lower one is a duplicate, ignored. A higher one is a protocol error
// that closes s's connection: a client numbers its transitions 1, 2, 3, ... and sends them in
// order, so a gap is a peer that tries to make the room ignore another's transitions.
func (r *roomCore[S, T]) inOrder(s *session, rec *clientRecord, local uint64, now time.Time) bool {
	switch {
	case local <= rec.processed:
		r.duplicates++
		return false
	case local-1 != rec.processed:
		r.closeWith(s, &ServerError{Code: codeProtocol, Fatal: true,
			Message: fmt.Sprintf("aper/sync: submit of local seq %d, want %d", local, rec.processed+1)})
		r.leaveSession(s, now)
		return false
	}
	return true
}

// take takes one token from the client's bucket, refilled at rate per second up to burst.
func (c *clientRecord) take(now time.Time, rate, burst float64) bool {
	if c.refill.IsZero() {
		c.tokens = burst
	} else if d := now.Sub(c.refill); d > 0 {
		c.tokens = min(burst, c.tokens+d.Seconds()*rate)
	}
	c.refill = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// refuse rejects s's transition local without applying it: code says why (see RefusedError).
func (r *roomCore[S, T]) refuse(s *session, local uint64, code, msg string, now time.Time) {
	if s.gone() {
		return
	}
	rec := r.clients[s.inst]
	if !r.inOrder(s, rec, local, now) {
		return
	}
	rec.processed = local
	r.reject(s, rec, local, conflict.New(conflict.Rejected, "aper/sync: "+code+": "+msg), code)
}

func (r *roomCore[S, T]) reject(s *session, rec *clientRecord, local uint64, c *conflict.Conflict, code string) {
	rec.remember(rejectionRecord{Local: local, Conflict: c, Code: code}, r.maxRejections)
	if r.stats != nil {
		kind := code
		if kind == "" {
			kind = string(c.Kind)
		}
		r.stats.reject(kind)
	}
	r.direct(s, &frame{Type: frameRejected, Local: local, Conflict: c, Code: code})
}

// serverEvent orders and applies a transition the server makes itself (a timer, an agent, a join
// or leave of the next step): no client, no local seq. A conflict is returned and nothing is
// broadcast.
func (r *roomCore[S, T]) serverEvent(t T, now time.Time) error {
	return r.memberEvent(kindSubmit, "", t, now)
}

// memberEvent is serverEvent for a Membership transition about client subject.
func (r *roomCore[S, T]) memberEvent(kind recordKind, subject aper.ClientID, t T, now time.Time) error {
	ev := aper.Event[T]{Seq: r.seq + 1, Time: now, Transition: t}
	if err := r.apply(&ev, nil); err != nil {
		return wrap(err, "room %q: server event", r.name) // err may be a *panicError
	}
	r.ordered(ev, "", 0, kind, subject)
	return nil
}

// maxTimerRun bounds how many due timer transitions one call of fireTimers applies.
const maxTimerRun = 64

// fireTimers applies the state's timer transitions that are due at now (see Timer), as server
// events, and returns when the next one is due (ok false: none). A timer transition that
// conflicts is not retried until the room's Seq moves on (so that a state that keeps naming it
// does not spin).
func (r *roomCore[S, T]) fireTimers(now time.Time) (next time.Time, ok bool) {
	tm, isTimer := any(r.state).(Timer[T])
	if !isTimer {
		return time.Time{}, false
	}
	for range maxTimerRun {
		if r.timerStuckSet && r.timerStuck == r.seq {
			return time.Time{}, false
		}
		t, at, ok := tm.NextTimer()
		if !ok {
			return time.Time{}, false
		}
		if at.After(now) {
			return at, true
		}
		if err := r.serverEvent(t, now); err != nil {
			r.timerStuck, r.timerStuckSet = r.seq, true
			return time.Time{}, false
		}
	}
	return now, true // more are due: come back after the other messages
}

// expireMembers applies the Left transition of every member whose connection ended more than
// the grace period before now, and returns when the next one is due (ok false: none).
func (r *roomCore[S, T]) expireMembers(now time.Time) (next time.Time, ok bool) {
	m, isMembership := any(r.state).(Membership[T])
	if !isMembership {
		return time.Time{}, false
	}
	var due []aper.ClientID
	for id, mem := range r.members {
		if !mem.member || mem.sessions > 0 {
			continue
		}
		at := mem.awayAt.Add(r.grace)
		if !at.After(now) {
			due = append(due, id)
		} else if !ok || at.Before(next) {
			next, ok = at, true
		}
	}
	slices.Sort(due) // a deterministic order
	for _, id := range due {
		if r.broken != nil {
			break
		}
		r.members[id].member = false
		r.dropMember(id)
		if t, ok := m.Left(id); ok {
			r.memberEvent(kindLeft, id, t, now)
		}
	}
	return next, ok
}

// away reports whether a member's grace period is running (the room must stay loaded).
func (r *roomCore[S, T]) away() bool {
	if _, ok := any(r.state).(Membership[T]); !ok {
		return false
	}
	for _, mem := range r.members {
		if mem.member && mem.sessions == 0 {
			return true
		}
	}
	return false
}

// dropMember forgets a client id with no connection that is not a member.
func (r *roomCore[S, T]) dropMember(id aper.ClientID) {
	if m := r.members[id]; m != nil && m.sessions == 0 && !m.member {
		delete(r.members, id)
	}
}

// ordered records an applied transition: next Seq, log, journal record, broadcast. inst is the
// sender's instance when it differs from ev.Client.
func (r *roomCore[S, T]) ordered(ev aper.Event[T], inst aper.ClientID, local uint64, kind recordKind, subject aper.ClientID) {
	r.seq = ev.Seq
	if r.stats != nil {
		r.stats.confirmed++
	}
	e := r.push(ev, inst, local)
	if r.keepRecords {
		r.records = append(r.records, record[T]{Seq: ev.Seq, Client: ev.Client, Inst: inst, Local: local, Time: ev.Time, Transition: ev.Transition, Kind: kind, Subject: subject})
	}
	var frames [numWires][]byte
	for _, w := range wires {
		if r.perWire[w.idx] > 0 {
			frames[w.idx] = r.confirmedFrame(e, w)
		}
	}
	for _, s := range r.sessions {
		r.stage(s, outItem{frame: frames[s.wire.idx]})
	}
}

// leaveSession detaches a session whose connection ended at now. The client's record stays, for its
// return; when it was the client id's last connection, its presence goes, for everyone, and a
// member's grace period starts. When it was the room's last connection, the resume log is
// trimmed (see trimLog).
func (r *roomCore[S, T]) leaveSession(s *session, now time.Time) {
	if s.gone() {
		return
	}
	r.detach(s)
	if mem := r.members[s.client]; mem != nil && mem.sessions == 0 {
		mem.awayAt = now
		r.clearPresence(s.client, nil)
		r.dropMember(s.client)
	}
	if r.empty() {
		r.trimLog()
	}
}

func (r *roomCore[S, T]) detach(s *session) {
	if s.gone() {
		return
	}
	last := len(r.sessions) - 1
	r.sessions[s.idx] = r.sessions[last]
	r.sessions[s.idx].idx = s.idx
	r.sessions[last] = nil
	r.sessions = r.sessions[:last]
	r.perWire[s.wire.idx]--
	s.idx = -1
	delete(r.byID, s.id)
	if rec := r.clients[s.inst]; rec != nil && rec.session == s {
		rec.session = nil
	}
	if mem := r.members[s.client]; mem != nil {
		mem.sessions--
	}
}

// empty reports whether no connection is attached.
func (r *roomCore[S, T]) empty() bool { return len(r.sessions) == 0 }
