package sync

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/text"
)

// Deterministic tests of the two synchronous cores, wired together by hand: every frame is
// encoded and decoded with the real codecs, and the test decides what is delivered when.

type (
	cmap = aper.Map[string, *aper.Counter, aper.CounterTransition]
	cmt  = aper.MapTransition[string, *aper.Counter, aper.CounterTransition]
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func add(n int64) aper.CounterTransition {
	return aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n}
}

func set(n int64) aper.CounterTransition {
	return aper.CounterTransition{Op: aper.CounterOpSet, Amount: n}
}

// logReaderFunc is a logReader made of a function.
type logReaderFunc[T any] func(from, to uint64) ([]record[T], error)

func (f logReaderFunc[T]) readLog(from, to uint64) ([]record[T], error) { return f(from, to) }

// fakePeer collects what the room sends to one session.
type fakePeer struct {
	name   string
	frames [][]byte
	closed bool
}

// sim is a room core and its clients, with the frames in flight held per direction.
type sim[S aper.StateMachine[S, T], T any] struct {
	t       *testing.T
	room    *roomCore[S, T]
	w       *wire
	ids     int
	now     time.Time
	toRoom  map[*simClient[S, T]][][]byte
	records []record[T] // what a journal would have been given
	peers   map[sessionID]*fakePeer
	lastID  sessionID
}

type simClient[S aper.StateMachine[S, T], T any] struct {
	core  clientCore[S, T]
	peer  *fakePeer
	id    sessionID
	first bool     // its connection has not received anything yet: a welcome must come first
	snaps snapRecv // a chunked snapshot being received
	rej   []Rejection[T]
}

func newSim[S aper.StateMachine[S, T], T any](t *testing.T, state S, logSize int, w *wire) *sim[S, T] {
	s := &sim[S, T]{t: t, w: w, now: t0, toRoom: map[*simClient[S, T]][][]byte{}, peers: map[sessionID]*fakePeer{}}
	s.room = newRoomCore(fmt.Sprintf("room-%s", t.Name()), state, roomConfig[S, T]{
		logSize: logSize, maxRejections: 8, keepRecords: true,
		newID: func() aper.ClientID { s.ids++; return aper.ClientID(fmt.Sprintf("c%d", s.ids)) },
	})
	return s
}

// flushRoom hands the frames of the room's ready to the fake peers by session id, as the
// goroutine layer hands them to connections.
func (s *sim[S, T]) flushRoom() {
	rd := s.room.takeReady()
	s.records = append(s.records, rd.records...)
	for _, sd := range rd.sends {
		p := s.peers[sd.to]
		for _, it := range sd.items {
			p.frames = append(p.frames, it.frame)
		}
		p.closed = p.closed || sd.close != nil
	}
	s.room.recycle(rd)
}

// join attaches a new connection of c, which sends hello h.
func (s *sim[S, T]) join(c *simClient[S, T], h *frame) {
	s.lastID++
	c.id = s.lastID
	c.first = true
	c.peer = &fakePeer{name: string(h.Inst)}
	s.peers[c.id] = c.peer
	s.room.join(c.id, s.w, h, Identity{}, s.now)
}

// submit passes the room one submission of c.
func (s *sim[S, T]) submit(c *simClient[S, T], local uint64, t T) {
	s.room.submit(c.id, batch[T]{subs: []submission[T]{{local: local, t: t}}}, s.now)
}

// connect makes a new connection for c (a new client if c is nil): hello, join, welcome.
func (s *sim[S, T]) connect(c *simClient[S, T]) *simClient[S, T] {
	s.t.Helper()
	if c == nil {
		c = &simClient[S, T]{}
	}
	h := c.core.hello("r")
	h = s.roundTrip(h)
	s.join(c, &h)
	delete(s.toRoom, c)
	s.flushRoom()
	s.recvAll(c)
	return c
}

