package text

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aper-go/aper"
)

// wireText is a Text on the wire.
type wireText struct {
	Version uint64 `json:"version" cbor:"1,keyasint"`
	Text    string `json:"text" cbor:"2,keyasint"`
	Keep    int    `json:"keep" cbor:"3,keyasint"`
	// Local is the trailing run of optimistic edits (see Text.Base).
	Local int `json:"local,omitempty" cbor:"4,keyasint,omitempty"`
	// History holds the edits of versions [Version-len(History), Version), oldest first.
	History []wireEntry `json:"history,omitempty" cbor:"5,keyasint,omitempty"`
	// Format is the snapshot's format: 0 (absent) for snapshots without the per-author state,
	// whose history is dropped on decoding; formatPeers for those with the queues and each
	// entry's op as sent; formatOps for those with the queues and each entry's op as applied
	// only, written by a text not in ordered mode; formatSent, written by a text in ordered mode,
	// for those with each entry's op as sent and as applied and no queues (they are computed
	// again when needed; see peer).
	Format int `json:"format,omitempty" cbor:"6,keyasint,omitempty"`
	// Queues holds the per-author queues that are not empty, by author (formats 1 and 2).
	Queues []wireQueue `json:"queues,omitempty" cbor:"7,keyasint,omitempty"`
	// Older holds, by author, the entries of the queues from before the history: those of an
	// author whose run of edits started before it (formats 1 and 2).
	Older []wireOlder `json:"older,omitempty" cbor:"8,keyasint,omitempty"`
	// Pin is 1 + the version that the history is held back to for the authors that are behind
	// (see Text.Oldest), or 0 for none: the history then reaches back further than Keep.
	Pin uint64 `json:"pin,omitempty" cbor:"9,keyasint,omitempty"`
	// SentFrom is the version of the edit that turned the text to ordered mode, when it is in
	// the history: the entries before it are written as if their op was not transformed, and do
	// not serve to compute a queue (see Text.turnOrdered).
	SentFrom uint64 `json:"sentFrom,omitempty" cbor:"10,keyasint,omitempty"`
}

// wireOlder is the part of an author's queue from before the history: the versions of the
// other authors' edits there, and their ops in the author's frame.
type wireOlder struct {
	_      struct{}      `cbor:",toarray"`
	Author aper.ClientID `json:"author"`
	Vers   []uint64      `json:"vers"`
	Ops    []Op          `json:"ops"`
}

// The formats of snapshots with per-author state (see wireText.Format).
const (
	formatPeers = 1
	formatOps   = 2
	formatSent  = 3
)

// wireQueue is the queue of an author with an edit in the history: the ops of the other authors'
// edits from the Base of its latest edit (or the history's start, if later) to that edit, in the
// author's frame. Which versions those are follows from the history.
type wireQueue struct {
	_      struct{}      `cbor:",toarray"`
	Author aper.ClientID `json:"author"`
	Ops    []Op          `json:"ops"`
}

// wireEntry is an entry of the history: its author, Base, op as sent and op as applied where it
// differs, in JSON {"author", "base", "sent", "applied"}, in CBOR [author, base, sent, applied
// or null] (formats 1 and 3).
//
// Snapshots of format 2 held the op as applied only: in JSON {"author", "base", "op"}, in CBOR
// [author, base, op]. Decoding reads that into Op.
type wireEntry struct {
	_       struct{}      `cbor:",toarray"`
	Author  aper.ClientID `json:"author,omitempty"`
	Base    uint64        `json:"base"`
	Sent    *Op           `json:"sent,omitempty"`
	Applied *Op           `json:"applied,omitempty"`

	Op *Op `json:"op,omitempty" cbor:"-"`
}

// opEntry is the CBOR shape of an entry of format 2: [author, base, op].
type opEntry struct {
	_      struct{} `cbor:",toarray"`
	Author aper.ClientID
	Base   uint64
	Op     Op
}

// MarshalCBOR encodes an entry of format 2 (Op set) as [author, base, op], any other as [author,
// base, sent, applied or null].
func (e wireEntry) MarshalCBOR() ([]byte, error) {
	if e.Op != nil {
		return aper.CBOR.Marshal(opEntry{Author: e.Author, Base: e.Base, Op: *e.Op})
	}
	type plain wireEntry // without this method
	return aper.CBOR.Marshal(plain(e))
}

