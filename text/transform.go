package text

// Transform, and its fast path for the ops of typing: most edits are one splice (retain, insert,
// delete, retain), and transforming one splice over another is arithmetic on their positions.
// transformInto takes it when both ops are splices and the results are splices too, and gives
// exactly the ops its general walk gives (the tests compare the two on every pair of splices of
// short strings and on random ones). Apply's rebase keeps the edit and the authors' queues as
// splices while they are (see moving and queueOp), so a busy room's edits are transformed with
// no Op built in between.

// Transform returns (a', b') for two ops a and b made concurrently against the same string s:
// applying a then b' gives the same string as applying b then a' (TP1). When both insert at the
// same position, side says whose text comes first: Left puts a's text before b's, Right after.
// Ops of different input lengths are an OutOfRange conflict.
func Transform(a, b Op, side Side) (Op, Op, error) {
	var ap, bp Op
	err := transformInto(&a, &b, side, &ap, &bp)
	return ap, bp, err
}

// transformInto is Transform writing into ap and bp, which must be empty.
func transformInto(a, b *Op, side Side, ap, bp *Op) error {
	if sa, ok := asSplice(a); ok {
		if sb, ok := asSplice(b); ok && sa.in == sb.in && transformSplices(&sa, &sb, side, ap, bp) {
			return nil
		}
	}
	return transformWalk(a, b, side, ap, bp)
}

// transformWalk is transformInto for any ops: a walk of both.
func transformWalk(a, b *Op, side Side, ap, bp *Op) error {
	if a.inLen() != b.inLen() {
		return outOfRange("transform of ops with input lengths %d and %d", a.inLen(), b.inLen())
	}
	x, y := newCursor(a), newCursor(b)
	for {
		xi, yi := x.cur.s != "", y.cur.s != ""
		switch {
		case xi && (side == Left || !yi):
			ap.insert(x.text(), x.cur.n)
			bp.retain(x.cur.n)
			x.next()
			continue
		case yi:
			ap.retain(y.cur.n)
			bp.insert(y.text(), y.cur.n)
			y.next()
			continue
		}
		if x.done() || y.done() {
			if x.done() && y.done() {
				return nil
			}
			return outOfRange("transform of ops of different input lengths")
		}
		m := min(x.cur.Count(), y.cur.Count())
		switch {
		case x.cur.n > 0 && y.cur.n > 0:
			ap.retain(m)
			bp.retain(m)
		case x.cur.n < 0 && y.cur.n > 0:
			ap.delete(m)
		case x.cur.n > 0 && y.cur.n < 0:
			bp.delete(m)
		}
		x.take(m)
		y.take(m)
	}
}

// splice is an Op that is at most one splice: retain pos, insert s (of runes code points), delete
// del, retain the rest, on a string of in code points.
type splice struct {
	pos, runes, del, in int
	s                   string
}

// asSplice returns o as a splice, or false when it is more than one.
func asSplice(o *Op) (splice, bool) {
	if o.more != nil {
		return splice{}, false
	}
	cs := o.small[:o.n]
	var sp splice
	i, rest := 0, 0
	if i < len(cs) && cs[i].s == "" && cs[i].n > 0 {
		sp.pos = cs[i].n
		i++
	}
	if i < len(cs) && cs[i].s != "" {
		sp.s, sp.runes = cs[i].s, cs[i].n
		i++
	}
	if i < len(cs) && cs[i].s == "" && cs[i].n < 0 {
		sp.del = -cs[i].n
		i++
	}
	if i < len(cs) && cs[i].s == "" && cs[i].n > 0 {
		rest = cs[i].n
		i++
	}
	if i != len(cs) {
		return splice{}, false
	}
	sp.in = sp.pos + sp.del + rest
	return sp, true
}

// over returns where a, a splice concurrent with b on the same string, inserts and deletes once
// transformed over b by transformInto's walk, when b's insert goes first at a tie (the caller
// handles a tie that a wins). It returns false when the result is not one splice: b inserts
// strictly inside the span a deletes, with code points that b does not delete on either side.
func (a splice) over(b splice) (pos int, ok bool) {
	if b.runes > 0 && a.pos < b.pos && b.pos+b.del < a.pos+a.del {
		return 0, false
	}
	switch {
	case a.pos < b.pos:
		return a.pos, true
	case a.pos > b.pos+b.del:
		return a.pos - b.del + b.runes, true
	default: // a starts at b's position or within the span b deletes: after b's insert
		return b.pos + b.runes, true
	}
}

// transformSplices is transformInto for two splices of the same input length. It returns false,
// having written nothing, when a result would not be one splice.
func transformSplices(a, b *splice, side Side, ap, bp *Op) bool {
	var sa, sb splice
	if !transformSp(a, b, side, &sa, &sb) {
		return false
	}
	sa.emit(ap)
	sb.emit(bp)
	return true
}

// transformSp sets *ap and *bp to a and b, of the same input length, transformed over each
// other, or returns false, having written nothing, when a result would not be one splice. ap may
// be a and bp may be b, but ap may not be b nor bp a.
func transformSp(a, b *splice, side Side, ap, bp *splice) bool {
	var pa, pb, both int
	switch {
	case a.pos+a.del < b.pos: // a's span wholly before b's: the common case
		pa, pb = a.pos, b.pos-a.del+a.runes
	case b.pos+b.del < a.pos:
		pa, pb = a.pos-b.del+b.runes, b.pos
	default:
		var ok bool
		if pa, ok = a.over(*b); !ok {
			return false
		}
		if pb, ok = b.over(*a); !ok {
			return false
		}
		// The part of the span each deletes that the other deleted too.
		both = max(0, min(a.pos+a.del, b.pos+b.del)-max(a.pos, b.pos))
		if a.pos == b.pos && a.runes > 0 && b.runes > 0 {
			// Both insert at the same position: side says whose text goes first.
			first, pf := a, &pa
			if side == Right {
				first, pf = b, &pb
			}
			if first.del > both {
				return false // the other insert falls between the first's insert and its delete
			}
			*pf = first.pos
		}
	}
	// Field by field: a splice is too large for the compiler to store by fields itself, and a
	// whole-struct copy into the heap (a queue) is a bulk write barrier while the collector runs.
	ar, as, adel, ain := a.runes, a.s, a.del-both, b.out()
	br, bs, bdel, bin := b.runes, b.s, b.del-both, a.out()
	ap.pos, ap.runes, ap.s, ap.del, ap.in = pa, ar, as, adel, ain
	bp.pos, bp.runes, bp.s, bp.del, bp.in = pb, br, bs, bdel, bin
	return true
}

// out returns the length of the strings the splice produces.
func (sp *splice) out() int { return sp.in - sp.del + sp.runes }

// emit appends the splice to o, which must be empty.
func (sp *splice) emit(o *Op) {
	o.retain(sp.pos)
	o.insert(sp.s, sp.runes)
	o.delete(sp.del)
	o.retain(sp.in - sp.pos - sp.del)
}