func (s *sim[S, T]) roundTrip(f frame) frame {
	s.t.Helper()
	b, err := s.w.encode(&f)
	if err != nil {
		s.t.Fatal(err)
	}
	var out frame
	if err := s.w.decode(b, func(g *frame) error { out = *g; return nil }); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// apply applies t on client c and queues its submit if the client is live.
func (s *sim[S, T]) apply(c *simClient[S, T], t T) error {
	local, form, err := c.core.apply(t, s.now)
	if err != nil {
		return err
	}
	if c.core.live {
		s.queueSubmit(c, local, form)
	}
	return nil
}

func (s *sim[S, T]) queueSubmit(c *simClient[S, T], local uint64, t T) {
	data, err := s.w.payload.Marshal(t)
	if err != nil {
		s.t.Fatal(err)
	}
	b, err := s.w.encode(&frame{Type: frameSubmit, Local: local, Data: data})
	if err != nil {
		s.t.Fatal(err)
	}
	s.toRoom[c] = append(s.toRoom[c], b)
	c.core.held = max(c.core.held, local) // as Client.sendLocked: the room may have it as it is
}

// submitAll delivers every queued submit of c to the room.
func (s *sim[S, T]) submitAll(c *simClient[S, T]) {
	s.t.Helper()
	for _, b := range s.toRoom[c] {
		err := s.w.decode(b, func(f *frame) error {
			var t T
			if err := s.w.payload.Unmarshal(f.Data, &t); err != nil {
				return err
			}
			s.submit(c, f.Local, t)
			return nil
		})
		if err != nil {
			s.t.Fatal(err)
		}
	}
	delete(s.toRoom, c)
	s.flushRoom()
}

// recvAll delivers to c every frame the room sent it, as one message, and reads c's view (as
// State does: it is rebuilt if it must be).
func (s *sim[S, T]) recvAll(c *simClient[S, T]) {
	s.t.Helper()
	s.recv(c)
	c.core.rebase()
}

// recv delivers to c every frame the room sent it, as one message, and leaves its view as it
// is: the goroutine layer rebuilds the view only when it is read.
func (s *sim[S, T]) recv(c *simClient[S, T]) {
	s.t.Helper()
	var msg []byte
	for _, f := range c.peer.frames {
		msg = s.w.appendFrame(msg, f)
	}
	c.peer.frames = nil
	if len(msg) == 0 {
		return
	}
	items, err := decodeMessage[S, T](s.w, msg, c.first, &c.snaps)
	if err != nil {
		s.t.Fatal(err)
	}
	c.first = false
	for i := range items {
		sends, err := c.core.receive(&items[i], s.w, s.now)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, p := range sends {
			s.queueSubmit(c, p.local, p.t)
		}
	}
	_, _, rj := c.core.takeNotes()
	c.rej = append(c.rej, rj...)
}

func TestRoomCoreOrdersAndBroadcasts(t *testing.T) {
	for _, w := range wires {
		t.Run(w.payload.Name(), func(t *testing.T) {
			s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(10), 16, w)
			a, b := s.connect(nil), s.connect(nil)
			if a.core.id == b.core.id || a.core.confirmed.Value() != 10 {
				t.Fatalf("ids %q %q, state %d", a.core.id, b.core.id, a.core.confirmed.Value())
			}
			if err := s.apply(a, add(5)); err != nil {
				t.Fatal(err)
			}
			if got := a.core.view.Value(); got != 15 {
				t.Fatalf("optimistic view %d, want 15", got)
			}
			s.submitAll(a)
			if s.room.seq != 1 || s.room.state.Value() != 15 {
				t.Fatalf("room at seq %d value %d", s.room.seq, s.room.state.Value())
			}
			if len(a.peer.frames) != 1 || len(b.peer.frames) != 1 {
				t.Fatalf("frames: a %d, b %d, want 1 each", len(a.peer.frames), len(b.peer.frames))
			}
			// The broadcast carries the server's order, time and the sender's id and local seq.
			var f frame
			s.w.decode(b.peer.frames[0], func(g *frame) error { f = *g; return nil })
			if f.Type != frameConfirmed || f.Seq != 1 || f.Client != a.core.id || f.Local != 1 || f.Time != t0.UnixNano() {
				t.Fatalf("broadcast %+v", f)
			}
			s.recvAll(a)
			s.recvAll(b)
			if len(a.core.pending) != 0 || a.core.seq != 1 || b.core.seq != 1 {
				t.Fatalf("a pending %d seq %d, b seq %d", len(a.core.pending), a.core.seq, b.core.seq)
			}
			apertest.Equal(t, a.core.view, s.room.state)
			apertest.Equal(t, b.core.view, s.room.state)
			if rc := s.records; len(rc) != 1 || rc[0].Client != a.core.id || rc[0].Local != 1 {
				t.Fatalf("journal records %+v", rc)
			}
		})
	}
}

