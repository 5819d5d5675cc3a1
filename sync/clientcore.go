package sync

import (
	"fmt"
	"reflect"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/undo"
)

// Rejection is a transition of this client that the server refused: it was never applied and
// never broadcast, and the optimistic view no longer holds it.
type Rejection[T any] struct {
	Transition T
	// Conflict is the server's reason. When the server no longer remembers it (the client was
	// away for many rejections), it is a conflict of kind conflict.Rejected saying so.
	Conflict *conflict.Conflict
	// Err is the reason as an error: a *RefusedError when the server refused the transition
	// before applying it (the permission hook: ErrForbidden; a limit: ErrLimit), else Conflict.
	//
	// Handle is the handle of the Submit or Apply that made the transition (nil for one
	// restored from a client store).
	Handle *Handle
	// Err is ErrOutcomeUnknown in one rare case: the client came back with a snapshot after
	// the server had forgotten some of its outcomes (a restart after rejections that no
	// snapshot kept, or more rejections while it was away than the server keeps), and the
	// server could not say whether it applied the transition. It left the optimistic view; the
	// snapshot holds it if it was applied.
	Err error
}

func newRejection[T any](t T, cf *conflict.Conflict, code string) Rejection[T] {
	r := Rejection[T]{Transition: t, Conflict: cf, Err: cf}
	if code != "" {
		r.Err = &RefusedError{Code: code, Message: cf.Message}
	}
	return r
}

// pendingEntry is a transition applied optimistically and sent (or to be sent), not yet
// confirmed or rejected.
type pendingEntry[T any] struct {
	local   uint64
	t       T
	time    time.Time // the time it was applied with, the client's estimate of the server's clock
	skipped bool      // it conflicts on the current view, which therefore lacks it
	h       *Handle   // resolved with the server's verdict; nil when restored from a store
	ref     undo.Ref  // its inverse on the undo stack, or 0
}

// clientCore is the synchronous heart of a client: the confirmed state (the server's state at
// Seq), the queue of pending transitions, and the optimistic view (confirmed plus pending). It
// does no I/O; the goroutine layer (Client) feeds it frames and sends what it returns.
//
// The view is confirmed itself while nothing is pending. Otherwise it is a separate Clone. When
// the server confirms the client's own oldest pending transition and nothing else came first,
// the view is already right: the transition moves to confirmed and no rebase happens. When a
// transition of another client arrives, it is applied to confirmed and the view is rebuilt once
// per batch of frames: confirmed.Clone() (O(1) for the library's structures) plus the pending
// transitions, so a rebase costs O(pending), not O(state).
//
// A view kept across many own confirmations is still rebuilt now and then: every
// max(keptViewMin, pending) of them, so the cost stays O(1) per confirmation amortized. A state
// machine may depend on how its transitions were applied, not only on which (text.Text bases a
// client's new edits on the last version its view was rebuilt from, and that base must stay
// within the text's history).
type clientCore[S aper.StateMachine[S, T], T any] struct {
	id        aper.ClientID // the id its transitions carry (the server's word)
	inst      aper.ClientID // its instance, the hash of its key (the server's word)
	nonce     uint64        // drawn once: tells this Client from another holding the same key
	attempt   uint64        // connections made
	confirmed S
	view      S
	viewIsC   bool // view and confirmed are the same value (nothing pending)
	hasState  bool
	resync    bool   // the state is in doubt: ask for a snapshot on the next connection
	seq       uint64 // Seq of the last confirmed transition
	nextLocal uint64 // the local seq of the last transition applied
	pending   []pendingEntry[T]
	dirty     bool          // the view must be rebuilt
	kept      int           // own confirmations the view absorbed since it was last rebuilt
	offset    time.Duration // estimate of server clock minus local clock

	// Rebasing by the state (see aper.Rebaser): the pending transitions are made on confirmed
	// as it was deferred foreign transitions ago (plus the pending ones before each). replay
	// says the state cannot rebase them (it is no Rebaser, or it failed, or a snapshot came
	// between): they are re-applied to a Clone of confirmed instead, until none is pending.
	deferred int
	replay   bool
	held     uint64 // pending transitions up to this local seq may be with the server as they are
	scratch  []T

	// The view as the user last read it. The view is rebuilt only when it is read (State, or
	// Apply when it must), but the pending transitions are rewritten whenever they must be (an
	// own transition confirmed after others', a batch, a checkpoint, a resume), so a user who
	// read the view before such a rewrite makes their next transition on a view whose pending
	// transitions are older than the core's. shown says the view is one the user may hold: Apply
	// applies to it as it is and carries the transition over the rewrites since (frame).
	shown bool
	frame viewFrame[S, T]
	// behind counts the transitions confirmed applied since the view was read while it was
	// confirmed itself: a transition made on it is made on confirmed as it was before them.
	behind int

	store *clientStore[S, T] // nil: no client store (WithClientStore); the hooks below record into it

	// Set by a welcome, until the client is live on the connection.
	live       bool
	catchingUp bool
	upto       uint64
	resolved   uint64 // the welcome's Local: every local seq ≤ resolved was processed by the server
	records    []rejectionRecord

	// The other clients' presence values, as the server last told (in codec peerCodec).
	peers     map[aper.ClientID]raw
	peerCodec aper.Codec

	// Outputs since the last take.
	changed     bool
	presChanged bool
	rejections  []Rejection[T]
	events      []Event[T] // only while watch
	rebased     bool       // remote transitions came before pending ones (an EventRebased)

	watch bool             // someone subscribed: record events
	undo  *undo.Manager[T] // WithUndo, or nil
}

