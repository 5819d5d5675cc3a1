package text

import (
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
)

// peer is what the Jupiter (ot.js) server keeps for one author: the part of the author's queue
// that differs from the plain history.
//
// The author's queue is the list of the other authors' edits since the author's last
// acknowledged version (ack, the Base of its latest edit), each as it applies after all of the
// author's own edits received so far (the author's frame). The entries of versions after last,
// the author's latest edit, are the plain applied ops of the history: they were applied after
// it. The entries of versions in [ack, last) were transformed over the author's edits that came
// after them, and those are kept here, oldest first.
//
// A Text keeps a peer for every author with an edit in the history window. Once the author's
// latest edit has left the window the peer is never used again (an edit based before the window
// is StaleBase, and one based after last needs no queue): it is not encoded, and it is dropped
// when the chunk of the history that held that edit is (at most chunkSize versions later).
// Entries of a queue older than the window are never used again either: they go at the author's
// next edit and are not encoded. So the peers hold at most (authors within the window plus a
// chunk) × (window) ops, in practice the ops concurrent with each author's pending edits.
//
// The queue is not part of the Text's value: it is not encoded, and a replica that applies the
// server's ordered form of an edit (see [Edit.Version]) does not compute it, since it never
// transforms that author's edits itself. Such a peer is lazy: its queue is computed again from
// the history, where each edit's op as sent is kept, the first time an edit of the author needs
// it (see materialize), as on a server restarted from a snapshot, or a client that re-applies its
// own pending edits to a snapshot. A peer whose latest edit was based on the version before it
// has an empty queue, and is never lazy.
type peer struct {
	owner cow.Owner
	last  uint64    // version of the author's latest edit
	ack   uint64    // its Base
	queue []queueOp // the other authors' edits of versions in [ack, last), in the author's frame
	lazy  bool      // queue is not kept: materialize computes it
}

// queueOp is an entry of an author's queue: another author's edit, applied at version ver, as it
// applies after the author's edits up to its latest. The op is held as a splice when it is one
// (the ops of typing, nearly always), else on the heap: an entry is then 64 bytes rather than an
// Op's 128, and a replica reads and writes the queues of all the authors that type, hundreds of
// entries per edit in a busy room.
type queueOp struct {
	ver uint64
	sp  splice // the op, when big is nil
	big *Op    // the op, when it is not one splice
}

// newQueueOp returns the entry of o at version ver.
func newQueueOp(ver uint64, o *Op) queueOp {
	if sp, ok := asSplice(o); ok {
		return queueOp{ver: ver, sp: sp}
	}
	c := *o
	return queueOp{ver: ver, big: &c}
}

// op returns the entry's op.
func (q *queueOp) op() Op {
	if q.big != nil {
		return *q.big
	}
	var o Op
	q.sp.emit(&o)
	return o
}

func (q *queueOp) inLen() int {
	if q.big != nil {
		return q.big.inLen()
	}
	return q.sp.in
}

func (q *queueOp) outLen() int {
	if q.big != nil {
		return q.big.outLen()
	}
	return q.sp.out()
}

// peer returns the state of author, or nil.
func (t *Text) peer(author aper.ClientID) *peer {
	if t.cur != nil && t.curID == author {
		return t.cur
	}
	p := t.peers[author]
	if p != nil {
		t.cur, t.curID = p, author
	}
	return p
}

// ownPeers makes the peers map t's own, copying it when it is shared with a clone.
func (t *Text) ownPeers() {
	if t.peersOwner != t.owner || t.peers == nil {
		m := make(map[aper.ClientID]*peer, len(t.peers)+1)
		for id, p := range t.peers {
			m[id] = p
		}
		t.peers, t.peersOwner = m, t.owner
	}
}

// writablePeer returns author's state p (nil for none) as one t may change in place, creating or
// copying it. A copy has no queue: the caller sets a new one.
func (t *Text) writablePeer(author aper.ClientID, p *peer) *peer {
	if p != nil && p.owner == t.owner {
		return p
	}
	t.ownPeers()
	if p == nil {
		p = &peer{owner: t.owner}
	} else {
		p = &peer{owner: t.owner, last: p.last, ack: p.ack, lazy: p.lazy}
	}
	t.peers[author] = p
	t.cur, t.curID = p, author
	return p
}

// expire drops the state of each author of an edit in c, a chunk leaving the history, whose
// latest edit is older than oldest.
func (t *Text) expire(c *chunk, oldest uint64) {
	if len(t.peers) == 1 && t.cur != nil && t.cur.last >= oldest {
		return // one author, still in the window
	}
	for i := range c.entries {
		author := c.entries[i].author
		if i > 0 && author == c.entries[i-1].author {
			continue
		}
		if p := t.peer(author); p != nil && p.last < oldest {
			t.ownPeers()
			delete(t.peers, author)
			t.cur, t.curID = nil, ""
		}
	}
}