func TestClientCoreOwnConfirmNeedsNoRebase(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 16, wireCBOR)
	a := s.connect(nil)
	var m *cmap
	for i := range 3 {
		if err := s.apply(a, m.Set(fmt.Sprint(i), aper.NewCounter(int64(i)))); err != nil {
			t.Fatal(err)
		}
	}
	view := a.core.view
	s.submitAll(a)
	s.recvAll(a)
	if a.core.view != view && !a.core.viewIsC {
		t.Fatal("the view was rebuilt although only the client's own transitions came back")
	}
	if a.core.view != a.core.confirmed {
		t.Fatal("with nothing pending the view should be the confirmed state")
	}
	apertest.Equal(t, a.core.view, s.room.state)
}

func TestClientCoreRebaseOverRemote(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 16, wireJSON)
	a, b := s.connect(nil), s.connect(nil)
	var m *cmap
	s.apply(a, m.Set("x", aper.NewCounter(1)))
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)

	// a and b edit concurrently; b's edits reach the server first.
	s.apply(a, m.Update("x", add(10)))
	s.apply(a, m.Set("a", aper.NewCounter(7)))
	s.apply(b, m.Update("x", add(100)))
	s.apply(b, m.Update("x", add(1000)))
	s.submitAll(b)
	s.submitAll(a)
	s.recvAll(a) // b's two, then a's two: a rebases once, then its own come back
	if x, _ := a.core.view.Get("x"); x.Value() != 1111 {
		t.Fatalf("a sees x=%d, want 1111", x.Value())
	}
	s.recvAll(b)
	apertest.Equal(t, a.core.view, s.room.state)
	apertest.Equal(t, b.core.view, s.room.state)

	// Interleaved step by step: a remote transition arrives while a has two pending.
	s.apply(a, m.Update("x", add(1)))
	s.apply(a, m.Update("x", add(2)))
	s.apply(b, m.Update("a", set(0)))
	s.submitAll(b)
	s.recvAll(a)
	if x, _ := a.core.view.Get("x"); x.Value() != 1114 {
		t.Fatalf("after rebase a sees x=%d, want 1114", x.Value())
	}
	if v, _ := a.core.view.Get("a"); v.Value() != 0 {
		t.Fatalf("after rebase a sees a=%d, want 0", v.Value())
	}
	if c, _ := a.core.confirmed.Get("x"); c.Value() != 1111 {
		t.Fatalf("confirmed x=%d, want 1111 (pending must not leak into it)", c.Value())
	}
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	apertest.Equal(t, a.core.view, s.room.state)
	apertest.Equal(t, b.core.view, s.room.state)
}

