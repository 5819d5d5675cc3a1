package text

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/undo"
)

// ApplyInverse applies ev as [Text.Apply] does (the same result and errors, nothing changed on
// an error) and returns the edit that undoes it: the [Invert] of the op as it was applied (after
// Apply transformed it over the edits concurrent with it), with the text just after the edit as
// its Base: its Base is [Text.Version] after the call, and its op applies to the text at that
// version.
//
// Such an inverse is not for applying as it is once other edits follow: it is for keeping, and
// for [Text.Forward] to re-express over everything applied since, just before it is applied.
// The inverse of an edit applied optimistically on a client is based on a version of the
// client's view, which a rebase renumbers; a client takes the inverse again when the server
// confirms the edit (package undo's Manager.Replace).
//
// It costs what Apply costs plus O(log n + edit size). An edit that deletes and is based on an
// older version (one that Apply transforms) costs a copy of the latest history chunk (about 5
// KB) more: what it deletes is read from a Clone of the text taken before it.
func (t *Text) ApplyInverse(ev aper.Event[Edit]) (Edit, error) {
	e := &ev.Transition
	// An edit based on the current version applies as it is: what it deletes is read before
	// Apply. Another one is transformed first, so what it deletes is read after, from a Clone
	// taken before; unless it deletes nothing (transforming an op never gives it a delete).
	var before *Text
	var deleted []string
	op, direct := e.Op, e.Base == t.version // the op Apply applies, when it applies it as it is
	if e.Applied != nil && e.Version != 0 && e.Version-1 == t.version {
		op, direct = *e.Applied, true // an ordered form (see Text.Ordered)
	}
	if direct && op.InLen() == t.Len() {
		pos := 0
		for _, c := range op.Components() {
			switch c.Kind() {
			case RetainKind:
				pos += c.Count()
			case DeleteKind:
				s, _ := t.Slice(pos, pos+c.Count())
				deleted = append(deleted, s)
				pos += c.Count()
			}
		}
	} else {
		for _, c := range e.Op.Components() {
			if c.Kind() == DeleteKind {
				before = t.Clone()
				break
			}
		}
	}
	if err := t.Apply(ev); err != nil {
		return Edit{}, err
	}
	applied := t.entry(t.version - 1).op
	cs := make([]Component, 0, applied.Len())
	pos := 0
	for _, c := range applied.Components() {
		switch c.Kind() {
		case InsertKind:
			cs = append(cs, Delete(c.Count()))
		case RetainKind:
			cs = append(cs, c)
			pos += c.Count()
		case DeleteKind:
			var s string
			if before != nil {
				// Apply checked the op's length against the text, so the span is in it.
				s, _ = before.Slice(pos, pos+c.Count())
			} else {
				s, deleted = deleted[0], deleted[1:] // the op applied as it is
			}
			cs = append(cs, Insert(s))
			pos += c.Count()
		}
	}
	inv, err := NewOp(cs...) // normalizes: a delete's insert goes before the next delete
	if err != nil {
		return Edit{}, err // cannot happen: the counts are those of an applied op
	}
	return Edit{Base: t.version, Op: inv}, nil
}

// Forward re-expresses e, an edit whose op applies to the text at version e.Base (as an inverse
// from [Text.ApplyInverse] does: not the author's view, the text itself), over every edit
// applied since, whoever made it, and returns it as an edit against the text as it is now, with
// [Text.Base] as its Base: what [Text.Replace] would make. Where a later edit inserts at the
// edge of what e deletes, its text stays; where it inserts where e inserts, e's text goes
// first; where it deleted what e deletes, e deletes less.
//
// reverted (from package undo's Manager.Reverted) are the undos applied: each names an edit
// taken back (at version Inverse.Base-1) and the edit that took it back (at version
// Back.Base-1). Forward takes such a pair as if neither had happened: the edits between them
// are re-expressed without the edit taken back (transformed over its inverse), and the pair is
// skipped. Transforming over both instead would lose where e's text was inside text that was
// deleted and put back. Pairs must nest (an undo manager's last-in first-out order gives that);
// others, and pairs that do not lie within e.Base and now, are ignored.
//
// A Base after the current version is an Invalid conflict, one before [Text.Oldest] is
// StaleBase, and an op whose input length does not fit the text at its Base is OutOfRange. It
// costs O((size of e + size of the pairs' edits) · edits since e.Base) and changes nothing.
//
// An undo manager keeps inverses as ApplyInverse gives them and calls Forward on its view just
// before it applies one, so that others' typing after the undone edit stays where it is.
func (t *Text) Forward(e Edit, reverted []undo.Reverted[Edit]) (Edit, error) {
	if e.Base > t.version {
		return Edit{}, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("edit at version %d of a text at version %d", e.Base, t.version)))
	}
	if e.Base < t.version && e.Base < t.Oldest() {
		return Edit{}, stale(e.Base, t.Oldest())
	}
	// The pairs within [e.Base, version): the edit taken back at from, its undo at to.
	type pair struct {
		from, to uint64
		inv      Op
	}
	var pairs []pair
	for _, r := range reverted {
		from, to := r.Inverse.Base-1, r.Back.Base-1
		if r.Inverse.Base == 0 || r.Back.Base == 0 || from < e.Base || to <= from || to >= t.version {
			continue
		}
		pairs = append(pairs, pair{from: from, to: to, inv: r.Inverse.Op})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.from, b.from) })
	op := e.Op
	var open []pair // the pairs whose edit taken back is behind and whose undo is ahead, innermost last
	fits := func(err error) error {
		if err != nil {
			return outOfRange("op of input length %d does not fit the text at version %d", e.Op.InLen(), e.Base)
		}
		return nil
	}
	for k := e.Base; k < t.version; k++ {
		skip := false
		if n := len(open); n > 0 && open[n-1].to == k {
			open, skip = open[:n-1], true
		}
		for len(pairs) > 0 && pairs[0].from == k {
			if n := len(open); n > 0 && pairs[0].to > open[n-1].to {
				pairs = pairs[1:] // does not nest in the innermost open pair: ignored
				continue
			}
			open, pairs, skip = append(open, pairs[0]), pairs[1:], true
		}
		if skip {
			continue
		}
		o := t.entry(k).op
		var err error
		for j := len(open) - 1; j >= 0; j-- {
			// o without the edit taken back: the inverse, made first, transformed over o.
			if open[j].inv, o, err = Transform(open[j].inv, o, Left); err != nil {
				return Edit{}, fits(err)
			}
		}
		if op, _, err = Transform(op, o, Left); err != nil {
			return Edit{}, fits(err)
		}
	}
	if e.Base == t.version && op.InLen() != t.Len() {
		return Edit{}, outOfRange("op of input length %d against a text of %d code points", op.InLen(), t.Len())
	}
	return Edit{Base: t.Base(), Op: op}, nil
}

var (
	_ aper.Inverter[Edit]  = (*Text)(nil)
	_ undo.Forwarder[Edit] = (*Text)(nil)
)