// viewFrame records how the pending transitions were rewritten since the view was built, so
// that a transition made on that view can be rewritten the same way (carry).
type viewFrame[S, T any] struct {
	// list holds the transitions the view holds beyond the state of the first step, as the
	// view holds them: the pending ones at the first rewrite, then those applied since.
	list  []T
	steps []frameStep[S]
}

// frameStep is one rewrite of the pending transitions: by the Rebaser state, over its last n
// transitions, the first exact ones exactly; then drop of them left the queue, confirmed.
type frameStep[S any] struct {
	state          S
	n, exact, drop int
}

// maxFrameSteps bounds the rewrites a view that is not read again is carried over; past it the
// view is rebuilt before the next Apply, as it is for a state without a Rebaser.
const maxFrameSteps = 64

// hello returns the hello for a new connection to room and makes the core not live until the
// welcome.
func (c *clientCore[S, T]) hello(room string) frame {
	c.live, c.catchingUp = false, false
	ack := c.nextLocal
	if len(c.pending) > 0 {
		ack = c.pending[0].local - 1
	}
	c.attempt++
	return frame{Type: frameHello, V: ProtocolVersion, Room: room, Client: c.id, Nonce: c.nonce, Attempt: c.attempt,
		Resume: c.hasState && !c.resync, Seq: c.seq, Local: ack}
}

// apply applies t to the view at once and queues it. On a conflict nothing changes and the
// conflict is returned. It returns the pending entry's local seq and the form of t to send.
//
// A state that rebases its pending transitions (aper.Rebaser) takes t as made on the view as
// the user last read it, which is not rebuilt first: t is applied to it, then carried over the
// rewrites of the pending transitions since (see viewFrame). Other states rebuild the view first
// and re-apply their pending transitions as they were made.
func (c *clientCore[S, T]) apply(t T, now time.Time) (uint64, T, error) {
	local, form, _, _, err := c.applyAs(t, now, true)
	return local, form, err
}

// applyAs is apply that also returns, with an undo stack, the inverse of t made on the view (ok
// says t has one); record says it goes on the undo stack.
func (c *clientCore[S, T]) applyAs(t T, now time.Time, record bool) (local uint64, form T, inv T, ok bool, err error) {
	local, form, inv, ok, err = c.applyView(t, now)
	if err == nil && record && ok {
		c.pending[len(c.pending)-1].ref = c.undo.Record(inv)
	}
	return local, form, inv, ok, err
}