func TestRejectionOnlyToSenderAndRollsBack(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 16, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	var m *cmap
	s.apply(a, m.Set("k", aper.NewCounter(1)))
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)

	// b deletes k; a, not knowing, updates it and then sets another key.
	s.apply(b, m.Delete("k"))
	s.apply(a, m.Update("k", add(5)))
	s.apply(a, m.Set("z", aper.NewCounter(9)))
	if v, _ := a.core.view.Get("k"); v.Value() != 6 {
		t.Fatal("optimistic update missing")
	}
	s.submitAll(b)
	s.submitAll(a)
	seqBefore := s.room.seq
	if seqBefore != 3 { // set k, delete k, set z; the update was rejected
		t.Fatalf("room seq %d, want 3", seqBefore)
	}
	// b received the delete and the set of z, never the rejected update.
	var types []string
	var bmsg []byte
	for _, f := range b.peer.frames {
		bmsg = s.w.appendFrame(bmsg, f)
	}
	s.w.decode(bmsg, func(f *frame) error { types = append(types, f.Type.String()); return nil })
	if fmt.Sprint(types) != "[confirmed confirmed]" {
		t.Fatalf("b got %v", types)
	}
	s.recvAll(a)
	s.recvAll(b)
	if len(a.rej) != 1 || !errors.Is(a.rej[0].Conflict, conflict.ErrNotFound) || a.rej[0].Transition.Op != m.Update("k", add(0)).Op {
		t.Fatalf("a's rejections: %+v", a.rej)
	}
	if len(b.rej) != 0 {
		t.Fatalf("b got rejections %+v", b.rej)
	}
	if a.core.view.Has("k") {
		t.Fatal("a's view still holds the rejected update's key")
	}
	apertest.Equal(t, a.core.view, s.room.state)
	apertest.Equal(t, b.core.view, s.room.state)
	for _, e := range s.room.log[:s.room.logLen] {
		if e.ev.Transition.Op == m.Update("k", add(0)).Op {
			t.Fatal("the rejected transition is in the log")
		}
	}
}

// A pending transition that a remote one makes impossible leaves the view at once and is
// reported when the server rejects it.
func TestPendingConflictDroppedFromView(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 16, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	var m *cmap
	s.apply(a, m.Set("k", aper.NewCounter(1)))
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	s.apply(a, m.Update("k", add(1)))
	s.apply(b, m.Delete("k"))
	s.submitAll(b)
	s.recvAll(a)
	if a.core.view.Has("k") || !a.core.pending[0].skipped {
		t.Fatal("the conflicting pending update is still in the view")
	}
	s.submitAll(a)
	s.recvAll(a)
	if len(a.rej) != 1 || len(a.core.pending) != 0 {
		t.Fatalf("rejections %v, pending %d", a.rej, len(a.core.pending))
	}
	apertest.Equal(t, a.core.view, s.room.state)
}

func TestLocalConflictSendsNothing(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 16, wireCBOR)
	a := s.connect(nil)
	var m *cmap
	err := s.apply(a, m.Delete("nope"))
	if !errors.Is(err, conflict.ErrNotFound) {
		t.Fatalf("apply = %v, want not found", err)
	}
	if len(s.toRoom[a]) != 0 || len(a.core.pending) != 0 || a.core.nextLocal != 0 {
		t.Fatal("a local conflict was queued")
	}
}

// A client that reconnects in the middle of its pending transitions has each applied exactly
// once: those the server processed (confirmations lost with the connection) come back in the
// resume, the rest are re-sent, and duplicates of old frames are ignored.
func TestReconnectMidPendingExactlyOnce(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 64, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	for i := 1; i <= 6; i++ {
		s.apply(a, add(int64(i)))
	}
	// The server receives the first three; the connection then drops before anything returns.
	old := s.toRoom[a]
	s.toRoom[a] = old[:3]
	s.submitAll(a)
	a.peer.frames = nil // lost
	s.apply(b, add(100))
	s.submitAll(b)
	s.recvAll(b)

	a = s.connect(a) // resume: 4 frames of catch-up (a's 1..3 and b's), then re-send 4..6
	if a.core.seq != 4 || len(a.core.pending) != 3 || a.core.pending[0].local != 4 {
		t.Fatalf("after resume: seq %d pending %d", a.core.seq, len(a.core.pending))
	}
	// A stale duplicate from the old connection reaches the room: ignored.
	s.submit(a, 2, add(2))
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	if got := s.room.state.Value(); got != 121 {
		t.Fatalf("room value %d, want 121 (1+...+6 once, plus 100)", got)
	}
	if s.room.duplicates != 1 {
		t.Fatalf("duplicates %d, want 1", s.room.duplicates)
	}
	apertest.Equal(t, a.core.view, s.room.state)
	apertest.Equal(t, b.core.view, s.room.state)
}