// rebuildPeers sets the peers' last and ack from the history window, lazy (see peer) unless the
// author's latest edit was based on the version before it.
func (t *Text) rebuildPeers() {
	t.peers, t.peersOwner, t.cur, t.curID = nil, 0, nil, ""
	for k := t.Oldest(); k < t.version; k++ {
		e := t.entry(k)
		p := t.writablePeer(e.author, t.peer(e.author))
		p.last, p.ack, p.lazy = k, e.base, e.base != k
	}
}

// othersIn reports whether an author other than author made an edit of a version in [from, to),
// all of them in the history.
func (t *Text) othersIn(author aper.ClientID, from, to uint64) bool {
	for k := max(from, t.Oldest()); k < to; k++ {
		if t.entry(k).author != author {
			return true
		}
	}
	return from < t.Oldest() && from < to
}

// materialize computes the queue of author, whose state p is lazy, by doing again what Apply did
// for the author's latest run of edits: each is transformed over the history from its Base, as
// the author sent it, from the first edit of the run, one based after the author's edit before
// it. It returns the author's state, no longer lazy. It is a StaleBase conflict when that first
// edit is based before the history, or after a snapshot of an older format that kept no op as
// sent (see sentFrom); and Invalid when the ops as sent do not give the ops as applied (a history
// that a hostile client's ordered form made inconsistent). t is unchanged then.
func (t *Text) materialize(author aper.ClientID, p *peer) (*peer, error) {
	o := t.Oldest()
	var vers []uint64 // the author's edits in the history, oldest first
	for k := o; k < t.version; k++ {
		if t.entry(k).author == author {
			vers = append(vers, k)
		}
	}
	if len(vers) == 0 || vers[len(vers)-1] != p.last {
		return nil, stale(p.ack, o) // the latest edit left the history
	}
	j0 := len(vers) - 1
	for j0 > 0 && vers[j0-1] >= t.entry(vers[j0]).base {
		j0--
	}
	if b := t.entry(vers[j0]).base; b < o || vers[j0] < t.sentFrom {
		return nil, stale(b, max(o, t.sentFrom))
	}
	var cur *peer // the author's state before the run: nothing its first edit needs
	for _, v := range vers[j0:] {
		e := t.entry(v)
		x, _, err := t.rebaseTo(cur, e.base, *e.sentOp(), v)
		if err == nil && !x.Equal(e.op) {
			err = fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("the edit of version %d by %q as sent does not give the op applied", v, author)))
		}
		if err != nil {
			t.queue = t.queue[:0]
			return nil, err
		}
		if cur == nil {
			cur = &peer{}
		}
		cur.last, cur.ack = v, e.base
		cur.queue, t.queue = t.queue, cur.queue[:0]
	}
	w := t.writablePeer(author, p)
	w.queue, w.lazy = cur.queue, false
	return w, nil
}

// queueVersions calls f with the versions whose entries p's queue holds within the window: those
// of the other authors' edits in [max(ack, Oldest), last).
func (t *Text) queueVersions(author aper.ClientID, p *peer, f func(k uint64) error) error {
	for k := max(p.ack, t.Oldest()); k < p.last; k++ {
		if t.entry(k).author != author {
			if err := f(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// windowQueue returns the entries of p's queue within the window.
func (t *Text) windowQueue(p *peer) []queueOp {
	o := t.Oldest()
	i := 0
	for i < len(p.queue) && p.queue[i].ver < o {
		i++
	}
	return p.queue[i:]
}

// checkPeers checks that the peers are those of the authors in the window, with the last and
// ack of their latest edits, and that each queue holds the other authors' edits of its span,
// with ops that chain up to the text after the author's latest edit.
func (t *Text) checkPeers() error {
	latest := map[aper.ClientID]uint64{}
	for k := t.Oldest(); k < t.version; k++ {
		latest[t.entry(k).author] = k
	}
	live := 0
	for id, p := range t.peers {
		if p.last < t.Oldest() {
			continue // out of the window: unused, and dropped with its chunk
		}
		live++
		k, ok := latest[id]
		if !ok || p.last != k || p.ack != t.entry(k).base {
			return fmt.Errorf("state of %q: latest edit %d based on %d, not the history's", id, p.last, p.ack)
		}
		if p.lazy {
			continue // no queue kept
		}
		q := t.windowQueue(p)
		i := 0
		err := t.queueVersions(id, p, func(k uint64) error {
			if i >= len(q) || q[i].ver != k {
				return fmt.Errorf("queue of %q lacks version %d", id, k)
			}
			if i > 0 && q[i-1].outLen() != q[i].inLen() {
				return fmt.Errorf("queue of %q does not chain at version %d", id, k)
			}
			i++
			return nil
		})
		if err != nil {
			return err
		}
		if i != len(q) {
			return fmt.Errorf("queue of %q holds %d entries, want %d", id, len(q), i)
		}
		if i > 0 && q[i-1].outLen() != t.entry(p.last).op.outLen() {
			return fmt.Errorf("queue of %q ends at length %d, its latest edit at %d", id, q[i-1].outLen(), t.entry(p.last).op.outLen())
		}
	}
	if live != len(latest) {
		return fmt.Errorf("%d authors in the history, %d with state", len(latest), live)
	}
	return nil
}
