package text_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/stretchr/testify/require"
)

// ev is an event as the server stamps it.
func ev(seq uint64, client aper.ClientID, e text.Edit) aper.Event[text.Edit] {
	return aper.Event[text.Edit]{Seq: seq, Client: client, Transition: e}
}

func TestIntentPendingTypingStaysContiguous(t *testing.T) {
	// Ann types "hello" at the end of "ab" as five edits, each based on version 0 (she sends
	// them without waiting); Bob's edit is ordered before all of them.
	srv := text.New("ab")
	view := text.New("ab") // Ann's optimistic view
	var anns []text.Edit
	for i, c := range "hello" {
		e := view.Insert(2+i, string(c))
		require.Equal(t, uint64(0), e.Base)
		anns = append(anns, e)
		require.NoError(t, view.Apply(ev(0, "ann", e)))
	}
	require.Equal(t, "abhello", view.String())

	tests := []struct {
		name string
		bob  func(t *text.Text) text.Edit
		want string
	}{
		{"bob inserts before", func(t *text.Text) text.Edit { return t.Insert(0, "XY") }, "XYabhello"},
		{"bob inserts at the same place", func(t *text.Text) text.Edit { return t.Insert(2, "XY") }, "abhelloXY"},
		{"bob deletes before", func(t *text.Text) text.Edit { return t.Delete(0, 1) }, "bhello"},
		{"bob replaces everything", func(t *text.Text) text.Edit { return t.Replace(0, 2, "Z") }, "Zhello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := srv.Clone()
			require.NoError(t, s.Apply(ev(1, "bob", tt.bob(s))))
			for i, e := range anns {
				require.NoError(t, s.Apply(ev(uint64(2+i), "ann", e)))
			}
			require.Equal(t, tt.want, s.String())
		})
	}
}

func TestIntentInterleavedWithOthers(t *testing.T) {
	// Ann's five pending letters are interleaved with Bob's edits in the server's order, and Ann
	// picks up a confirmation half-way: her later edits have a newer Base than her pending ones.
	srv := text.New("--")
	ann := text.New("--")
	var pending []text.Edit
	typeAnn := func(pos int, s string) {
		e := ann.Insert(pos, s)
		pending = append(pending, e)
		require.NoError(t, ann.Apply(ev(0, "ann", e)))
	}
	typeAnn(1, "h")
	typeAnn(2, "e")
	seq := uint64(0)
	apply := func(c aper.ClientID, e text.Edit) {
		seq++
		require.NoError(t, srv.Apply(ev(seq, c, e)))
	}
	apply("ann", pending[0])
	apply("bob", text.Edit{Base: 0, Op: text.MustOp(text.Insert("B"), text.Retain(2))})
	apply("ann", pending[1])
	// Bob's second edit is also based on version 0, so his view holds his own "B": "B--".
	apply("bob", text.Edit{Base: 0, Op: text.MustOp(text.Retain(2), text.Insert("b"), text.Retain(1))})
	// Ann receives the first two server edits (her "h" and Bob's "B") and keeps typing.
	conf := text.New("--")
	require.NoError(t, conf.Apply(ev(1, "ann", pending[0])))
	require.NoError(t, conf.Apply(ev(2, "bob", text.Edit{Base: 0, Op: text.MustOp(text.Insert("B"), text.Retain(2))})))
	view := conf.Clone()
	require.NoError(t, view.Apply(ev(0, "ann", pending[1])))
	require.Equal(t, "B-he-", view.String())
	for i, c := range "llo" {
		e := view.Insert(4+i, string(c))
		require.Equal(t, uint64(2), e.Base, "built from the optimistic view: based on the confirmed version")
		require.NoError(t, view.Apply(ev(0, "ann", e)))
		apply("ann", e)
	}
	require.Equal(t, "B-hello-", view.String())
	// Bob's "b" and Ann's "h" went concurrently between the dashes: the edit ordered later goes
	// first, and Ann's word stays whole and in order.
	require.Equal(t, "B-bhello-", srv.String())
}