func (c *clientCore[S, T]) applyView(t T, now time.Time) (uint64, T, T, bool, error) {
	if !c.hasState {
		var inv T
		return 0, t, inv, false, fmt.Errorf("aper/sync: no state yet")
	}
	ev := aper.Event[T]{Client: c.id, Time: now.Add(c.offset), Transition: t}
	if _, ok := any(c.confirmed).(aper.Rebaser[T]); !ok || !c.shown {
		c.rebase()
	}
	cloned := c.viewIsC
	if cloned {
		c.view, c.viewIsC, c.kept = c.confirmed.Clone(), false, 0
	}
	inv, hasInv, err := c.applyTo(c.view, ev)
	if err != nil {
		if cloned {
			c.view, c.viewIsC = c.confirmed, true
		}
		return 0, t, inv, false, err
	}
	if cloned && c.behind > 0 {
		// t is made on confirmed as the user read it: it is rebased over what came since.
		c.deferred, c.dirty = c.behind, true
	}
	c.behind = 0
	form := t
	if len(c.frame.steps) > 0 {
		var err error
		if form, err = c.carry(t); err != nil {
			c.lose() // the view holds t: rebuild it without
			return 0, t, inv, false, fmt.Errorf("aper/sync: rebase onto the pending transitions: %w", err)
		}
	}
	if err := c.store.add(c.nextLocal+1, form, ev.Time); err != nil {
		c.lose() // rebuild the view without t
		return 0, t, inv, false, err
	}
	if len(c.frame.steps) > 0 {
		c.frame.list = append(c.frame.list, t)
	}
	c.nextLocal++
	c.pending = append(c.pending, pendingEntry[T]{local: c.nextLocal, t: form, time: ev.Time})
	c.changed = true
	return c.nextLocal, form, inv, hasInv, nil
}

// carry rewrites t, made on the view, as the pending transitions were rewritten since the view
// was built: t follows the view's transitions (frame.list) through every step.
func (c *clientCore[S, T]) carry(t T) (T, error) {
	ts := append(c.scratch[:0], c.frame.list...)
	ts = append(ts, t)
	defer func() { clear(ts); c.scratch = ts[:0] }()
	for _, st := range c.frame.steps {
		if err := any(st.state).(aper.Rebaser[T]).Rebase(ts, st.exact, st.n); err != nil {
			return t, err
		}
		ts = ts[st.drop:]
	}
	return ts[len(ts)-1], nil
}

// lose makes the view one the user may no longer hold as it is: it is rebuilt before the next
// Apply, and nothing carries transitions made on it.
func (c *clientCore[S, T]) lose() {
	c.dirty, c.shown = true, false
	c.clearFrame()
}

func (c *clientCore[S, T]) clearFrame() {
	clear(c.frame.list)
	clear(c.frame.steps)
	c.frame.list, c.frame.steps = c.frame.list[:0], c.frame.steps[:0]
}

// welcome handles the server's welcome; snap is the decoded snapshot when f.Snapshot is set. It
// returns the pending entries to send now (all of them once the client is live; none while a
// resume catches up).
func (c *clientCore[S, T]) welcome(f *frame, snap S, now time.Time) ([]pendingEntry[T], error) {
	if f.V != ProtocolVersion {
		return nil, &VersionError{Peer: f.V, Ours: ProtocolVersion}
	}
	if f.Client == "" {
		return nil, fmt.Errorf("%w: welcome without a client id", ErrProtocol)
	}
	inst := f.Inst
	if inst == "" {
		inst = f.Client
	}
	if c.inst != "" && inst != c.inst {
		return nil, fmt.Errorf("%w: welcome for client instance %q, this is %q", ErrProtocol, inst, c.inst)
	}
	if f.Snapshot && isNil(snap) {
		return nil, fmt.Errorf("%w: welcome with a null snapshot", ErrProtocol)
	}
	c.rebasePending()
	c.held = f.Local // what the server processed; what it did not may be sent again, rebased
	fresh := c.inst == ""
	if c.id != "" && f.Client != c.id {
		c.dirty = true // the auth hook names the client anew: the view's transitions carry the new id
	}
	c.id, c.inst = f.Client, inst
	if f.Time != 0 {
		c.offset = time.Unix(0, f.Time).Sub(now)
	}
	c.resolved = f.Local
	c.records = f.Rejected
	if fresh {
		// The first welcome of this client. The room may know its id already (a key kept from
		// an earlier client, or a user id the auth hook gives): number on from what the server
		// processed for it; the rejections it remembers are that earlier client's.
		c.nextLocal = max(c.nextLocal, f.Local)
		c.records = nil
	}
	if f.Snapshot {
		caught := c.catchUp(snap, f)
		c.confirmed, c.seq, c.hasState, c.resync = snap, f.Seq, true, false
		c.lose() // the pending transitions are re-applied to the snapshot
		c.store.replaced()
		c.viewIsC = false
		// The pending transitions are made on a state the snapshot may be far past. A state
		// that catches up (aper.CatchUpper) has rewritten them as made on the snapshot;
		// otherwise they are re-applied to it as they are (a text transforms those its
		// history still serves; the others conflict, and the server rejects them).
		c.replay = len(c.pending) > 0 && !caught
		// Pending transitions the server has processed are in the snapshot, or were rejected:
		// a rejection the server still remembers says which. Above Unsure it remembers every
		// one; at or below, one it forgot may be either.
		for len(c.pending) > 0 && c.pending[0].local <= c.resolved {
			p := c.pending[0]
			if rr := c.record(p.local); rr != nil {
				c.reject(&p, newRejection(p.t, rr.Conflict, rr.Code))
			} else if p.local <= f.Unsure {
				c.reject(&p, Rejection[T]{Transition: p.t, Conflict: errUnsure, Err: ErrOutcomeUnknown})
			} else {
				c.settle(&p, 0) // in the snapshot
			}
			c.pop()
		}
		c.dirty = true
		c.note(Event[T]{Kind: EventSnapshot, Seq: c.seq})
		return c.goLive(), nil
	}
	if !c.hasState || f.Seq != c.seq || f.Upto < f.Seq {
		return nil, fmt.Errorf("%w: resume from %d to %d, the client is at %d", ErrProtocol, f.Seq, f.Upto, c.seq)
	}
	c.catchingUp, c.upto = true, f.Upto
	if c.seq >= c.upto {
		return c.goLive(), nil
	}
	return nil, nil
}