// UnmarshalCBOR decodes an entry of either shape.
func (e *wireEntry) UnmarshalCBOR(b []byte) error {
	type plain wireEntry // without this method
	var p plain
	errSent := aper.CBOR.Unmarshal(b, &p)
	if errSent == nil && p.Sent != nil {
		*e = wireEntry(p)
		return nil
	}
	var applied opEntry
	if err := aper.CBOR.Unmarshal(b, &applied); err != nil {
		if errSent == nil {
			return fmt.Errorf("aper/text: a history entry without its op")
		}
		return errSent
	}
	*e = wireEntry{Author: applied.Author, Base: applied.Base, Op: &applied.Op}
	return nil
}

// old reports whether e has the shape of formats 0, 1 and 3: with the op as sent.
func (e *wireEntry) old() bool { return e.Op == nil }

// op returns the op as applied.
func (e *wireEntry) op() *Op {
	switch {
	case e.Applied != nil:
		return e.Applied
	case e.Sent != nil:
		return e.Sent
	}
	return e.Op
}

func (t *Text) wire() wireText {
	if !t.ordered {
		return t.wireQueues()
	}
	w := wireText{Version: t.version, Text: t.String(), Keep: t.limit(), Local: t.local, Format: formatSent, Pin: t.pin}
	o := t.Oldest()
	if t.sentFrom > o {
		w.SentFrom = t.sentFrom
	}
	if o < t.version {
		w.History = make([]wireEntry, 0, t.version-o)
	}
	for k := o; k < t.version; k++ {
		e := t.entry(k)
		w.History = append(w.History, wireEntry{Author: e.author, Base: e.base, Sent: e.sentOp()})
		if k < t.sentFrom {
			w.History[len(w.History)-1].Sent = &e.op // not sure to be held: see sentFrom
		} else if e.sent != nil {
			w.History[len(w.History)-1].Applied = &e.op
		}
	}
	return w
}

// wireQueues is wire for a text not in ordered mode: format 2, with each entry's op as applied and
// the per-author queues.
func (t *Text) wireQueues() wireText {
	w := wireText{Version: t.version, Text: t.String(), Keep: t.limit(), Local: t.local, Format: formatOps, Pin: t.pin}
	for k := t.Oldest(); k < t.version; k++ {
		e := t.entry(k)
		w.History = append(w.History, wireEntry{Author: e.author, Base: e.base, Op: &e.op})
	}
	for id, p := range t.peers {
		if p.last >= t.Oldest() {
			if q := p.queue[:len(p.queue)-len(t.windowQueue(p))]; len(q) > 0 {
				wo := wireOlder{Author: id, Vers: make([]uint64, len(q)), Ops: make([]Op, len(q))}
				for i := range q {
					wo.Vers[i], wo.Ops[i] = q[i].ver, q[i].op()
				}
				w.Older = append(w.Older, wo)
			}
		}
		if q := t.windowQueue(p); len(q) > 0 {
			wq := wireQueue{Author: id, Ops: make([]Op, len(q))}
			for i := range q {
				wq.Ops[i] = q[i].op()
			}
			w.Queues = append(w.Queues, wq)
		}
	}
	slices.SortFunc(w.Queues, func(a, b wireQueue) int { return strings.Compare(string(a.Author), string(b.Author)) })
	slices.SortFunc(w.Older, func(a, b wireOlder) int { return strings.Compare(string(a.Author), string(b.Author)) })
	return w
}