// When the log no longer holds what the client missed, the welcome carries a snapshot; pending
// transitions the server already processed are not sent again, and a rejection lost with the
// old connection still reaches its sender.
func TestResumeFallsBackToSnapshot(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 2, wireJSON)
	a, b := s.connect(nil), s.connect(nil)
	var m *cmap
	s.apply(a, m.Set("k", aper.NewCounter(1)))
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)

	s.apply(a, m.Update("k", add(1))) // local 2: will be applied
	s.apply(a, m.Delete("k"))         // local 3: will be applied
	s.apply(a, m.Update("k", add(1))) // local 4: conflicts locally? no: view has no k → local conflict
	s.apply(a, m.Set("j", aper.NewCounter(5)))
	s.submitAll(a)
	a.peer.frames = nil // confirmations lost
	for range 4 {       // the log (2 entries) moves on
		s.apply(b, m.Set("b", aper.NewCounter(2)))
	}
	s.submitAll(b)
	s.recvAll(b)
	seq := s.room.seq
	a = s.connect(a)
	if a.core.seq != seq || len(a.core.pending) != 0 || len(s.toRoom[a]) != 0 {
		t.Fatalf("after snapshot: seq %d (room %d), pending %d, re-sent %d", a.core.seq, seq, len(a.core.pending), len(s.toRoom[a]))
	}
	apertest.Equal(t, a.core.view, s.room.state)

	// A rejection lost with the connection comes back in the welcome.
	s.apply(b, m.Delete("j"))
	s.submitAll(b)
	s.apply(a, m.Update("j", add(1)))
	s.submitAll(a) // rejected: j is gone
	a.peer.frames = nil
	s.recvAll(b)
	for range 3 {
		s.apply(b, m.Set("b", aper.NewCounter(3)))
	}
	s.submitAll(b)
	s.recvAll(b)
	a = s.connect(a)
	if len(a.rej) != 1 || !errors.Is(a.rej[0].Conflict, conflict.ErrNotFound) {
		t.Fatalf("rejections after snapshot: %+v", a.rej)
	}
	apertest.Equal(t, a.core.view, s.room.state)
	apertest.Equal(t, b.core.view, s.room.state)
}

// A client whose old connection is still attached when it reconnects takes over: the old
// session is closed and what it still sends is ignored.
func TestRoomCoreSupersedesOldConnection(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 16, wireCBOR)
	a := s.connect(nil)
	oldID, oldPeer := a.id, a.peer
	s.apply(a, add(1))
	stale := s.toRoom[a]
	a = s.connect(a)
	if !oldPeer.closed || s.room.byID[oldID] != nil {
		t.Fatal("the old connection was not closed")
	}
	s.toRoom[a] = stale
	a.id = oldID
	s.submitAll(a) // from the superseded session: ignored
	if s.room.seq != 0 {
		t.Fatal("a frame of a superseded connection was applied")
	}
}

