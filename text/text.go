package text

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
)

// DefaultHistory is how many edits a [Text] keeps for transforming late edits, unless
// [NewWithHistory] says otherwise: a minute of a busy room typing, or thousands of edits a
// client may be behind. A Text keeps more while an author that is further behind is still
// typing, up to [HistoryStretch] times as many (see [Text.Oldest]).
const DefaultHistory = 1024

// HistoryStretch bounds the history that authors who are far behind hold: a Text keeps at most
// HistoryStretch times its history limit of edits, and the 32 applied between two looks at its
// authors (see [Text.Oldest]).
const HistoryStretch = 8

// Edit is the transition of a [Text]: an op made against version Base of the text, as its author
// saw it (Base plus the author's own earlier edits; see [Text.Apply]).
type Edit struct {
	// Base is the version of the text the author last had from the server (on a client, its
	// confirmed version; see [Text.Base]).
	Base uint64 `json:"base" cbor:"1,keyasint"`
	// Op is the change against the author's view at Base.
	Op Op `json:"op" cbor:"2,keyasint"`
	// Version and Applied are set by the server in the ordered form of the edit that it sends
	// to replicas (see [Text.Ordered]): Version is the version of the text the edit made (the
	// version it was applied at, plus one), and Applied the op as applied there (Op transformed
	// over the concurrent edits). A text at the version before applies the ordered form as it
	// is, without transforming it; any other text, and a text given an edit without Applied,
	// transforms Op as [Text.Apply] says. A client leaves both unset.
	Version uint64 `json:"version,omitempty" cbor:"3,keyasint,omitempty"`
	Applied *Op    `json:"applied,omitempty" cbor:"4,keyasint,omitempty"`
}

// Text is a replicated string: a state machine whose transitions are [Edit]s, transformed over
// concurrent edits with operational transformation. Positions count Unicode code points; see
// [Text.FromUTF16] and [Text.FromByte] for clients that count UTF-16 units or bytes.
//
// Storage is a copy-on-write rope: an edit costs O(log n + edit size), Clone is O(1), and the
// first edit after a Clone copies O(log n) nodes. The zero Text is an empty text at version 0
// ready to use, keeping [DefaultHistory] edits.
//
// A nil *Text (an unset field of a generated struct) reads as the zero Text: Len, Version,
// Base, Oldest, String, Slice and the offset conversions answer as for an empty text.
//
// A Text is not safe for concurrent use; Clone counts as a write (see package aper).
type Text struct {
	rope    rope
	version uint64
	keep    int  // edits kept; see history
	keepSet bool // keep was chosen (else DefaultHistory)
	start   uint64
	local   int // trailing optimistic edits (see Base)
	// pin is 1 + the version the history is held back to for the authors that are behind (see
	// Oldest), or 0 for none. It is set anew at each chunk of the history (see repin).
	pin     uint64
	loading bool // a decoded history is being pushed: no repin

	hist  history
	spare *chunk // a dropped chunk of ours, reused
	// sentFrom is the first version whose history entry is sure to hold its op as sent: the
	// version of the edit that turned the text to ordered mode (see turnOrdered). Entries before
	// it are encoded as if their op was not transformed, and serve no materialize.
	sentFrom uint64
	// ordered is set once the text gave or applied an ordered form (see Ordered): its server sends
	// ordered forms, its replicas keep no queues they do not need, and it encodes none.
	ordered bool

	// The Jupiter server's state of each author with an edit in the window (see peer), shared
	// with clones until written (peersOwner, and each peer's owner).
	peers      map[aper.ClientID]*peer
	peersOwner cow.Owner
	cur        *peer // the state of curID, last looked up; nil for none
	curID      aper.ClientID

	queue []queueOp // scratch for Apply: the next queue of the edit's author
	movs  []moving  // scratch for Rebase
	owner cow.Owner // same as rope.owner
}

// New returns a text holding s at version 0. Invalid UTF-8 in s is replaced by U+FFFD (each
// maximal invalid byte sequence by one, as by [strings.ToValidUTF8]): a text holds valid UTF-8
// only, and New has no error to return.
func New(s string) *Text {
	t := &Text{}
	t.init()
	t.rope.root = build(strings.ToValidUTF8(s, "\uFFFD"), t.owner)
	return t
}