func TestIntentMultiByte(t *testing.T) {
	srv := text.New("😀é")
	e1 := srv.Insert(1, "ü")                                                                    // ann, base 0: "😀üé"
	e2 := text.Edit{Base: 0, Op: text.MustOp(text.Retain(2), text.Insert("✓"), text.Retain(1))} // ann after e1: "😀ü✓é"
	bob := srv.Delete(0, 1)                                                                     // bob, base 0
	require.NoError(t, srv.Apply(ev(1, "bob", bob)))
	require.NoError(t, srv.Apply(ev(2, "ann", e1)))
	require.NoError(t, srv.Apply(ev(3, "ann", e2)))
	require.Equal(t, "ü✓é", srv.String())
}

// refClient is the textbook client of the ot.js protocol: it keeps its pending ops (the first
// one sent and not yet acknowledged), transforms them over every incoming op, and sends the next
// only when the previous one is acknowledged.
type refClient struct {
	doc      string
	rev      int       // server ops received
	pending  []text.Op // pending[0] is in flight when inFlight
	inFlight bool
}

// refServer is the ot.js server: it transforms an incoming op over every op since its base.
type refServer struct {
	doc string
	log []text.Op
}

func (s *refServer) receive(base int, op text.Op) (text.Op, error) {
	for _, c := range s.log[base:] {
		var err error
		if op, _, err = text.Transform(op, c, text.Left); err != nil {
			return text.Op{}, err
		}
	}
	doc, err := op.Apply(s.doc)
	if err != nil {
		return text.Op{}, err
	}
	s.doc = doc
	s.log = append(s.log, op)
	return op, nil
}

// sim drives the system under test (Text, clients sending every edit at once) and the reference
// (textbook clients sending one at a time) through the same schedule, and checks after every
// step that the server texts and every client's view agree.
type sim struct {
	t       *testing.T
	r       *rand.Rand
	srv     *text.Text
	log     []aper.Event[text.Edit]
	ordLog  []aper.Event[text.Edit] // the same, in the server's ordered form (see Text.Ordered)
	ref     refServer
	clients []*simClient
	// keepView makes clients behave as the sync client does: one optimistic view, kept when the
	// server confirms the client's own oldest pending edit, rebuilt (Clone of the confirmed text
	// plus the pending edits) only after another author's edit. Its Base then lags behind the
	// confirmed version, which must not matter.
	keepView bool
	// keep is the history of every Text (server and clients).
	keep int
	// forks are copies of the server restored from snapshots and a Clone, given the same events.
	forks []*text.Text
	// ordSrv is a second server, given the same edits, that gives their ordered forms (see
	// Text.Ordered) for the clients that get those.
	ordSrv *text.Text
}

type simClient struct {
	id      aper.ClientID
	ordered bool        // conf gets the server's ordered forms
	conf    *text.Text  // the confirmed text: the server's events applied in order
	pending []text.Edit // sent, not yet confirmed
	outbox  []text.Edit // sent, not yet at the server
	ref     refClient
	refOut  []refMsg   // the reference client's sent ops, not yet at the server
	live    *text.Text // with keepView: the kept view; nil when it is conf itself
	dirty   bool       // with keepView: live must be rebuilt
}

type refMsg struct {
	base int
	op   text.Op
}

func (c *simClient) view(t *testing.T) *text.Text {
	v := c.conf.Clone()
	for _, e := range c.pending {
		require.NoError(t, v.Apply(ev(0, c.id, e)), "optimistic apply")
	}
	return v
}

var alphabet = []rune("abcxyz€😀")