// A session that joins after a broadcast in the same batch gets it in its snapshot, not twice.
func TestRoomCoreJoinInSameBatch(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 16, wireCBOR)
	a := s.connect(nil)
	s.apply(a, add(1))
	for _, b := range s.toRoom[a] {
		s.w.decode(b, func(f *frame) error {
			var tr aper.CounterTransition
			s.w.payload.Unmarshal(f.Data, &tr)
			s.submit(a, f.Local, tr)
			return nil
		})
	}
	delete(s.toRoom, a)
	bc := &simClient[*aper.Counter, aper.CounterTransition]{}
	h := s.roundTrip(bc.core.hello("r"))
	s.join(bc, &h)
	s.flushRoom()
	if len(bc.peer.frames) != 1 {
		t.Fatalf("late joiner got %d frames, want only its welcome", len(bc.peer.frames))
	}
	s.recvAll(bc)
	s.recvAll(a)
	apertest.Equal(t, bc.core.view, s.room.state)
	apertest.Equal(t, a.core.view, s.room.state)
}

func TestRoomCoreReplayRestoresExactlyOnce(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 16, wireCBOR)
	a := s.connect(nil)
	for i := range 3 {
		s.apply(a, add(int64(i+1)))
	}
	s.submitAll(a)
	recs := s.records
	fresh := newRoomCore("r", aper.NewCounter(0), roomConfig[*aper.Counter, aper.CounterTransition]{logSize: 4})
	for _, rc := range recs {
		if err := fresh.replay(rc); err != nil {
			t.Fatal(err)
		}
	}
	apertest.Equal(t, fresh.state, s.room.state)
	if fresh.clients[a.core.id].processed != 3 || fresh.seq != 3 {
		t.Fatalf("replayed: processed %d seq %d", fresh.clients[a.core.id].processed, fresh.seq)
	}
	if err := fresh.replay(recs[0]); err == nil {
		t.Fatal("a record out of order replayed")
	}
}

func TestServerEventIsOrderedWithoutClient(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 16, wireCBOR)
	a := s.connect(nil)
	if err := s.room.serverEvent(add(3), s.now); err != nil {
		t.Fatal(err)
	}
	if err := s.room.serverEvent(aper.CounterTransition{Op: 99}, s.now); !errors.Is(err, conflict.ErrInvalid) {
		t.Fatalf("bad server event: %v", err)
	}
	s.flushRoom()
	s.recvAll(a)
	if a.core.view.Value() != 3 || a.core.seq != 1 {
		t.Fatalf("client at %d seq %d", a.core.view.Value(), a.core.seq)
	}
}

// A client whose Seq the in-memory log no longer covers resumes from the journal (the tail hook)
// rather than taking a snapshot.
func TestRoomCoreResumesFromJournalTail(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 1, wireCBOR)
	a := s.connect(nil)
	b := s.connect(nil)
	s.apply(a, add(1))
	s.submitAll(a)
	s.flushRoom()
	s.recvAll(a)
	s.recvAll(b)
	// b goes away; four more transitions; the log keeps one.
	s.room.leave(b.id, s.now)
	for i := range 4 {
		s.apply(a, add(int64(i+2)))
	}
	s.submitAll(a)
	s.flushRoom()
	var asked [2]uint64
	s.room.reader = logReaderFunc[aper.CounterTransition](func(from, to uint64) ([]record[aper.CounterTransition], error) {
		asked = [2]uint64{from, to}
		var out []record[aper.CounterTransition]
		for _, rc := range s.records {
			if rc.Seq >= from && rc.Seq <= to {
				out = append(out, rc)
			}
		}
		return out, nil
	})
	h := s.roundTrip(b.core.hello("r"))
	s.join(b, &h)
	s.flushRoom()
	if asked != [2]uint64{2, 5} {
		t.Fatalf("tail asked for %v, want 2..5", asked)
	}
	var welcome frame
	s.w.decode(b.peer.frames[0], func(f *frame) error { welcome = *f; return nil })
	if welcome.Snapshot || welcome.Seq != 1 || welcome.Upto != 5 || len(b.peer.frames) != 5 {
		t.Fatalf("welcome %+v and %d frames, want a resume from 1 to 5 and 4 confirmed", welcome, len(b.peer.frames)-1)
	}
	s.recvAll(b)
	apertest.Equal(t, b.core.view, s.room.state)
}