// NewWithHistory is like [New] with a history of keep edits (keep ≥ 0): an edit whose Base is
// more than keep versions old is a StaleBase conflict. The per-author state that Apply keeps
// (see [Text.Apply]) spans the same window.
func NewWithHistory(s string, keep int) *Text {
	t := New(s)
	t.keep, t.keepSet = max(keep, 0), true
	return t
}

func (t *Text) init() {
	if t.owner == 0 {
		t.owner = cow.NewOwner()
		t.rope.owner = t.owner
	}
}

func (t *Text) limit() int {
	if t.keepSet {
		return t.keep
	}
	return DefaultHistory
}

// Len returns the length in code points.
func (t *Text) Len() int {
	if t == nil {
		return 0
	}
	return t.rope.len()
}

// Version returns the number of edits applied since version 0.
func (t *Text) Version() uint64 {
	if t == nil {
		return 0
	}
	return t.version
}

// Base returns the Base for edits made against this text as it is now: Version minus the
// trailing run of optimistic edits (applied with Seq 0 and a non-empty Client). On a client's
// optimistic view (its confirmed text plus its pending edits, applied with Seq 0 and its own
// id) that is the confirmed version; on the server, and on a text that applies edits directly
// with [aper.On], it is Version.
//
// A view that keeps its optimistic edits after the server has confirmed them, instead of being
// rebuilt as a Clone of the confirmed text plus the edits still pending, keeps their Base too:
// its new edits name an ever older version and become StaleBase once that falls out of the
// history. Rebuild such a view at least once every [Text.Oldest] window of confirmations.
func (t *Text) Base() uint64 {
	if t == nil {
		return 0
	}
	return t.version - uint64(t.local)
}

// Oldest returns the oldest Base that Apply still accepts. Older ones are StaleBase conflicts.
//
// It is the version the history limit (DefaultHistory, or NewWithHistory's keep) edits ago, or
// older for the authors that are behind: an author's next edit is based no earlier than its
// latest one (see [Text.Apply]), so the Text holds the history back to the Base of each author's
// latest edit, and a client that has typed in the room never has an edit refused as stale,
// however busy the room and however far behind the client. For the authors with no edit yet (a
// client that joined a busy room) it also holds twice the largest lag (version less Base) of the
// edits in its history: a room where edits arrive far behind keeps as much more. Authors and lags
// are looked at once per 32 edits, when a new chunk of the history starts, and the history held
// for them then reaches back at most [HistoryStretch] times the limit, so an author that is gone
// holds it that far at most. Every replica that applies the same edits holds the same history.
func (t *Text) Oldest() uint64 {
	if t == nil {
		return 0
	}
	o := t.start
	if k := uint64(t.limit()); t.version > k && t.version-k > o {
		o = t.version - k
	}
	if t.pin != 0 && t.pin-1 < o {
		o = max(t.pin-1, t.start)
	}
	return o
}

// maxHistory returns the most edits the history holds: the limit times HistoryStretch, plus the
// chunk of edits applied between two repins.
func (t *Text) maxHistory() int {
	l := t.limit()
	if l > (math.MaxInt-chunkSize)/HistoryStretch {
		return math.MaxInt
	}
	return l*HistoryStretch + chunkSize
}

// repin sets the pin anew (called by push as a chunk starts, before the version advances): the
// oldest Base of the latest edit of an author with an edit in the history, or twice the largest
// lag of the edits of the history's whole chunks back, if older (see Oldest); but no older than
// the history is now, nor than HistoryStretch times the limit back.
func (t *Text) repin() {
	floor0 := t.Oldest()
	floor := floor0 // the history held: a pin never reaches back before it
	if m := uint64(t.maxHistory() - chunkSize); t.version > m && t.version-m > floor {
		floor = t.version - m
	}
	pin, l := uint64(math.MaxUint64), uint64(t.limit())
	var lag uint64
	if h := &t.hist; h.root != nil {
		// The chunks wholly in the history: a replica that started from a snapshot holds only
		// part of the oldest one.
		for c := (floor + chunkSize - 1) / chunkSize; c < t.version/chunkSize; c++ {
			lag = max(lag, h.chunk(c).lag)
		}
	}
	if lag > 0 {
		pin = t.version - min(t.version, 2*lag)
	}
	for _, p := range t.peers {
		// Only the authors with an edit in the history: the others' state is on its way out
		// (and a replica decoded from a snapshot does not have it).
		if p.last >= floor0 {
			pin = min(pin, p.ack)
		}
	}
	t.pin = 0
	if pin != math.MaxUint64 && pin+l < t.version+chunkSize {
		// It may hold back the history before the next repin.
		t.pin = max(pin, floor) + 1
	}
}