func (s *sim) edit(c *simClient) {
	var v *text.Text
	if s.keepView {
		if c.live == nil || c.dirty {
			c.live, c.dirty = s.view(c), false
		}
		v = c.live
	} else {
		v = s.view(c)
	}
	n := v.Len()
	pos := s.r.IntN(n + 1)
	del := 0
	if pos < n && s.r.IntN(3) == 0 {
		del = 1 + s.r.IntN(min(3, n-pos))
	}
	ins := ""
	if del == 0 || s.r.IntN(2) == 0 {
		k := 1 + s.r.IntN(3)
		rs := make([]rune, k)
		for i := range rs {
			rs[i] = alphabet[s.r.IntN(len(alphabet))]
		}
		ins = string(rs)
	}
	e := v.Replace(pos, del, ins)
	if s.keepView {
		require.LessOrEqual(s.t, e.Base, c.conf.Version())
		require.NoError(s.t, v.Apply(ev(0, c.id, e)), "optimistic apply to the kept view")
	} else {
		require.Equal(s.t, c.conf.Version(), e.Base)
	}
	c.pending = append(c.pending, e)
	c.outbox = append(c.outbox, e)
	// The reference client applies the same op to its view.
	doc, err := e.Op.Apply(c.ref.doc)
	require.NoError(s.t, err)
	c.ref.doc = doc
	c.ref.pending = append(c.ref.pending, e.Op)
	if !c.ref.inFlight {
		c.ref.inFlight = true
		c.refOut = append(c.refOut, refMsg{base: c.ref.rev, op: e.Op})
	}
	s.view(c)
}

// view returns c's optimistic view, checking it against the reference client's.
func (s *sim) view(c *simClient) *text.Text {
	v := c.view(s.t)
	require.Equal(s.t, c.ref.doc, v.String(), "view of %s", c.id)
	return v
}

// serve lets the server take c's next edit. The reference has sent it too: a client's next
// edit reaches the server only after the client saw its previous one confirmed.
func (s *sim) serve(c *simClient) {
	e := c.outbox[0]
	c.outbox = c.outbox[1:]
	m := c.refOut[0]
	c.refOut = c.refOut[1:]
	require.Less(s.t, s.srv.Version()-e.Base, uint64(s.keep), "the schedule let %s fall out of the history", c.id)
	event := ev(uint64(len(s.log)+1), c.id, e)
	require.NoError(s.t, s.srv.Apply(event))
	for _, f := range s.forks {
		require.NoError(s.t, f.Apply(event), "restored server")
	}
	s.log = append(s.log, event)
	require.NoError(s.t, s.ordSrv.Apply(event), "ordering server")
	oe := event
	oe.Transition = s.ordSrv.Ordered(e)
	s.ordLog = append(s.ordLog, oe)
	_, err := s.ref.receive(m.base, m.op)
	require.NoError(s.t, err)
	require.Equal(s.t, s.ref.doc, s.srv.String(), "server after %s's edit", c.id)
}

// deliver gives c the next server event.
func (s *sim) deliver(c *simClient) {
	k := c.ref.rev
	event := s.log[k]
	if c.ordered {
		// As a sync client applies them: the others' edits as ordered, its own as sent.
		event = s.ordLog[k]
		if event.Client == c.id {
			event.Transition = s.ordSrv.Sent(event.Transition)
		}
	}
	require.NoError(s.t, c.conf.Apply(event))
	op := s.ref.log[k]
	c.ref.rev++
	if event.Client == c.id {
		c.pending = c.pending[1:]
		c.ref.pending = c.ref.pending[1:]
		c.ref.inFlight = false
		if len(c.ref.pending) > 0 {
			c.ref.inFlight = true
			c.refOut = append(c.refOut, refMsg{base: c.ref.rev, op: c.ref.pending[0]})
		}
	} else {
		for i := range c.ref.pending {
			var err error
			c.ref.pending[i], op, err = text.Transform(c.ref.pending[i], op, text.Left)
			require.NoError(s.t, err)
		}
		doc, err := op.Apply(c.ref.doc)
		require.NoError(s.t, err)
		c.ref.doc = doc
	}
	if s.keepView {
		switch {
		case event.Client != c.id:
			c.dirty = true
		case len(c.pending) == 0:
			c.live, c.dirty = nil, false
		case !c.dirty:
			require.Equal(s.t, c.ref.doc, c.live.String(), "kept view of %s", c.id)
		}
	}
	s.view(c)
}