// TestKeptViewIsRebuiltForText: a client that always has edits pending, alone in a room, keeps
// its view across its own confirmations; the view must still be rebuilt often enough that the
// base of its new edits stays within the text's history.
func TestKeptViewIsRebuiltForText(t *testing.T) {
	const history = 64
	s := newSim[*text.Text, text.Edit](t, text.NewWithHistory("", history), 16, wireCBOR)
	a := s.connect(nil)
	type2 := func() {
		for range 2 {
			v := a.core.view
			if err := s.apply(a, v.Insert(v.Len(), "x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	type2()
	var held [][]byte // the newest confirmation, still in flight
	for i := range 3000 {
		type2()        // two more edits, typed before the confirmations of earlier ones arrive
		s.submitAll(a) // the room orders everything sent so far
		frames := append(held, a.peer.frames...)
		held = [][]byte{frames[len(frames)-1]}
		a.peer.frames = frames[:len(frames)-1]
		s.recvAll(a)
		if len(a.rej) > 0 {
			t.Fatalf("after %d rounds: %v", i, a.rej[0].Err)
		}
		if len(a.core.pending) == 0 {
			t.Fatal("the client should always have an edit pending")
		}
	}
	a.peer.frames = append(held, a.peer.frames...)
	s.recvAll(a)
	apertest.Equal(t, a.core.view, s.room.state)
}

// A client that comes back with a snapshot after the room rejected more of its transitions than
// it keeps records of (8 in these sims) learns which outcomes the room forgot: those pending
// transitions are reported with ErrOutcomeUnknown instead of vanishing as if applied, and the
// ones the room remembers come back with their conflicts.
func TestSnapshotReportsForgottenOutcomes(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 2, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	var m *cmap
	s.apply(a, m.Set("k", aper.NewCounter(0)))
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	for range 10 { // applied in a's view; b deletes k first, so the room rejects every one
		if err := s.apply(a, m.Update("k", add(1))); err != nil {
			t.Fatal(err)
		}
	}
	s.apply(b, m.Delete("k"))
	s.submitAll(b)
	s.submitAll(a)
	a.peer.frames = nil // the rejections are lost with the connection
	for range 3 {       // the log (2 entries) moves on: a gets a snapshot
		s.apply(b, m.Set("b", aper.NewCounter(1)))
	}
	s.submitAll(b)
	s.recvAll(b)
	a = s.connect(a)
	if len(a.core.pending) != 0 || len(a.rej) != 10 {
		t.Fatalf("pending %d, rejections %d, want 0 and 10", len(a.core.pending), len(a.rej))
	}
	for i, r := range a.rej {
		unknown := errors.Is(r.Err, ErrOutcomeUnknown)
		if want := i < 2; unknown != want { // records of locals 4..11 kept, 2 and 3 forgotten
			t.Errorf("rejection %d: unknown outcome %v, want %v (%v)", i, unknown, want, r.Err)
		}
		if !unknown && !errors.Is(r.Err, conflict.ErrNotFound) {
			t.Errorf("rejection %d: %v, want not found", i, r.Err)
		}
	}
	apertest.Equal(t, a.core.view, s.room.state)
}

// A new client with an id the room already knows (a kept key, a user id from the auth hook)
// numbers its transitions on from what the room processed for that id: the room does not
// ignore them as duplicates of the earlier client's.
func TestNewClientWithKnownIDNumbersOn(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 16, wireCBOR)
	a := s.connect(nil)
	for range 3 {
		s.apply(a, add(1))
	}
	s.submitAll(a)
	s.recvAll(a)
	again := &simClient[*aper.Counter, aper.CounterTransition]{}
	again.core.nonce = 1 // another Client object with the same key
	h := again.core.hello("r")
	h.Client = a.core.id // as the server's identify sets it for the same key
	s.join(again, &h)
	s.flushRoom()
	s.recvAll(again)
	if !a.peer.closed {
		t.Fatal("the earlier connection of the id was not superseded")
	}
	s.apply(again, add(10))
	s.submitAll(again)
	s.recvAll(again)
	if got := s.room.state.Value(); got != 13 {
		t.Fatalf("room value %d, want 13: the new client's transition was ignored", got)
	}
	if len(again.core.pending) != 0 || again.core.view.Value() != 13 {
		t.Fatalf("new client: pending %d, view %d", len(again.core.pending), again.core.view.Value())
	}
}

// Two instances with one client id (a user's two devices, as an auth hook names them): each
// counts its own local seqs, and neither takes the other's confirmations for its own.
func TestTwoInstancesOfOneClientID(t *testing.T) {
	s := newSim[*aper.Counter, aper.CounterTransition](t, aper.NewCounter(0), 16, wireCBOR)
	joinAs := func(inst aper.ClientID) *simClient[*aper.Counter, aper.CounterTransition] {
		c := &simClient[*aper.Counter, aper.CounterTransition]{}
		h := c.core.hello("r")
		h.Client, h.Inst = "user", inst
		s.join(c, &h)
		s.flushRoom()
		s.recvAll(c)
		return c
	}
	a, b := joinAs("phone"), joinAs("laptop")
	if a.peer.closed || b.peer.closed {
		t.Fatal("one instance superseded the other")
	}
	s.apply(a, add(100)) // a's local 1, not delivered yet
	s.apply(b, add(1))   // b's local 1
	s.submitAll(b)
	s.recvAll(b)
	s.recvAll(a)
	if len(a.core.pending) != 1 || a.core.view.Value() != 101 {
		t.Fatalf("a: %d pending, view %d; want its +100 still pending on top of b's +1", len(a.core.pending), a.core.view.Value())
	}
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	if s.room.state.Value() != 101 || len(a.core.pending) != 0 {
		t.Fatalf("room %d, a pending %d; want 101 and nothing pending", s.room.state.Value(), len(a.core.pending))
	}
	apertest.Equal(t, a.core.view, s.room.state)
	apertest.Equal(t, b.core.view, s.room.state)
}

// After the room is rebuilt from the journal (which keeps only what was applied), a client that
// comes back with a snapshot learns the fate of each pending transition: one the log shows
// applied is in the snapshot, one it skipped was rejected (its reason forgotten), and neither
// is reported as an unknown outcome.
func TestReplayedRoomKnowsWhatItRejected(t *testing.T) {
	s := newSim[*cmap, cmt](t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), 16, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	var m *cmap
	s.apply(a, m.Set("k", aper.NewCounter(0))) // local 1: applied
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	s.apply(b, m.Delete("k"))
	s.submitAll(b)
	s.apply(a, m.Update("k", add(1)))          // local 2: rejected, k is gone
	s.apply(a, m.Set("j", aper.NewCounter(5))) // local 3: applied
	s.submitAll(a)
	a.peer.frames = nil // every answer lost; then the server restarts

	rebuilt := newRoomCore("r", aper.NewMap[string, *aper.Counter, aper.CounterTransition](), roomConfig[*cmap, cmt]{logSize: 16, maxRejections: 8})
	for _, rc := range s.records {
		if err := rebuilt.replay(rc); err != nil {
			t.Fatal(err)
		}
	}
	s.room = rebuilt
	a.core.resync = true // ask for a snapshot
	a = s.connect(a)
	if len(a.core.pending) != 0 || len(a.rej) != 1 {
		t.Fatalf("pending %d, rejections %+v; want local 2 alone rejected", len(a.core.pending), a.rej)
	}
	if r := a.rej[0]; errors.Is(r.Err, ErrOutcomeUnknown) || r.Conflict.Kind != conflict.Rejected {
		t.Fatalf("rejection %+v, want a known rejection whose reason is forgotten", r)
	}
	apertest.Equal(t, a.core.view, s.room.state)
}