// String returns the whole text.
func (t *Text) String() string {
	if t == nil || t.rope.root == nil {
		return ""
	}
	var sb strings.Builder
	sb.Grow(t.rope.root.bytes)
	t.rope.root.leaves(func(b []byte) bool { sb.Write(b); return true })
	return sb.String()
}

// Slice returns the code points [i, j). It is an error unless 0 ≤ i ≤ j ≤ Len.
func (t *Text) Slice(i, j int) (string, error) {
	if i < 0 || j < i || j > t.Len() {
		return "", fmt.Errorf("aper/text: slice [%d:%d] of a text of %d code points", i, j, t.Len())
	}
	if i == j {
		return "", nil
	}
	var sb strings.Builder
	t.rope.root.appendTo(&sb, i, j)
	return sb.String(), nil
}

// ToByte returns the UTF-8 byte offset of code point i, 0 ≤ i ≤ Len.
func (t *Text) ToByte(i int) (int, error) {
	if i < 0 || i > t.Len() {
		return 0, fmt.Errorf("aper/text: position %d outside a text of %d code points", i, t.Len())
	}
	if t == nil || t.rope.root == nil {
		return 0, nil
	}
	b, _ := t.rope.root.locate(i)
	return b, nil
}

// ToUTF16 returns the UTF-16 offset of code point i, 0 ≤ i ≤ Len.
func (t *Text) ToUTF16(i int) (int, error) {
	if i < 0 || i > t.Len() {
		return 0, fmt.Errorf("aper/text: position %d outside a text of %d code points", i, t.Len())
	}
	if t == nil || t.rope.root == nil {
		return 0, nil
	}
	_, wide := t.rope.root.locate(i)
	return i + wide, nil
}

// FromByte returns the code point at UTF-8 byte offset b. An offset outside the text or inside
// a multi-byte character is an error.
func (t *Text) FromByte(b int) (int, error) {
	if t == nil || t.rope.root == nil || b < 0 || b > t.rope.root.bytes {
		if b == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("aper/text: byte offset %d outside the text", b)
	}
	i, ok := t.rope.root.fromBytes(b)
	if !ok {
		return 0, fmt.Errorf("aper/text: byte offset %d inside a character", b)
	}
	return i, nil
}

// FromUTF16 returns the code point at UTF-16 offset u (as JavaScript and Java count). An offset
// outside the text or between the two halves of a surrogate pair is an error.
func (t *Text) FromUTF16(u int) (int, error) {
	if t == nil || t.rope.root == nil || u < 0 || u > t.rope.root.runes+t.rope.root.wide {
		if u == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("aper/text: UTF-16 offset %d outside the text", u)
	}
	i, ok := t.rope.root.fromUTF16(u)
	if !ok {
		return 0, fmt.Errorf("aper/text: UTF-16 offset %d inside a surrogate pair", u)
	}
	return i, nil
}

// Insert returns the edit that inserts s at code point pos, with [Text.Base] as its Base. It does
// not change t. An out-of-range pos gives an edit that Apply refuses (OutOfRange). Invalid UTF-8
// in s is replaced by U+FFFD, as in [Text.Replace].
func (t *Text) Insert(pos int, s string) Edit { return t.Replace(pos, 0, s) }

// Delete returns the edit that deletes n code points at pos, with [Text.Base] as its Base. It
// does not change t. An out-of-range span gives an edit that Apply refuses (OutOfRange).
func (t *Text) Delete(pos, n int) Edit { return t.Replace(pos, n, "") }