func runSim(t *testing.T, seed uint64, authors, steps int) {
	runSimWith(t, seed, simOpts{authors: authors, steps: steps})
}

type simOpts struct {
	authors, steps int
	keepView       bool // see sim
	// keep is the history of every Text; 0 keeps everything.
	keep int
	// busy runs a room where client c0 never runs out of pending edits (it makes its next edit
	// before its last pending one is confirmed), the others type now and then, and the server
	// and the clients keep up, so that no edit is based more than a few versions back. c0's
	// chain of pending edits then reaches back without end, through the others' edits.
	busy bool
}

func runSimWith(t *testing.T, seed uint64, o simOpts) {
	r := rand.New(rand.NewPCG(seed, 7))
	start := string(alphabet[r.IntN(3)]) + "..."
	keep := o.keep
	if keep == 0 {
		keep = 1 << 20
	}
	s := &sim{t: t, r: r, srv: text.NewWithHistory(start, keep), ordSrv: text.NewWithHistory(start, keep), ref: refServer{doc: start}, keepView: o.keepView, keep: keep}
	for i := range o.authors {
		id := aper.ClientID(fmt.Sprintf("c%d", i))
		s.clients = append(s.clients, &simClient{id: id, ordered: i%2 == 0, conf: text.NewWithHistory(start, keep), ref: refClient{doc: start}})
	}
	var forks []*text.Text // restored from snapshots of the server half-way; see serve
	for step := range o.steps {
		if step == o.steps/2 {
			forks = append(apertest.RoundTrip(t, s.srv), s.srv.Clone())
			// A clone that goes another way must not disturb the server's state.
			other := s.srv.Clone()
			require.NoError(t, other.Apply(ev(0, "zed", other.Insert(0, "!"))))
			for _, c := range s.clients {
				if len(c.outbox) > 0 {
					require.NoError(t, other.Apply(ev(0, c.id, c.outbox[0])))
				}
			}
			s.forks = forks
		}
		if o.busy {
			s.busyStep()
			continue
		}
		c := s.clients[r.IntN(len(s.clients))]
		switch r.IntN(3) {
		case 0:
			s.edit(c)
		case 1:
			if len(c.refOut) > 0 {
				s.serve(c)
			}
		case 2:
			if c.ref.rev < len(s.log) {
				s.deliver(c)
			}
		}
	}
	for busy := true; busy; {
		busy = false
		for _, c := range s.clients {
			if len(c.refOut) > 0 {
				s.serve(c)
				busy = true
			}
			if c.ref.rev < len(s.log) {
				s.deliver(c)
				busy = true
			}
		}
	}
	for _, c := range s.clients {
		require.Empty(t, c.pending)
		if c.ordered {
			apertest.Equal(t, s.ordSrv, c.conf)
		} else {
			apertest.Equal(t, s.srv, c.conf)
		}
	}
	require.Equal(t, s.srv.String(), s.ordSrv.String())
	for _, f := range forks {
		apertest.Equal(t, s.srv, f)
	}
	require.Equal(t, s.ref.doc, s.srv.String())
	if o.keep == 0 {
		// A replica given the ordered forms, then the edits as sent from a point on (a
		// replica that becomes a server): it computes the queues it did not keep from the
		// history, and ends as the server.
		for range 3 {
			k := r.IntN(len(s.log) + 1)
			x := text.NewWithHistory(start, keep)
			for i := range s.log {
				e := s.log[i]
				if i < k {
					e = s.ordLog[i]
				}
				require.NoError(t, x.Apply(e), "edit %d of %d, ordered up to %d", i, len(s.log), k)
			}
			if k > 0 {
				apertest.Equal(t, s.ordSrv, x)
			} else {
				apertest.Equal(t, s.srv, x)
			}
		}
	}
}

