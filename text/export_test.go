package text

import (
	"fmt"

	"github.com/aper-go/aper"
)

// CheckInvariants checks the rope's counts and shape, the history's window and the per-author
// state, for the tests.
func CheckInvariants(t *Text) error {
	if err := checkHistory(t); err != nil {
		return err
	}
	if err := t.checkPeers(); err != nil {
		return err
	}
	if t.rope.root == nil {
		return nil
	}
	_, err := checkNode(t.rope.root, true)
	return err
}

func checkNode(n *node, root bool) (depth int, err error) {
	if n.leaf() {
		runes, wide := count(n.text)
		if runes != n.runes || wide != n.wide || len(n.text) != n.bytes {
			return 0, fmt.Errorf("leaf counts %d/%d/%d, want %d/%d/%d", n.runes, n.wide, n.bytes, runes, wide, len(n.text))
		}
		if len(n.text) > maxLeaf {
			return 0, fmt.Errorf("leaf of %d bytes", len(n.text))
		}
		if !root && len(n.text) == 0 {
			return 0, fmt.Errorf("empty leaf")
		}
		return 1, nil
	}
	if len(n.kids) > maxKids || len(n.kids) == 0 {
		return 0, fmt.Errorf("inner node with %d children", len(n.kids))
	}
	runes, bytes, wide := 0, 0, 0
	d := -1
	for _, k := range n.kids {
		kd, err := checkNode(k, false)
		if err != nil {
			return 0, err
		}
		if d >= 0 && kd != d {
			return 0, fmt.Errorf("leaves at depths %d and %d", d, kd)
		}
		d = kd
		runes += k.runes
		bytes += k.bytes
		wide += k.wide
	}
	if runes != n.runes || bytes != n.bytes || wide != n.wide {
		return 0, fmt.Errorf("inner counts %d/%d/%d, want %d/%d/%d", n.runes, n.bytes, n.wide, runes, bytes, wide)
	}
	return d + 1, nil
}

// Depth returns the rope's height, for the tests.
func Depth(t *Text) int {
	d := 0
	for n := t.rope.root; n != nil && !n.leaf(); n = n.kids[0] {
		d++
	}
	return d
}

// Peers returns the number of authors with state and of the ops in their queues, for the tests.
func Peers(t *Text) (authors, ops int) {
	for _, p := range t.peers {
		authors++
		ops += len(p.queue)
	}
	return authors, ops
}

// checkHistory checks that the history's ring holds the chunks of the window and no other.
func checkHistory(t *Text) error {
	h := &t.hist
	if h.root == nil {
		if t.Oldest() < t.version {
			return fmt.Errorf("no history for versions [%d, %d)", t.Oldest(), t.version)
		}
		return nil
	}
	if h.levels != ringLevels(t.maxHistory()) {
		return fmt.Errorf("a ring of %d levels for a history of at most %d", h.levels, t.maxHistory())
	}
	last := (t.version - 1) / chunkSize
	if h.first > t.Oldest()/chunkSize || last-h.first+1 > 1<<(histBits*h.levels) {
		return fmt.Errorf("chunks %d to %d held for versions [%d, %d)", h.first, last, t.Oldest(), t.version)
	}
	for c := h.first; c <= last; c++ {
		n := h.root
		for l := h.levels - 1; l > 0 && n != nil; l-- {
			n = n.kids[slot(c, l)]
		}
		if n == nil || n.chunks[slot(c, 0)] == nil {
			return fmt.Errorf("chunk %d of [%d, %d] missing", c, h.first, last)
		}
	}
	if h.chunk(last) != h.last {
		return fmt.Errorf("the last chunk is not the ring's")
	}
	chunks, err := countChunks(h.root, h.levels-1)
	if err != nil {
		return err
	}
	if want := last - h.first + 1; uint64(chunks) != want {
		return fmt.Errorf("the ring holds %d chunks, want %d", chunks, want)
	}
	return nil
}

func countChunks(n *hnode, l int) (int, error) {
	total := 0
	for i := range histFan {
		switch {
		case l == 0 && n.kids[i] != nil:
			return 0, fmt.Errorf("a node below the bottom of the history's ring")
		case l == 0 && n.chunks[i] != nil:
			total++
		case l > 0 && n.chunks[i] != nil:
			return 0, fmt.Errorf("a chunk above the bottom of the history's ring")
		case l > 0 && n.kids[i] != nil:
			k, err := countChunks(n.kids[i], l-1)
			if err != nil {
				return 0, err
			}
			total += k
		}
	}
	return total, nil
}

// TransformWalk is Transform by the general walk, without the fast path for splices.
func TransformWalk(a, b Op, side Side) (Op, Op, error) {
	var ap, bp Op
	err := transformWalk(&a, &b, side, &ap, &bp)
	return ap, bp, err
}

// IsSplice reports whether o is at most one splice (retain, insert, delete, retain).
func IsSplice(o Op) bool {
	_, ok := asSplice(&o)
	return ok
}

// TransformSplices is the fast path of Transform alone: ok is false when a or b is not one
// splice, their input lengths differ, or a result would not be one splice.
func TransformSplices(a, b Op, side Side) (ap, bp Op, ok bool) {
	sa, ok := asSplice(&a)
	if !ok {
		return Op{}, Op{}, false
	}
	sb, ok := asSplice(&b)
	if !ok || sa.in != sb.in {
		return Op{}, Op{}, false
	}
	ok = transformSplices(&sa, &sb, side, &ap, &bp)
	return ap, bp, ok
}

// RebaseOver transforms x over cs in turn as Apply's rebase does, holding ops as splices while
// they are, and returns x and each of cs transformed over x as it was then (the next queue).
func RebaseOver(x Op, cs []Op) (Op, []Op, error) {
	var t Text
	m := newMoving(&x)
	for k := range cs {
		var err error
		if sp, ok := asSplice(&cs[k]); ok {
			err = t.overSplice(&m, uint64(k), &sp)
		} else {
			err = t.overOp(&m, uint64(k), &cs[k])
		}
		if err != nil {
			return Op{}, nil, err
		}
	}
	q := make([]Op, len(t.queue))
	for i := range t.queue {
		if t.queue[i].ver != uint64(i) {
			return Op{}, nil, fmt.Errorf("queue entry %d has version %d", i, t.queue[i].ver)
		}
		q[i] = t.queue[i].op()
	}
	return m.result(), q, nil
}

// DecodeOpCBORFast is Op.UnmarshalCBOR's hand-written decoder alone: ok is false when it leaves
// the input to the general decoder.
func DecodeOpCBORFast(b []byte) (o Op, ok bool) {
	ok = decodeOpCBOR(b, &o)
	return o, ok
}

// DecodeOpCBORGeneral is Op.UnmarshalCBOR by the general decoder alone.
func DecodeOpCBORGeneral(b []byte) (Op, error) {
	var o Op
	err := o.unmarshalCBOR(b)
	return o, err
}

// DecodeEditCBORFast is Edit.UnmarshalCBOR's hand-written decoder alone: ok is false when it
// leaves b to the general decoder.
func DecodeEditCBORFast(b []byte) (e Edit, ok bool) {
	ok = decodeEditCBOR(b, &e)
	return e, ok
}

// EditCBORGeneral encodes and decodes an Edit by the general encoder and decoder alone.
type EditCBORGeneral Edit

// EncodeOpCBORGeneral encodes an Op by the general encoder, as MarshalCBOR did before it wrote
// the encoding by hand.
func EncodeOpCBORGeneral(o Op) ([]byte, error) { return aper.CBOR.Marshal(o.wire()) }