// Replace returns the edit that replaces n code points at pos with s, with [Text.Base] as its
// Base. It does not change t. An out-of-range span gives an edit that Apply refuses
// (OutOfRange). Invalid UTF-8 in s is replaced by U+FFFD, as in [New], so the edit inserts
// valid UTF-8 (an Op built with [Splice] refuses invalid UTF-8 instead).
func (t *Text) Replace(pos, n int, s string) Edit {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	op, err := Splice(t.Len(), pos, n, s)
	if err != nil {
		op = Op{}
		op.retain(t.Len() + 1) // an input length that cannot match
	}
	return Edit{Base: t.Base(), Op: op}
}

// Apply applies an edit. The edit's op is made against what its author saw: the text at
// version Base plus the author's own edits applied since Base (a client sends edits without
// waiting for each to be confirmed, so its earlier edits may still have been pending). Apply
// transforms the op over the other authors' edits applied since Base, as those look after the
// author's own edits, then applies it and advances the version: the server side of the Jupiter
// (ot.js) client–server algorithm. Two edits with the same ev.Client are by the same author.
// When two authors insert at the same position, the edit applied later goes first.
//
// All edits with the empty ClientID count as one author's: that is for the edits a server makes
// itself. Each is taken as made in a view that includes every earlier one since its Base, so two
// independent sources of edits, two server-side bots say, need distinct ids, or their concurrent
// edits are not transformed over each other.
//
// When one of an author's edits is refused (a conflict), the Text keeps no trace of it, but the
// author made its later pending edits in a view that included it. Apply takes them as made
// without it, so they are refused too, or land where the author did not mean. A client whose
// edit is refused should rebuild its later pending edits on its confirmed text (or drop them)
// rather than send them as they were.
//
// The Text keeps the Jupiter server's queue for each author with an edit in the history window:
// the other authors' edits since the Base of the author's latest edit, as they apply after the
// author's own edits (the entries after the author's latest edit are the history's). An edit
// drops the entries before its Base, is transformed over the rest, and they over it. So an edit
// needs no history from before its own Base, however long its author has had edits pending, and
// costs O(edit size + concurrent edits). This state is part of the Text: it is in its encodings,
// Clone shares it copy-on-write, and every replica that applies the same events in the same
// order has the same.
//
// An edit in the server's ordered form (with Version and Applied; see [Text.Ordered]) that made
// the version after t's is not transformed: Applied applies as it is, after the same checks of
// its Base, and the Text does not compute its author's queue. It computes it from the history,
// where it keeps each edit's op as sent, when an edit of that author needs it later; so does a
// Text decoded from a snapshot of ordered mode, which holds no queues. That fails, as StaleBase,
// when the author's run of edits (each based before the author's previous one was applied)
// began before the history and another author's edit lies between the edit's Base and its
// author's latest. A client of package sync re-expresses its pending edits over the others' as
// they arrive, on a resume, and over a snapshot that replaces its text ([Text.CatchUp]), so it
// sends such an edit only when it cannot catch up (its text older than the snapshot's history,
// a rejection or an unknown outcome among its edits the server processed, a pending edit its view
// had to leave out, or other edits under its client id); a server restarted from a snapshot may
// then refuse it where the server that kept the queue would not.
//
// Conflicts, which change nothing: a Base after the current version is Invalid, and one older
// than the history ([Text.Oldest]) is StaleBase, unless the author's previous edit is still in
// the history (then its queue holds what the edit needs, however many edits, its author's own
// or others', were applied since its Base: an author's own edits never make its later edits
// stale, nor do others' while its edits keep coming); an edit whose Base is older than that of its
// author's previous edit, still pending at Base, is Invalid (a client's Base never goes back).
// An op whose input length differs from the author's view is OutOfRange, and so is any edit
// once the version is the largest uint64 (only a crafted snapshot gets there).
//
// Apply gives the same result on every replica with the same history (but for the StaleBase
// above, on a text that did not keep a queue), so a client may apply its own edits optimistically (with Seq 0 and its own Client) and apply them again, with their
// original Base, on top of newer confirmed texts.
func (t *Text) Apply(ev aper.Event[Edit]) error {
	t.init()
	e := &ev.Transition
	b := e.Base
	if b > t.version {
		return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("edit based on version %d of a text at version %d", b, t.version)))
	}
	p := t.peer(ev.Client)
	// The server's ordered form of the edit, made at the version after t's (see Ordered): its op
	// as applied there applies as it is, and the author's queue is not computed (see peer).
	ordered := e.Version != 0 && e.Applied != nil && e.Version-1 == t.version
	op := &e.Op
	if len(t.queue) > 0 {
		t.queue = t.queue[:0] // the author's next queue
	}
	var x Op
	switch {
	case ordered:
		if o := t.Oldest(); b < o && (p == nil || p.last < o) {
			return stale(b, o)
		}
		if p != nil && p.last >= b && b < p.ack {
			return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("edit based on version %d after its author's edit based on version %d", b, p.ack)))
		}
		op = e.Applied
	case b < t.version:
		if o := t.Oldest(); b < o && (p == nil || p.last < o) {
			// Older than the history, and not within the author's own run of edits still in
			// it, whose queue holds the other authors' edits since its Base (see peer).
			return stale(b, o)
		}
		if p != nil && p.lazy && p.last >= b {
			if !t.othersIn(ev.Client, b, p.last) {
				// The part of the queue the edit needs, the other authors' edits from its
				// Base on, is empty: no need to compute the rest.
				p = &peer{last: p.last, ack: p.ack}
			} else {
				var err error
				if p, err = t.materialize(ev.Client, p); err != nil {
					return err
				}
			}
		}
		var n int
		var err error
		if x, n, err = t.rebase(p, b, e.Op); err != nil {
			return err
		}
		if n > 0 {
			op = &x
		}
	}
	if n := op.inLen(); n != t.Len() {
		return outOfRange("op of input length %d against a text of %d code points", n, t.Len())
	}
	if t.version == math.MaxUint64 {
		return outOfRange("the text is at the last version, %d", t.version)
	}
	t.applyOp(op)
	v := t.version
	ent := t.push()
	ent.author, ent.base, ent.op, ent.sent = ev.Client, b, *op, nil
	if op != &e.Op && !op.Equal(e.Op) {
		s := e.Op
		ent.sent = &s
	}
	t.hist.last.lag = max(t.hist.last.lag, v-b)
	// push may have expired the author's own state (a peer whose latest edit left the window,
	// dropped with its chunk): look it up again rather than update an object that is no longer
	// in t.peers. Where chunks end differs between replicas (a snapshot starts a history at its
	// own version), so updating the dropped object lost the state on some replicas only.
	p = t.peer(ev.Client)
	if p == nil || p.owner != t.owner {
		p = t.writablePeer(ev.Client, p)
	}
	switch {
	case ordered:
		p.queue = p.queue[:0]
	case len(p.queue) > 0 || len(t.queue) > 0:
		t.queue, p.queue = p.queue[:0], t.queue
	}
	p.last, p.ack, p.lazy = v, b, ordered && b != v
	if e.Version != 0 {
		// An ordered form, or an edit of a room whose server gives them applied as sent (see
		// Sent): the text is in ordered mode as the server's is.
		t.turnOrdered()
	}
	if ev.Seq == 0 && ev.Client != "" {
		t.local++
	} else {
		t.local = 0
	}
	return nil
}

