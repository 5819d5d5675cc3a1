package text

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/cow"
)

// The history is held in chunks of chunkSize entries, chunk c holding versions
// [c*chunkSize, (c+1)*chunkSize). Entries never change once written, so a Clone shares the chunks;
// only the last one is written to, and it is copied first when shared (owner tokens, as for the
// rope). Whole chunks older than the kept window are dropped, and one of ours is reused, so a
// long run of edits allocates nothing for its history. When a chunk is dropped, so is the state
// of each of its authors whose latest edit has left the window (see peer).
//
// The chunks of the window sit in a persistent ring (see history), so that Clone copies nothing
// of the history, whatever its limit, and the first write after it copies the last chunk and
// O(log(limit)) small index nodes.
const chunkSize = 32

// histEntry is an applied edit: its author, Base, the op as applied (later edits are transformed
// over it, cursors moved by it) and, when it differs, the op as its author sent it, from which an
// author's queue is computed again when a replica that did not keep it needs it (see peer).
type histEntry struct {
	author aper.ClientID
	base   uint64
	op     Op
	sent   *Op // the op as its author sent it, when it differs from op; nil when the same
}

// sentOp returns the op of e as its author sent it.
func (e *histEntry) sentOp() *Op {
	if e.sent != nil {
		return e.sent
	}
	return &e.op
}

type chunk struct {
	owner   cow.Owner
	lag     uint64 // the largest lag of its entries: version less Base (see Text.repin)
	entries [chunkSize]histEntry
}

// history is the window's chunks: chunk c for c from first to the chunk of version-1, which is
// last. They sit in a ring of histFan^levels slots, chunk c in slot c mod histFan^levels, with
// room for every chunk a window of the text's limit can touch, so no two share a slot. The ring
// is a trie of fan-out histFan, copied on write node by node like the rope (hnode.owner): Clone
// shares the whole of it, and a write copies the nodes on one path from the root. Slots are
// cleared as their chunks leave the window. Nodes left empty stay, to be used again when the
// ring comes round (dropping them cost an allocation every histFan chunks): the ring has fewer
// than histFan times the slots the window needs, so its nodes number fewer than 8/7 per chunk
// the window needs, at 144 bytes against a chunk's 4.9 KB.
type history struct {
	root   *hnode // nil for no history
	levels int    // of the trie
	first  uint64 // the oldest chunk held
	last   *chunk // the chunk of version-1, the one written to
}

// The history's trie has a fan-out of histFan = 2^histBits.
const (
	histBits = 3
	histFan  = 1 << histBits
)

type hnode struct {
	owner  cow.Owner
	kids   [histFan]*hnode // above the bottom level
	chunks [histFan]*chunk // at the bottom level
}

// ringLevels returns the levels of a ring with room for the chunks of a window of limit edits:
// limit/chunkSize, plus one for the partly dropped oldest chunk and one for the partly written
// newest.
func ringLevels(limit int) int {
	need := uint64(limit)/chunkSize + 2
	l, size := 1, uint64(histFan)
	for size < need {
		l, size = l+1, size<<histBits
	}
	return l
}

// slot returns the index of chunk c in a node of level l (0 at the bottom).
func slot(c uint64, l int) uint64 { return c >> (histBits * l) & (histFan - 1) }

// chunk returns chunk c, which must be held.
func (h *history) chunk(c uint64) *chunk {
	n := h.root
	for l := h.levels - 1; l > 0; l-- {
		n = n.kids[slot(c, l)]
	}
	return n.chunks[slot(c, 0)]
}

// set puts ch (nil to clear) in the slot of chunk c, copying the nodes on its path that o does
// not own.
func (h *history) set(c uint64, ch *chunk, o cow.Owner) {
	p := &h.root
	for l := h.levels - 1; ; l-- {
		n := *p
		switch {
		case n == nil && ch == nil:
			return
		case n == nil:
			n = &hnode{owner: o}
		case n.owner != o:
			d := *n
			d.owner = o
			n = &d
		}
		*p = n
		if l == 0 {
			n.chunks[slot(c, 0)] = ch
			return
		}
		p = &n.kids[slot(c, l)]
	}
}

// entry returns the entry of version k, which must be in [t.Oldest(), t.version).
func (t *Text) entry(k uint64) *histEntry {
	if c := k / chunkSize; c != (t.version-1)/chunkSize {
		return &t.hist.chunk(c).entries[k%chunkSize]
	}
	return &t.hist.last.entries[k%chunkSize]
}

// push returns the entry for version t.version (to fill in) and advances the version, dropping
// chunks that fell out of the window.
func (t *Text) push() *histEntry {
	v := t.version
	if v%chunkSize == 0 && !t.loading {
		t.repin()
	}
	t.version++
	h := &t.hist
	c := v / chunkSize
	if h.root == nil {
		h.levels, h.first = ringLevels(t.maxHistory()), c
	}
	if h.root == nil || v%chunkSize == 0 {
		d := t.spare
		t.spare = nil
		if d == nil {
			d = &chunk{}
		}
		d.owner, d.lag = t.owner, 0
		h.last = d
		h.set(c, d, t.owner)
	} else if h.last.owner != t.owner {
		d := &chunk{owner: t.owner, lag: h.last.lag}
		n := v % chunkSize
		copy(d.entries[:n], h.last.entries[:n])
		h.last = d
		h.set(c, d, t.owner)
	}
	e := &h.last.entries[v%chunkSize]
	for oldest := t.Oldest(); (h.first+1)*chunkSize <= oldest && h.first < c; h.first++ {
		old := h.chunk(h.first)
		t.expire(old, oldest)
		if old.owner == t.owner {
			t.spare = old
		}
		h.set(h.first, nil, t.owner)
	}
	return e
}
