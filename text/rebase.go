package text

import (
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// Rebase rewrites pending, a client's pending edits, over the last n edits t applied (by other
// authors): the client side of the Jupiter (ot.js) algorithm, the counterpart of what Apply does
// on the server. Before the call, pending[0] is made on t as it was before those n edits and each
// pending[i] on that text plus pending[:i]; after it, on t as it is now plus pending[:i], each
// with Base = t.Version(). It implements [aper.Rebaser] (see there for the contract), so that the
// sync client rebases its pending edits in O(pending) per remote edit instead of applying them
// again.
//
// The first exact edits are transformed over the n one at a time, with the tie-breaking of
// Apply (a pending edit's insert goes before a concurrent one ordered earlier), so each is the op
// that Apply will apply when the server orders it as it was sent. The others are transformed
// over the n composed into one op, which keeps their intent and costs O(pending × size of the
// composed op) rather than O(pending × n).
//
// It is an error, and pending is left as it was, when n is not in [1, Version], when the n edits
// are older than the history ([Text.Oldest]; StaleBase), or when the ops of pending do not chain
// from the text before the n (OutOfRange).
func (t *Text) Rebase(pending []Edit, exact, n int) error {
	if n < 1 || uint64(n) > t.version || exact < 0 || exact > len(pending) {
		return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("rebase of %d pending edits (%d exact) over %d of %d edits", len(pending), exact, n, t.version)))
	}
	from := t.version - uint64(n)
	if from < t.Oldest() {
		return stale(from, t.Oldest())
	}
	// Check that the ops chain: then no transform or compose below can fail, and pending is
	// rewritten in place.
	l := t.entry(from).op.inLen()
	for i := range pending {
		if in := pending[i].Op.inLen(); in != l {
			return outOfRange("pending edit %d of input length %d where the edits before it end at %d", i, in, l)
		}
		l = pending[i].Op.outLen()
	}
	// The exact ones are transformed as splices while they are (see moving), and written back
	// once at the end.
	ms := t.movs[:0]
	for i := range exact {
		ms = append(ms, newMoving(&pending[i].Op))
	}
	defer func() { clear(ms); t.movs = ms[:0] }()
	var f Op // the foreign edits composed, transformed over the exact ones
	first := true
	for k := from; k < t.version; k++ {
		c := newMoving(&t.entry(k).op)
		for i := range ms {
			overPending(&ms[i], &c)
		}
		if exact == len(pending) {
			continue
		}
		if first {
			f, first = c.result(), false
			continue
		}
		var err error
		if f, err = Compose(f, c.result()); err != nil {
			return fmt.Errorf("aper/text: rebase: %w", err) // unreachable: the history chains
		}
	}
	for i := range ms {
		pending[i].Op = ms[i].result()
	}
	for i := exact; i < len(pending); i++ {
		f = transformPending(&pending[i].Op, f)
	}
	for i := range pending {
		pending[i].Base = t.version
	}
	return nil
}

// overPending transforms *p over *c, an op ordered before it, as Apply transforms an edit over
// the history (p's inserts go first), and *c over *p: transformSp when both are splices of one
// input length and the results are splices, else transformInto.
func overPending(p, c *moving) {
	if p.isSp && c.isSp && p.sp.in == c.sp.in && transformSp(&p.sp, &c.sp, Left, &p.sp, &c.sp) {
		return
	}
	po, co := p.result(), c.result()
	var pp, cp Op
	if err := transformInto(&po, &co, Left, &pp, &cp); err != nil {
		panic("aper/text: rebase of ops that do not chain") // checked by Rebase
	}
	*p, *c = newMoving(&pp), newMoving(&cp)
}

// transformPending transforms *p over c, an op ordered before it, as Apply transforms an edit
// over the history (p's inserts go first), and returns c transformed over p.
func transformPending(p *Op, c Op) Op {
	var pp, cp Op
	if err := transformInto(p, &c, Left, &pp, &cp); err != nil {
		panic("aper/text: rebase of ops that do not chain") // checked by Rebase
	}
	*p = pp
	return cp
}

var _ aper.Rebaser[Edit] = (*Text)(nil)

// CatchUp rewrites pending, a client's pending edits made on old (the text the client had
// confirmed) plus the pending edits before each, as made on t, a later text of the same room that
// holds the first of them as author's: the client side of the Jupiter algorithm over t's history
// since old's version, as when the client receives those edits one by one. It returns how many of
// pending t holds (their rewritten forms are dropped: they are t's edits of author since old's
// version, in order, each exactly as t applied it); the others are rewritten in place with Base
// = t.Version(). It implements aper.CatchUpper, which package sync uses when a snapshot replaces
// a client's confirmed text: the client then sends its pending edits made on the snapshot, which
// any server can apply, rather than as made on a text the server may no longer be able to
// transform them from.
//
// It is an error, and pending is left as it was, when old is ahead of t or older than t's
// history, when the pending edits are not all based on old's version or do not chain from its
// text, or when an edit of author in t's history is not the next pending one as the client
// would transform it (edits of the same author made elsewhere, or a rejected one missing).
func (t *Text) CatchUp(old *Text, author aper.ClientID, pending []Edit) (int, error) {
	from := old.Version()
	switch {
	case from > t.version:
		return 0, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("catch up from version %d to a text at version %d", from, t.version)))
	case from < t.Oldest():
		return 0, stale(from, t.Oldest())
	case from < t.version && t.entry(from).op.inLen() != old.Len():
		return 0, outOfRange("catch up from a text of %d code points to a history from %d", old.Len(), t.entry(from).op.inLen())
	case from == t.version && t.Len() != old.Len():
		return 0, outOfRange("catch up from a text of %d code points to one of %d at the same version", old.Len(), t.Len())
	}
	l := old.Len()
	for i := range pending {
		if pending[i].Base != from {
			return 0, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("pending edit %d based on %d, not %d", i, pending[i].Base, from)))
		}
		if in := pending[i].Op.inLen(); in != l {
			return 0, outOfRange("pending edit %d of input length %d where the edits before it end at %d", i, in, l)
		}
		l = pending[i].Op.outLen()
	}
	ms := make([]moving, len(pending))
	for i := range pending {
		ms[i] = newMoving(&pending[i].Op)
	}
	held := 0
	for k := from; k < t.version; k++ {
		e := t.entry(k)
		if e.author == author {
			if held == len(ms) || !ms[held].result().Equal(e.op) {
				return 0, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("the edit of version %d by %q is not the next pending one", k, author)))
			}
			held++
			continue
		}
		c := newMoving(&e.op)
		for i := held; i < len(ms); i++ {
			overPending(&ms[i], &c)
		}
	}
	for i := held; i < len(pending); i++ {
		pending[i] = Edit{Base: t.version, Op: ms[i].result()}
	}
	return held, nil
}

var _ aper.CatchUpper[*Text, Edit] = (*Text)(nil)