// turnOrdered puts the text in ordered mode (see Ordered), just after it applied an edit, from
// which on its history keeps each edit's op as sent: the entries before it may not (a text
// decoded from a snapshot of format 2), and every replica that turns at the same edit counts them
// alike, however far back the snapshot it started from was (see sentFrom).
func (t *Text) turnOrdered() {
	if !t.ordered {
		t.ordered, t.sentFrom = true, t.version-1
	}
}

// Ordered returns the form of e, an edit [Text.Apply] has just applied as the text's latest, that
// a server sends to replicas and keeps in its log (it implements [aper.Orderer]): e with its
// [Edit.Version] and [Edit.Applied]. A replica at the version before applies it as it is, without
// transforming it over the edits concurrent with it, which the server has done. It returns e as
// it is when the text has no edit in its history.
//
// A text that gave an ordered form, or applied an edit with a Version, is in ordered mode: it
// keeps the per-author queues only for the authors whose edits it transformed itself, and its
// encoding holds each edit's op as sent instead of the queues (see [Text.MarshalJSON]), as the
// encodings of its replicas, which hold no queues, do.
func (t *Text) Ordered(e Edit) Edit {
	if t == nil || t.version == 0 || t.version-1 < t.start {
		return e
	}
	t.turnOrdered()
	a := t.entry(t.version - 1).op
	return Edit{Base: e.Base, Op: e.Op, Version: t.version, Applied: &a}
}