// load replaces t with the decoded w after checking it.
func (t *Text) load(w *wireText) error {
	if !utf8.ValidString(w.Text) {
		return fmt.Errorf("aper/text: text: invalid UTF-8")
	}
	if w.Keep < 0 {
		return fmt.Errorf("aper/text: text: negative history limit %d", w.Keep)
	}
	n := uint64(len(w.History))
	fresh := &Text{version: w.Version - n, start: w.Version - n, keep: w.Keep, keepSet: true}
	if n > w.Version || len(w.History) > fresh.maxHistory() {
		return fmt.Errorf("aper/text: text: %d history entries for version %d keeping %d", n, w.Version, w.Keep)
	}
	// The optimistic edits are the trailing ones, so they are in the history unless the history
	// is full and they reach back before it (a client's view whose pending edits outnumber the
	// history limit: its Base is then older than the history, and its edits StaleBase).
	if w.Local < 0 || uint64(w.Local) > w.Version || (w.Local > len(w.History) && len(w.History) < w.Keep) {
		return fmt.Errorf("aper/text: text: %d optimistic edits at version %d with %d of %d history entries", w.Local, w.Version, n, w.Keep)
	}
	fresh.init()
	fresh.loading, fresh.pin = true, fresh.start+1 // hold every entry while they are pushed
	for i := range w.History {
		if e := &w.History[i]; e.op() == nil || e.old() && e.Sent == nil {
			return fmt.Errorf("aper/text: text: the edit of version %d has no op", fresh.version+uint64(i))
		}
	}
	// The applied ops must chain and lead to the text.
	for i := range w.History {
		e := &w.History[i]
		v := fresh.version
		if e.Base > v {
			return fmt.Errorf("aper/text: text: the edit of version %d has base %d", v, e.Base)
		}
		if e.old() != (w.Format != formatOps) {
			return fmt.Errorf("aper/text: text: the edit of version %d is not of the shape of a snapshot of format %d", v, w.Format)
		}
		if i+1 < len(w.History) {
			if a, b := e.op().outLen(), w.History[i+1].op().inLen(); a != b {
				return fmt.Errorf("%w: version %d ends at length %d, version %d starts at %d", errBadHistory, v, a, v+1, b)
			}
		} else if a, b := e.op().outLen(), utf8.RuneCountInString(w.Text); a != b {
			return fmt.Errorf("%w: version %d ends at length %d, the text has %d", errBadHistory, v, a, b)
		}
		ent := fresh.push()
		ent.author, ent.base, ent.op, ent.sent = e.Author, e.Base, *e.op(), nil
		if e.Applied != nil && e.Sent != nil {
			ent.sent = e.Sent
		}
		fresh.hist.last.lag = max(fresh.hist.last.lag, v-e.Base)
	}
	fresh.local, fresh.loading, fresh.pin = w.Local, false, w.Pin
	if len(w.History) > 0 && fresh.Oldest() != fresh.start {
		// The history must start where the text keeps it from: at the limit, or at the pin.
		return fmt.Errorf("aper/text: text: %d history entries for version %d keeping %d from %d", n, w.Version, w.Keep, fresh.Oldest())
	}
	switch w.Format {
	case 0:
		// An older snapshot, without the per-author state: its history cannot serve the
		// authors' pending edits, so it restarts at the snapshot's version.
		if len(w.Queues) > 0 || len(w.Older) > 0 {
			return fmt.Errorf("aper/text: text: per-author queues in a snapshot of format 0")
		}
		fresh.hist, fresh.start, fresh.local = history{}, fresh.version, 0
	case formatPeers, formatOps:
		if err := fresh.loadQueues(w.Queues); err != nil {
			return err
		}
		if err := fresh.loadOlder(w.Older); err != nil {
			return err
		}
		if w.SentFrom != 0 {
			return fmt.Errorf("aper/text: text: sentFrom in a snapshot of format %d", w.Format)
		}
	case formatSent:
		if len(w.Queues) > 0 || len(w.Older) > 0 {
			return fmt.Errorf("aper/text: text: per-author queues in a snapshot of format %d", w.Format)
		}
		if w.SentFrom != 0 && (w.SentFrom <= fresh.start || w.SentFrom > fresh.version) {
			return fmt.Errorf("aper/text: text: sentFrom %d outside the history [%d, %d]", w.SentFrom, fresh.start, fresh.version)
		}
		fresh.sentFrom, fresh.ordered = w.SentFrom, true
		fresh.rebuildPeers()
	default:
		return fmt.Errorf("aper/text: text: unknown format %d", w.Format)
	}
	fresh.rope.root = build(w.Text, fresh.owner)
	*t = *fresh
	return nil
}

// loadQueues sets the per-author state from the history and the decoded queues, checking them.
func (t *Text) loadQueues(qs []wireQueue) error {
	t.rebuildPeers()
	for _, p := range t.peers {
		p.lazy = false // a queue not listed is empty
	}
	for i := range qs {
		wq := &qs[i]
		if i > 0 && qs[i-1].Author >= wq.Author {
			return fmt.Errorf("aper/text: text: queues not in order of author at %q", wq.Author)
		}
		p := t.peers[wq.Author]
		if p == nil {
			return fmt.Errorf("aper/text: text: a queue for %q, who has no edit in the history", wq.Author)
		}
		if len(wq.Ops) > t.maxHistory() {
			return fmt.Errorf("aper/text: text: a queue of %d for %q", len(wq.Ops), wq.Author)
		}
		p.queue = make([]queueOp, 0, len(wq.Ops))
		n := 0
		_ = t.queueVersions(wq.Author, p, func(k uint64) error {
			if n < len(wq.Ops) {
				p.queue = append(p.queue, newQueueOp(k, &wq.Ops[n]))
			}
			n++
			return nil
		})
		if n != len(wq.Ops) {
			return fmt.Errorf("aper/text: text: a queue of %d for %q, who has %d other authors' edits to follow", len(wq.Ops), wq.Author, n)
		}
	}
	if err := t.checkPeers(); err != nil {
		return fmt.Errorf("aper/text: text: %w", err)
	}
	return nil
}