// catchUp rewrites the pending transitions, made on confirmed, as made on snap, the state of the
// welcome f, when the state is an aper.CatchUpper, they are made on confirmed as it is (no
// replay), and every one the server processed is in snap (none was rejected or may have been).
// It reports whether it did; the ones snap holds stay at the head of the queue, for the welcome
// to settle.
func (c *clientCore[S, T]) catchUp(snap S, f *frame) bool {
	cu, ok := any(snap).(aper.CatchUpper[S, T])
	if !ok || c.replay || len(c.pending) == 0 || !c.hasState {
		return false
	}
	for i := range c.pending {
		if c.pending[i].skipped {
			return false // the view lacks it, and the transitions after it were made without it
		}
	}
	in := 0 // the pending transitions the server processed, all in snap
	for in < len(c.pending) && c.pending[in].local <= f.Local {
		if p := &c.pending[in]; c.record(p.local) != nil || p.local <= f.Unsure {
			return false
		}
		in++
	}
	ts := c.scratch[:0]
	for i := range c.pending {
		ts = append(ts, c.pending[i].t)
	}
	defer func() { clear(ts); c.scratch = ts[:0] }()
	held, err := cu.CatchUp(c.confirmed, c.id, ts)
	if err != nil || held != in {
		return false
	}
	for i := in; i < len(c.pending); i++ {
		c.pending[i].t = ts[i]
	}
	return true
}

func (c *clientCore[S, T]) record(local uint64) *rejectionRecord {
	for i := range c.records {
		if c.records[i].Local == local {
			return &c.records[i]
		}
	}
	return nil
}

// errUnsure is the conflict of a pending transition whose outcome the server no longer knows.
var errUnsure = conflict.New(conflict.Rejected, "aper/sync: the server no longer knows whether it applied this transition: it may be in the state")

var errForgotten = conflict.New(conflict.Rejected, "aper/sync: the server rejected this transition while the client was away and no longer remembers why")

// goLive ends a resume: pending transitions the server processed but did not confirm in the
// catch-up were rejected. The rest are returned, to be sent in order.
func (c *clientCore[S, T]) goLive() []pendingEntry[T] {
	c.rebasePending() // the transitions are sent as made on the state now
	for len(c.pending) > 0 && c.pending[0].local <= c.resolved {
		c.rejectHead(c.record(c.pending[0].local))
	}
	c.catchingUp, c.live, c.records = false, true, nil
	return c.pending
}

// rejectHead drops the oldest pending entry as rejected with rr (nil: the forgotten conflict).
func (c *clientCore[S, T]) rejectHead(rr *rejectionRecord) {
	cf, code := errForgotten, ""
	if rr != nil {
		cf, code = rr.Conflict, rr.Code
	}
	p := c.pending[0]
	c.reject(&p, newRejection(p.t, cf, code))
	c.lose() // the view holds it, and the pending transitions after it were made with it
	c.pop()
}

func (c *clientCore[S, T]) pop() {
	c.store.drop(c.pending[0].local)
	var zero pendingEntry[T]
	c.pending[0] = zero
	c.pending = c.pending[1:]
	if len(c.pending) == 0 {
		c.pending, c.replay = nil, false
		if !c.viewIsC {
			// Nothing is pending: the view must become confirmed itself, even if what was
			// dropped had been left out of it (a skipped entry), because the view was made by
			// optimistic applies and confirmed by the server's.
			c.dirty = true
		}
	}
}