// Sent returns e, an ordered form, as its author sent it, with its Version but without Applied (it
// implements [aper.Orderer]): applied to a replica, it is transformed there as on the server, so
// that the replica keeps its author's queue. A client applies its own edits in this form, and
// keeps the queue its next edits need if it must apply them again (to a snapshot, or after a
// rejection).
func (t *Text) Sent(e Edit) Edit { return Edit{Base: e.Base, Op: e.Op, Version: e.Version} }

// rebase transforms op, from the author with state p (nil for none) at base b < version, into
// an op on the current text, and sets t.queue to the author's next queue: the other authors'
// edits from b on, as they apply after op. It returns the number of edits op was transformed
// over (0: op applies as it is).
func (t *Text) rebase(p *peer, b uint64, op Op) (Op, int, error) {
	return t.rebaseTo(p, b, op, t.version)
}

// rebaseTo is rebase onto the text at version end ≤ version, over the history before end.
func (t *Text) rebaseTo(p *peer, b uint64, op Op, end uint64) (Op, int, error) {
	from := b // plain history entries from here on join the queue
	// The next queue has an entry per edit op is transformed over: size it once (the queue of a
	// peer copied after a Clone starts without a buffer, and growing it copied it again and again).
	n := 0
	if p != nil && p.last >= b {
		n = int(end - p.last - 1)
		for i := len(p.queue) - 1; i >= 0 && p.queue[i].ver >= b; i-- {
			n++
		}
	} else {
		n = int(end - b)
	}
	t.queue = slices.Grow(t.queue[:0], n)
	m := newMoving(&op)
	if p != nil && p.last >= b {
		// The author's edits from b to last are in its view, and the others' edits before
		// last are in its queue, in its frame.
		if b < p.ack {
			return Op{}, 0, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("edit based on version %d after its author's edit based on version %d", b, p.ack)))
		}
		from = p.last + 1
		for i := range p.queue {
			q := &p.queue[i]
			if q.ver < b {
				continue
			}
			var err error
			if q.big == nil {
				err = t.overSplice(&m, q.ver, &q.sp)
			} else {
				err = t.overOp(&m, q.ver, q.big)
			}
			if err != nil {
				return Op{}, 0, err
			}
		}
	}
	for k := from; k < end; k++ {
		c := &t.entry(k).op
		var err error
		if sp, ok := asSplice(c); ok {
			err = t.overSplice(&m, k, &sp)
		} else {
			err = t.overOp(&m, k, c)
		}
		if err != nil {
			return Op{}, 0, err
		}
	}
	return m.result(), len(t.queue), nil
}

// moving is the op that rebase transforms, held as a splice while it is one, so that transforming
// it over a splice is arithmetic on both (see transformSp) with no Op built in between.
type moving struct {
	sp   splice
	isSp bool
	op   Op // when !isSp
}

func newMoving(o *Op) moving {
	if sp, ok := asSplice(o); ok {
		return moving{sp: sp, isSp: true}
	}
	return moving{op: *o}
}

// result returns the op.
func (m *moving) result() Op {
	if !m.isSp {
		return m.op
	}
	var o Op
	m.sp.emit(&o)
	return o
}

