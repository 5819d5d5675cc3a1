package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
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
	onReady func(ready[T]) // sees each ready before it is delivered
}

type simClient[S aper.StateMachine[S, T], T any] struct {
	name  string
	core  clientCore[S, T]
	peer  *fakePeer
	id    sessionID
	first bool     // its connection has not received anything yet: a welcome must come first
	snaps snapRecv // a chunked snapshot being received
	rej   []Rejection[T]
}

func newSim[S aper.StateMachine[S, T], T any](t *testing.T, state S, logSize int, w *wire) *sim[S, T] {
	s := &sim[S, T]{t: t, w: w, now: t0, toRoom: map[*simClient[S, T]][][]byte{}, peers: map[sessionID]*fakePeer{}}
	s.room = s.newRoom(state, logSize)
	return s
}

// newRoom returns a room core on state, which numbers new clients on from the sim's last.
func (s *sim[S, T]) newRoom(state S, logSize int) *roomCore[S, T] {
	return newRoomCore(fmt.Sprintf("room-%s", s.t.Name()), state, roomConfig[S, T]{
		logSize: logSize, maxRejections: 8, keepRecords: true,
		newID: func() aper.ClientID { s.ids++; return aper.ClientID(fmt.Sprintf("c%d", s.ids)) },
	})
}

// flushRoom hands the frames of the room's ready to the fake peers by session id, as the
// goroutine layer hands them to connections.
func (s *sim[S, T]) flushRoom() {
	rd := s.room.takeReady()
	if s.onReady != nil {
		s.onReady(rd)
	}
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
	c.peer = &fakePeer{name: c.name}
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
	items, err := decodeMessage[S, T](nil, s.w, msg, c.first, &c.snaps)
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

// TestClientCannotOrderItsOwnEdit: a client that sends a text edit in an ordered form, with an
// op "as applied" of its own making, has it applied as sent: the server transforms its op, and
// logs and sends its own ordered form, which the other clients apply.
func TestClientCannotOrderItsOwnEdit(t *testing.T) {
	s := newSim[*text.Text, text.Edit](t, text.New("abc"), 16, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	wipe := text.MustOp(text.Delete(3))
	if err := s.apply(a, text.Edit{Base: 0, Op: text.MustOp(text.Insert("x"), text.Retain(3)), Version: 1, Applied: &wipe}); err != nil {
		t.Fatal(err)
	}
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	if got := s.room.state.String(); got != "xabc" {
		t.Fatalf("the server holds %q, want %q", got, "xabc")
	}
	// The room logs and sends its own ordered form of the edit.
	last := s.room.log[(s.room.logStart+s.room.logLen-1)%len(s.room.log)].ev.Transition
	if want := text.MustOp(text.Insert("x"), text.Retain(3)); last.Version != 1 || last.Applied == nil || !last.Applied.Equal(want) {
		t.Fatalf("the room logged %+v, want version 1 applied %v", last, want)
	}
	apertest.Equal(t, s.room.state, b.core.confirmed)
	apertest.Equal(t, s.room.state, a.core.confirmed)
}

// TestSnapshotWelcomeCatchesUp: a client of a text whose pending edits the server applied in
// part gets a snapshot: it keeps the ones the snapshot lacks, rewritten as made on it (aper.
// CatchUpper), and sends those, which a server restarted from that snapshot, holding no queue
// for the client, takes; the client's view shows them.
func TestSnapshotWelcomeCatchesUp(t *testing.T) {
	srv := text.NewWithHistory("abc", 8)
	seq := uint64(0)
	order := func(tx *text.Text, c aper.ClientID, e text.Edit) error {
		seq++
		err := tx.Apply(aper.Event[text.Edit]{Seq: seq, Client: c, Transition: e})
		if err == nil && tx == srv {
			srv.Ordered(e)
		}
		return err
	}
	bob := func() {
		if err := order(srv, "bob", text.Edit{Base: srv.Version(), Op: text.MustOp(text.Retain(srv.Len()), text.Insert("b"))}); err != nil {
			t.Fatal(err)
		}
	}
	// Ann always has an edit in flight: on the server her run reaches back past the history.
	var old *text.Text
	var latest text.Edit
	base, baseLen, own := uint64(0), 3, 0
	for range 20 {
		bob()
		e := text.Edit{Base: base, Op: text.MustOp(text.Insert("a"), text.Retain(baseLen+own))}
		old = srv.Clone()
		base, baseLen, own = srv.Version(), srv.Len(), 1
		if err := order(srv, "ann", e); err != nil {
			t.Fatal(err)
		}
		latest = srv.Ordered(e)
	}
	c := &clientCore[*text.Text, text.Edit]{id: "ann", inst: "ann", confirmed: old, hasState: true, seq: old.Version()}
	view := old.Clone()
	for i := range 4 {
		e := text.Edit{Base: old.Version(), Op: *latest.Applied}
		if i > 0 {
			e = view.Insert(i, string(rune('0'+i)))
		}
		if err := view.Apply(aper.Event[text.Edit]{Client: "ann", Transition: e}); err != nil {
			t.Fatal(err)
		}
		c.nextLocal++
		c.pending = append(c.pending, pendingEntry[text.Edit]{local: c.nextLocal, t: e})
	}
	bob()
	bob()
	for _, p := range c.pending[1:3] {
		if err := order(srv, "ann", p.t); err != nil {
			t.Fatal(err)
		}
	}
	b, err := aper.CBOR.Marshal(srv)
	if err != nil {
		t.Fatal(err)
	}
	var snap *text.Text
	if err := aper.CBOR.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	restarted := snap.Clone()
	sends, err := c.welcome(&frame{Type: frameWelcome, V: ProtocolVersion, Client: "ann", Inst: "ann", Snapshot: true, Seq: snap.Version(), Local: 3}, snap, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sends) != 1 || sends[0].local != 4 || sends[0].t.Base != snap.Version() {
		t.Fatalf("sends %+v, want local 4 based on %d", sends, snap.Version())
	}
	if err := order(restarted, "ann", sends[0].t); err != nil {
		t.Fatalf("the restarted server refuses the caught-up edit: %v", err)
	}
	c.rebase()
	if got, want := c.view.String(), restarted.String(); got != want {
		t.Fatalf("the view shows %q, the server %q", got, want)
	}
}