// busyStep is a step of a busy room (see simOpts.busy).
func (s *sim) busyStep() {
	c0 := s.clients[0]
	if len(c0.pending) < 2 {
		s.edit(c0)
	}
	for _, c := range s.clients[1:] {
		if len(c.pending) == 0 && s.r.IntN(2) == 0 {
			s.edit(c)
		}
	}
	for _, i := range s.r.Perm(len(s.clients)) {
		if c := s.clients[i]; len(c.refOut) > 0 {
			s.serve(c)
		}
	}
	for _, c := range s.clients {
		for lag := s.r.IntN(2); len(s.log)-c.ref.rev > lag; {
			if c == c0 && s.log[c.ref.rev].Client == c.id && len(c.pending) == 1 {
				break // c0 confirms its last pending edit only after making the next
			}
			s.deliver(c)
		}
	}
}

func TestIntentMatchesTextbookClients(t *testing.T) {
	for _, authors := range []int{2, 3} {
		t.Run(fmt.Sprint(authors), func(t *testing.T) {
			props := gopter.NewProperties(fuzz.Parameters(t, 150, 100, 0))
			props.Property("Text.Apply with pending edits = textbook client-server", prop.ForAll(func(seed uint64) bool {
				runSim(t, seed, authors, 60)
				return !t.Failed()
			}, gen.UInt64()))
			props.TestingRun(t)
		})
	}
}

// TestSyncClientUsage runs the textbook comparison with clients that use Text as the sync client
// does: the confirmed text is the server's history; the optimistic view is a Clone of it plus
// the pending edits, re-applied with their original Base, Seq 0 and the client's id; the view
// is kept when the server confirms the client's own edit and rebuilt after another author's.
// Every view matches the textbook client's document after every step, and all converge.
func TestSyncClientUsage(t *testing.T) {
	for _, authors := range []int{2, 3} {
		t.Run(fmt.Sprint(authors), func(t *testing.T) {
			props := gopter.NewProperties(fuzz.Parameters(t, 150, 100, 0))
			props.Property("a kept optimistic view = textbook client", prop.ForAll(func(seed uint64) bool {
				runSimWith(t, seed, simOpts{authors: authors, steps: 80, keepView: true})
				return !t.Failed()
			}, gen.UInt64()))
			props.TestingRun(t)
		})
	}
}

// TestBusyRoomMatchesTextbookClients runs the textbook comparison in busy rooms with a small
// history (8 or 12 to 16 edits): one client always has edits pending and makes hundreds of them, so
// its chain of pending edits reaches back far beyond the history, while each of its edits is
// based only a few versions back. No edit may be refused, and every view matches the textbook
// client's. Each run also restores the server from its JSON and CBOR snapshots and from a
// Clone half-way, and checks that they apply the rest of the events exactly as the server does.
func TestBusyRoomMatchesTextbookClients(t *testing.T) {
	for _, authors := range []int{2, 3} {
		t.Run(fmt.Sprint(authors), func(t *testing.T) {
			props := gopter.NewProperties(fuzz.Parameters(t, 40, 100, 0))
			// The schedule bases c0's edits up to 5 versions back with two authors, up to 8
			// with three (measured over 1,500 seeds each).
			least := map[int]int{2: 8, 3: 12}[authors]
			props.Property("busy room, small history = textbook client-server", prop.ForAll(func(seed uint64, keep int) bool {
				runSimWith(t, seed, simOpts{authors: authors, steps: 300, keep: keep, busy: true})
				return !t.Failed()
			}, gen.UInt64(), gen.IntRange(least, 16)))
			props.TestingRun(t)
		})
	}
}