// loadOlder prepends the decoded parts of the queues from before the history, checking them.
func (t *Text) loadOlder(os []wireOlder) error {
	oldest := t.Oldest()
	for i := range os {
		wo := &os[i]
		if i > 0 && os[i-1].Author >= wo.Author {
			return fmt.Errorf("aper/text: text: older queues not in order of author at %q", wo.Author)
		}
		p := t.peers[wo.Author]
		if p == nil {
			return fmt.Errorf("aper/text: text: an older queue for %q, who has no edit in the history", wo.Author)
		}
		if len(wo.Vers) != len(wo.Ops) || len(wo.Vers) == 0 {
			return fmt.Errorf("aper/text: text: an older queue of %d versions and %d ops for %q", len(wo.Vers), len(wo.Ops), wo.Author)
		}
		q := make([]queueOp, 0, len(wo.Ops)+len(p.queue))
		for j, v := range wo.Vers {
			if v < p.ack || v >= oldest || (j > 0 && v <= wo.Vers[j-1]) {
				return fmt.Errorf("aper/text: text: older queue of %q at version %d, outside [%d, %d) or out of order", wo.Author, v, p.ack, oldest)
			}
			if j > 0 && wo.Ops[j-1].outLen() != wo.Ops[j].inLen() {
				return fmt.Errorf("aper/text: text: older queue of %q does not chain at version %d", wo.Author, v)
			}
			q = append(q, newQueueOp(v, &wo.Ops[j]))
		}
		end := t.entry(p.last).op.outLen()
		if len(p.queue) > 0 {
			end = p.queue[0].inLen()
		}
		if wo.Ops[len(wo.Ops)-1].outLen() != end {
			return fmt.Errorf("aper/text: text: older queue of %q ends at length %d, not %d", wo.Author, wo.Ops[len(wo.Ops)-1].outLen(), end)
		}
		p.queue = append(q, p.queue...)
	}
	return nil
}

// MarshalJSON encodes the text as {"version", "text", "keep", "local", "history", "format",
// "queues", "older", "pin", "sentFrom"}: the version, the whole string, the history limit, the
// number of trailing optimistic edits, the kept history, the format, the per-author state, and,
// when the history is held back further than the limit for the authors that are behind (see
// [Text.Oldest]), 1 + the version it is held back to.
//
// A text not in ordered mode (see [Text.Ordered]) writes format 2: each history entry as
// {"author", "base", "op"} (its author, its Base and its op as applied, transformed over the
// edits before it), and the per-author state (see [Text.Apply]): for each author, in order,
// whose queue within the history is not empty, {"author", "ops"}, the ops of the other authors'
// edits from the Base of its latest edit (or the history's start) to that edit, as they apply
// after it, and in "older" the entries of the queues from before the history.
//
// A text in ordered mode writes format 3: each history entry as {"author", "base", "sent",
// "applied"}, its op as sent and, where it differs, its op as applied; no queues (a decoded text
// computes them again from the history when an edit needs them); and in "sentFrom" the version of
// the edit that turned it to ordered mode, when that is in the history (the entries before it are
// written as if their op was not transformed).
func (t *Text) MarshalJSON() ([]byte, error) { return json.Marshal(t.wire()) }

// UnmarshalJSON decodes what MarshalJSON writes, checking that the history's ops chain up to
// the text. A snapshot without "history" (see [Text.WithoutHistory]) starts a new history at its
// version: edits based on older versions are StaleBase conflicts on it, so it is for archiving or
// a fresh room, not for a client joining a live room (see there). So does a snapshot without
// "format" (written before the per-author state existed): its history is checked, then dropped,
// with its optimistic edits. Snapshots of formats 1 and 2 also held the per-author queues, as
// "queues" and "older", which are checked and kept; those of format 2 held each edit's op as
// applied only, as {"author", "base", "op"}.
func (t *Text) UnmarshalJSON(b []byte) error {
	var w wireText
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("aper/text: text: %w", err)
	}
	return t.load(&w)
}

// MarshalCBOR encodes the text as a map with the fields of MarshalJSON under keys 1 to 10, each
// history entry as an array [author, base, op] (format 2) or [author, base, sent, applied or
// null] (format 3), each queue as an array [author, ops].
func (t *Text) MarshalCBOR() ([]byte, error) { return aper.CBOR.Marshal(t.wire()) }

// UnmarshalCBOR decodes what MarshalCBOR writes, with the checks of UnmarshalJSON. Snapshots of
// formats 1 and 2 held the queues under keys 7 and 8; those of format 2 held each history entry
// as [author, base, op].
func (t *Text) UnmarshalCBOR(b []byte) error {
	var w wireText
	if err := aper.CBOR.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("aper/text: text: %w", err)
	}
	return t.load(&w)
}