// overSplice transforms m over c, another author's edit applied at version k, and appends c
// transformed over m to t.queue.
func (t *Text) overSplice(m *moving, k uint64, c *splice) error {
	if m.isSp && m.sp.in == c.in {
		// Written in place: the queue's entry and m are the results. The entry is set field by
		// field (see transformSp); rebase sized the queue, so append rarely grows it.
		n := len(t.queue)
		if n == cap(t.queue) {
			t.queue = slices.Grow(t.queue, 1)
		}
		t.queue = t.queue[:n+1]
		q := &t.queue[n]
		if transformSp(&m.sp, c, Left, &m.sp, &q.sp) {
			q.ver, q.big = k, nil
			return nil
		}
		t.queue = t.queue[:n]
	}
	var co Op
	c.emit(&co)
	return t.overOp(m, k, &co)
}

// overOp is overSplice for an op c of any form.
func (t *Text) overOp(m *moving, k uint64, c *Op) error {
	x := m.result()
	var xp, cp Op
	if err := transformInto(&x, c, Left, &xp, &cp); err != nil {
		return outOfRange("op of input length %d does not fit its author's view", x.inLen())
	}
	*m = newMoving(&xp)
	t.queue = append(t.queue, newQueueOp(k, &cp))
	return nil
}

func stale(b, oldest uint64) error {
	return fmt.Errorf("aper/text: %w", conflict.New(conflict.StaleBase, fmt.Sprintf("edit based on version %d; the history starts at %d", b, oldest)))
}

// applyOp applies an op whose input length is the text's length.
func (t *Text) applyOp(o *Op) {
	pos := 0
	for _, c := range o.comps() {
		switch {
		case c.s != "":
			pos += t.rope.insertString(pos, c.s)
		case c.n > 0:
			pos += c.n
		default:
			t.rope.delete(pos, -c.n)
		}
	}
}

// TransformIndex returns where a cursor at position i of version from lies in the current text,
// by [TransformIndex] over every edit applied since (see there for side). As there, i is
// clamped to the text at version from first (cursors are advisory, and a client's may lag its
// text), so the result is always in [0, Len]. A from after [Text.Version] is an Invalid conflict,
// as an edit based there is in Apply, and one before [Text.Oldest] is StaleBase.
func (t *Text) TransformIndex(i int, from uint64, side Side) (int, error) {
	if from > t.version {
		return 0, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("cursor at version %d of a text at version %d", from, t.version)))
	}
	if from < t.version && from < t.Oldest() {
		return 0, fmt.Errorf("aper/text: %w", conflict.New(conflict.StaleBase, fmt.Sprintf("cursor at version %d of a text keeping versions from %d", from, t.Oldest())))
	}
	if from == t.version {
		return max(0, min(i, t.Len())), nil
	}
	for k := from; k < t.version; k++ {
		i = TransformIndex(i, t.entry(k).op, side)
	}
	return i, nil
}

// Clone returns an independent copy in O(1): the two share their rope nodes, history chunks and
// per-author state until either changes them.
func (t *Text) Clone() *Text {
	t.init()
	c := *t
	c.spare, c.queue, c.movs = nil, nil, nil
	t.owner, c.owner = cow.NewOwner(), cow.NewOwner()
	t.rope.owner, c.rope.owner = t.owner, c.owner
	t.spare = nil
	return &c
}

// WithoutHistory returns a copy of t that keeps no edits from before its current version (and no
// optimistic ones): a compact snapshot. Edits based on older versions are StaleBase conflicts
// on it. It keeps no per-author state either (that only serves edits based within the
// history), so an author's next edit must be based on the current version or later.
//
// Such a snapshot cannot transform edits based before it, so it is for archiving, or for
// starting a fresh room, not for a client joining a live room: the client applies the room's
// later events as the server did, and one whose author had not yet seen the snapshot's version
// (its Base is older) would be StaleBase on the client while the server, with its history,
// applied it. Send a joining client a snapshot with the history.
func (t *Text) WithoutHistory() *Text {
	c := t.Clone()
	c.hist, c.start, c.local, c.pin = history{}, c.version, 0, 0
	c.peers, c.peersOwner, c.cur, c.curID = nil, 0, nil, ""
	return c
}

var _ aper.StateMachine[*Text, Edit] = (*Text)(nil)

var errBadHistory = errors.New("aper/text: the history does not lead to the text")