// keptViewMin is the least number of own confirmations a view absorbs before it is rebuilt.
const keptViewMin = 16

// rebaseBatch is the most foreign transitions the pending ones are rebased over at once (the n
// of aper.Rebaser): a rebase waits until the view is read, the client's own transition is
// confirmed, a rejection comes or a resume ends, so that a client catching up rebases once per
// batch rather than once per transition.
const rebaseBatch = 256

// rebasePending rebases the pending transitions over the deferred foreign ones, by the state's
// Rebaser; if it has none or it fails, the pending transitions are left for the view's rebuild
// to re-apply (replay). A rewrite is recorded in frame while the view the user may hold is not
// rebuilt.
func (c *clientCore[S, T]) rebasePending() { c.rebaseOver(true) }

func (c *clientCore[S, T]) rebaseOver(record bool) {
	n := c.deferred
	if n == 0 {
		return
	}
	c.deferred = 0
	r, ok := any(c.confirmed).(aper.Rebaser[T])
	if !ok || c.replay {
		c.replay = c.replay || len(c.pending) > 0
		return
	}
	ts, exact := c.scratch[:0], 0
	for i := range c.pending {
		p := &c.pending[i]
		if p.skipped {
			c.replay = true // the view lacks it, and the transitions after it were made without it
			clear(ts)
			c.scratch = ts[:0]
			return
		}
		ts = append(ts, p.t)
		if p.local <= c.held {
			exact = i + 1
		}
	}
	defer func() { clear(ts); c.scratch = ts[:0] }()
	if len(ts) > 0 {
		if err := r.Rebase(ts, exact, n); err != nil {
			c.replay = true
			return
		}
	}
	if record && c.shown && !c.viewIsC {
		// The view the user may hold is made on the state before the n: record the step, so
		// that a transition made on it is carried as the pending ones are.
		if len(c.frame.steps) >= maxFrameSteps {
			c.lose()
		} else {
			if len(c.frame.steps) == 0 {
				for i := range c.pending {
					c.frame.list = append(c.frame.list, c.pending[i].t)
				}
			}
			c.frame.steps = append(c.frame.steps, frameStep[S]{state: c.confirmed.Clone(), n: n, exact: exact})
		}
	}
	for i := range c.pending {
		c.pending[i].t = ts[i]
	}
}

// confirmed handles an ordered transition. It returns the pending entries to send if it ended
// a resume.
func (c *clientCore[S, T]) confirmedFrame(f *frameHead, t T) ([]pendingEntry[T], error) {
	if !c.hasState {
		return nil, fmt.Errorf("%w: confirmed frame before the welcome", ErrProtocol)
	}
	if f.Seq <= c.seq {
		return nil, nil // already covered (by a snapshot)
	}
	if f.Seq != c.seq+1 {
		return nil, fmt.Errorf("%w: confirmed %d after %d", ErrProtocol, f.Seq, c.seq)
	}
	ev := aper.Event[T]{Seq: f.Seq, Client: f.Client, Time: time.Unix(0, f.Time), Transition: t}
	if f.Time == 0 {
		ev.Time = time.Time{}
	}
	sender := f.Inst
	if sender == "" {
		sender = f.Client
	}
	own := f.Local > 0 && sender == c.inst
	if own {
		c.rebasePending() // the pending transitions must be made on confirmed as it is
		// The server handles a client's transitions in order: older pending ones that are still
		// here were rejected (the rejection came in a welcome, or was forgotten).
		for len(c.pending) > 0 && c.pending[0].local < f.Local {
			c.rejectHead(c.record(c.pending[0].local))
		}
	}
	mine := own && len(c.pending) > 0 && c.pending[0].local == f.Local
	var ref undo.Ref
	if mine {
		ref = c.pending[0].ref
	}
	if err := c.applyOrdered(ev, ref, own); err != nil {
		return nil, fmt.Errorf("aper/sync: confirmed transition %d does not apply here (is Apply deterministic?): %w", f.Seq, err)
	}
	c.store.confirm(&ev)
	c.seq, c.changed = f.Seq, true
	switch {
	case mine:
		c.settle(&c.pending[0], f.Seq)
		c.note(Event[T]{Kind: EventConfirmed, Seq: ev.Seq, Client: ev.Client, Time: ev.Time,
			Transition: t, Handle: c.pending[0].h})
		if c.pending[0].skipped {
			c.dirty = true
		}
		if k := len(c.frame.steps); k > 0 {
			c.frame.steps[k-1].drop++
		}
		c.pop()
		if c.kept++; len(c.pending) > 0 && c.kept >= max(keptViewMin, len(c.pending)) {
			c.dirty = true
		}
	case c.viewIsC:
		c.note(Event[T]{Kind: EventRemote, Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t})
		c.behind++
	default:
		// Another client's transition (or one of ours that is not pending here), ordered
		// before the pending ones: they are rebased over it.
		c.note(Event[T]{Kind: EventRemote, Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t})
		c.rebased = true
		c.dirty = true
		if c.deferred++; c.deferred >= rebaseBatch {
			c.rebasePending()
		}
	}
	if c.catchingUp && c.seq >= c.upto {
		return c.goLive(), nil
	}
	return nil, nil
}