// TestKeptViewStaysWithinTheHistory: an optimistic view kept across confirmations of the
// client's own edits keeps the Base of its last rebuild, so a client alone in a room that never
// runs out of pending edits names an ever older Base. Its own edits do not make its later ones
// stale (they were refused after DefaultHistory edits, by its own view and by the server, before
// an author's own run of edits counted as within the history), with or without rebuilding the
// view.
func TestKeptViewStaysWithinTheHistory(t *testing.T) {
	for _, rebuild := range []bool{false, true} {
		srv, conf := text.New(""), text.New("")
		view := conf.Clone()
		var pending []text.Edit
		var err error
		edits := 0
		for ; edits < 3*text.DefaultHistory && err == nil; edits++ {
			e := view.Insert(view.Len(), "x")
			if err = view.Apply(ev(0, "ann", e)); err != nil {
				break
			}
			pending = append(pending, e)
			if len(pending) > 3 { // three edits in flight: the oldest is confirmed
				confirmed := ev(srv.Version()+1, "ann", pending[0])
				require.NoError(t, srv.Apply(confirmed))
				require.NoError(t, conf.Apply(confirmed))
				pending = pending[1:]
				if rebuild {
					view = conf.Clone()
					for _, p := range pending {
						require.NoError(t, view.Apply(ev(0, "ann", p)))
					}
				}
			}
		}
		require.NoError(t, err, "rebuild %v", rebuild)
		require.Equal(t, srv.String(), conf.String())
		require.Equal(t, 3*text.DefaultHistory, edits)
	}
}

// TestBusyRoomStaysWithinTheHistory: three clients type without pause, each with its previous
// edits still pending when it makes the next, and the server interleaves them. No client is
// ever more than a few edits behind, so a history of 16 edits is plenty; the edits must not
// become StaleBase however long the session lasts, and the texts equal those of replicas that
// keep everything. (A Text that rebuilt each client's Jupiter queue from the history, following
// the chain of Bases through the client's own pending edits, failed here after 16 versions.)
func TestBusyRoomStaysWithinTheHistory(t *testing.T) {
	const keep = 16
	ids := []aper.ClientID{"ann", "bob", "cid"}
	srv, full := text.NewWithHistory("", keep), text.NewWithHistory("", 1<<20)
	confs := make([]*text.Text, len(ids))
	pending := make([][]text.Edit, len(ids))
	for i := range confs {
		confs[i] = text.NewWithHistory("", keep)
	}
	var inflight []aper.Event[text.Edit]
	for i := range 3000 {
		c := i % len(ids)
		view := confs[c].Clone()
		for _, p := range pending[c] {
			require.NoError(t, view.Apply(ev(0, ids[c], p)))
		}
		e := view.Insert((i*7)%(view.Len()+1), string(rune('a'+c)))
		pending[c] = append(pending[c], e)
		inflight = append(inflight, ev(0, ids[c], e))
		if len(inflight) <= 2*len(ids) {
			continue
		}
		event := inflight[0]
		inflight = inflight[1:]
		event.Seq = srv.Version() + 1
		require.NoError(t, srv.Apply(event), "edit %d", i)
		require.NoError(t, full.Apply(event))
		for j, conf := range confs {
			require.NoError(t, conf.Apply(event))
			if event.Client == ids[j] {
				pending[j] = pending[j][1:]
			}
		}
	}
	require.Equal(t, full.String(), srv.String())
	for _, conf := range confs {
		apertest.Equal(t, srv, conf)
	}
	// The per-author state is bounded by the window: three authors, at most keep ops each.
	authors, ops := text.Peers(srv)
	require.Equal(t, len(ids), authors)
	require.LessOrEqual(t, ops, len(ids)*keep)
	require.NoError(t, text.CheckInvariants(srv))
	// Clone shares the state: it copies no queue.
	require.LessOrEqual(t, testing.AllocsPerRun(10, func() { _ = srv.Clone() }), 3.0)
	// An author who stopped typing has no state left once the history it held back for the
	// author's next edit reached its most (HistoryStretch times the limit) and the chunk that
	// held the author's latest edit was dropped.
	for range keep*text.HistoryStretch + 100 {
		require.NoError(t, srv.Apply(ev(srv.Version()+1, "dan", srv.Insert(0, "d"))))
	}
	authors, ops = text.Peers(srv)
	require.Equal(t, 1, authors)
	require.Zero(t, ops)
	require.NoError(t, text.CheckInvariants(srv))
}