// rejected handles a rejection of the client's transition local.
func (c *clientCore[S, T]) rejected(f *frameHead) {
	c.rebasePending()
	for len(c.pending) > 0 && c.pending[0].local < f.Local {
		c.rejectHead(nil)
	}
	if len(c.pending) > 0 && c.pending[0].local == f.Local {
		c.rejectHead(&rejectionRecord{Local: f.Local, Conflict: f.Conflict, Code: f.Code})
	}
}

// rebase rebuilds the view if a foreign transition or a rejection made it stale: confirmed's
// Clone plus every pending transition that still applies. One that conflicts is left out of the
// view (skipped); the server, which orders it after what conflicts with it, will reject it and
// that rejection is what reports it.
func (c *clientCore[S, T]) rebase() {
	c.behind = 0 // the view is read as it is now
	if !c.dirty {
		c.shown = true
		return
	}
	c.rebaseOver(false)
	c.dirty, c.changed, c.kept, c.shown = false, true, 0, true
	c.clearFrame()
	if len(c.pending) == 0 {
		// Use confirmed itself: it carries the server's time rather than our estimate.
		c.view, c.viewIsC = c.confirmed, true
		return
	}
	c.view, c.viewIsC = c.confirmed.Clone(), false
	for i := range c.pending {
		p := &c.pending[i]
		ev := aper.Event[T]{Client: c.id, Time: p.time, Transition: p.t}
		if p.ref == 0 {
			p.skipped = c.view.Apply(ev) != nil
			continue
		}
		// Its inverse is made anew on the view as it is now (a text's inverse names the
		// view's versions).
		inv, ok, err := c.applyTo(c.view, ev)
		if p.skipped = err != nil; ok {
			c.undo.Replace(p.ref, inv)
		}
	}
}

// receive is the client core's one entry point for what arrives from the server: a frame that
// decodeMessage made, which came on a connection of codec w. It returns the pending transitions
// to send (again) on that connection. A welcome that fails (the client's state cannot follow the
// server's) returns its error: the connection ends.
func (c *clientCore[S, T]) receive(in *inbound[S, T], w *wire, now time.Time) ([]pendingEntry[T], error) {
	switch in.f.Type {
	case frameWelcome:
		sends, err := c.welcome(in.welcome, in.snap, now)
		if err != nil {
			return nil, err
		}
		if c.peers == nil {
			c.peers = make(map[aper.ClientID]raw)
		}
		clear(c.peers)
		for _, p := range in.welcome.Presence {
			c.peers[p.Client] = p.Data
		}
		c.peerCodec = w.payload
		c.presChanged = true
		return sends, nil
	case frameConfirmed:
		return c.confirmedFrame(&in.f, in.t)
	case frameRejected:
		c.rejected(&in.f)
	case framePresence:
		if nullPayload(in.pres) {
			delete(c.peers, in.f.Client)
		} else if c.peers != nil {
			c.peers[in.f.Client] = in.pres
		}
		c.presChanged = true
	}
	return nil, nil
}

// takeNotes returns whether the view or the confirmed Seq changed, whether the other clients'
// presence values changed, and the rejections, since the last call.
func (c *clientCore[S, T]) takeNotes() (changed, presence bool, rejections []Rejection[T]) {
	changed, presence, rejections = c.changed, c.presChanged, c.rejections
	c.changed, c.presChanged, c.rejections = false, false, nil
	return changed, presence, rejections
}

// isNil reports whether v is a nil pointer, map, slice, interface, func or channel: a snapshot
// that decodes to one (an encoded null) is no state.
func isNil(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Invalid:
		return true
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
