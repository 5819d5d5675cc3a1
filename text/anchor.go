package text

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// ErrAnchorAhead is returned by [Text.Resolve] for an anchor made on a version of the text that
// the resolving text has not confirmed yet (its [Text.Base] is older): a replica that is behind
// the anchor's maker. It is transient: resolve again once the replica has caught up.
var ErrAnchorAhead = errors.New("aper/text: anchor made on a version this text has not confirmed yet")

// Anchor is a position in a text that holds whatever is typed around it, on any replica, like
// Yjs' RelativePosition or an Automerge cursor: a caret that stays between the same two
// characters, and at which its user's own typing lands in order. Make one with [Text.Anchor] and
// turn it back into a position with [Text.Resolve] on any later state of any replica of the
// text: the server's, another client's, or the maker's own optimistic view.
//
// An anchor sticks to a character: with Side [Left], to the one before it (text inserted at
// the anchor by others goes after it, and the anchor stays right after that character: the side
// for a caret, so that the next keystroke lands at the anchor, after the previous one); with
// [Right], to the one after it (text inserted at the anchor goes before it). An anchor at the
// start with Left, or at the end with Right, stays at the start or the end. When its character
// is deleted, the anchor moves to where the deletion was and from then on behaves as a cursor
// there (see [TransformIndex]).
//
// The character is named in a frame every replica shares: version Version of the text (the
// confirmed version of the view it was made on, [Text.Base]), at Pos, or, when it is one that
// the maker's view holds but the server has not yet ordered (the maker's own pending edit), as
// the Offset'th code point inserted by the Edit'th edit of Author applied from Version on. Until
// a replica has that edit, the anchor resolves to Pos moved over the edits since Version (past
// the text of Author's earlier edits at that spot for a Left anchor, before it for a Right one):
// about where that edit will arrive.
//
// An anchor needs the text's history from Version on: once Version is older than
// [Text.Oldest], Resolve returns a StaleBase conflict. An application that keeps anchors (a
// caret, a selection, a comment's range) re-anchors them, Resolve then Anchor, on every change
// of the text it shows; one that has fallen that far behind has no better answer than a
// position of its own choosing. An anchor that names an edit its author had pending, which the
// server then refused, resolves as if the author's later edits were that one: re-anchor after a
// rejection.
//
// Anchors encode compactly, for presence values: in JSON and CBOR as the array [Version, Pos,
// Side], or [Version, Pos, Side, Author, Edit, Offset] when Edit is not 0.
type Anchor struct {
	// Version is the version of the text whose positions Pos counts: the Base of the view the
	// anchor was made on. A text resolves the anchor once its own Base is at least Version.
	Version uint64
	// Pos is the anchor as a position in the text at Version.
	Pos int
	// Side is the character the anchor sticks to: [Left] the one before, [Right] the one after.
	Side Side
	// Author, Edit and Offset name the character in the author's pending edits, when Edit is
	// not 0: the Offset'th code point (from 0) inserted by Author's Edit'th edit (from 1) applied
	// from Version on.
	Author aper.ClientID
	Edit   int
	Offset int
}

// Anchor returns an anchor at position pos (0 ≤ pos ≤ Len) of t sticking to the character on
// side side of it (see [Anchor]). t may be a client's optimistic view: its confirmed text plus
// the client's pending edits, applied with Seq 0 and the client's id (the sync client's State,
// or a copy of it the application applied its own edit to, as the client's Apply does). A pos
// outside the text is an OutOfRange conflict, and a side other than Left and Right an Invalid
// one. A view whose pending edits go back further than the history keeps is a StaleBase
// conflict.
//
// After a keystroke, anchor the caret on the view the keystroke was made on, with the keystroke
// applied to it as the client applies it (Seq 0 and the client's id): a view read again from the
// client may already hold others' edits that came in meanwhile, where pos+1 need not be after
// the keystroke.
func (t *Text) Anchor(pos int, side Side) (Anchor, error) {
	if pos < 0 || pos > t.Len() {
		return Anchor{}, outOfRange("anchor at %d in a text of %d code points", pos, t.Len())
	}
	if side != Left && side != Right {
		return Anchor{}, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("anchor side %d", side)))
	}
	base := t.Base()
	a := Anchor{Version: base, Pos: pos, Side: side}
	if base == t.version {
		return a, nil
	}
	if base < t.Oldest() {
		return Anchor{}, stale(base, t.Oldest())
	}
	// Follow the character the anchor sticks to, and the anchor as a plain position, back over
	// the optimistic edits, newest first, to the text at base.
	c := pos - 1 // the character, or -1 for none
	if side == Right {
		c = pos
		if c == t.Len() {
			c = -1
		}
	}
	own := uint64(0) // the optimistic edit that inserted c, +1
	for k := t.version; k > base; k-- {
		op := &t.entry(k - 1).op
		if c >= 0 && own == 0 {
			var off int
			if c, off = back(op, c); c < 0 {
				own, a.Offset = k, off
			}
		}
		pos = backGap(op, pos)
	}
	if own == 0 {
		if c >= 0 && side == Left {
			pos = c + 1 // the same as pos, unless c's neighbour was deleted
		} else if c >= 0 {
			pos = c
		}
		a.Pos = pos
		return a, nil
	}
	a.Pos = pos
	a.Author = t.entry(own - 1).author
	for k := base; k < own; k++ {
		if t.entry(k).author == a.Author {
			a.Edit++
		}
	}
	return a, nil
}

// back returns where the character at c of op's output is in op's input, or -1 and its offset
// among the code points op inserts if op inserted it.
func back(op *Op, c int) (int, int) {
	o, in, ins := 0, 0, 0
	for _, x := range op.comps() {
		switch {
		case x.s != "":
			if c < o+x.n {
				return -1, ins + c - o
			}
			o, ins = o+x.n, ins+x.n
		case x.n > 0:
			if c < o+x.n {
				return in + c - o, 0
			}
			o, in = o+x.n, in+x.n
		default:
			in -= x.n
		}
	}
	return in + c - o, 0 // unreachable for c inside the output
}

// backGap returns where position g of op's output lies in op's input: a position inside or at
// the edge of inserted text goes to where the insert is.
func backGap(op *Op, g int) int {
	o, in := 0, 0
	for _, x := range op.comps() {
		switch {
		case x.s != "":
			if g <= o+x.n {
				return in
			}
			o += x.n
		case x.n > 0:
			if g <= o+x.n {
				return in + g - o
			}
			o, in = o+x.n, in+x.n
		default:
			in -= x.n
		}
	}
	return in
}

// inserted returns the position in op's output of the code point op inserts at offset off among
// all it inserts, and false if it inserts fewer.
func inserted(op *Op, off int) (int, bool) {
	o, ins := 0, 0
	for _, x := range op.comps() {
		switch {
		case x.s != "":
			if off < ins+x.n {
				return o + off - ins, true
			}
			o, ins = o+x.n, ins+x.n
		case x.n > 0:
			o += x.n
		}
	}
	return 0, false
}

// Resolve returns the position the anchor stands at in t (see [Anchor]), in [0, Len].
//
// Errors: an anchor made on a version t has not confirmed (its Version after t's Base: t is
// behind the anchor's maker) matches [ErrAnchorAhead]; one whose Version is older than the
// history t keeps ([Text.Oldest]) is a StaleBase conflict; a Pos outside the text at Version is
// OutOfRange, and a Side, Edit or Offset out of range, or an Edit without an Author, Invalid
// (an anchor from a hostile presence value, say).
func (t *Text) Resolve(a Anchor) (int, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	if a.Version > t.Base() {
		return 0, fmt.Errorf("%w: version %d, the text's base is %d", ErrAnchorAhead, a.Version, t.Base())
	}
	if a.Version < t.version && a.Version < t.Oldest() {
		return 0, fmt.Errorf("aper/text: %w", conflict.New(conflict.StaleBase, fmt.Sprintf("anchor at version %d of a text keeping versions from %d", a.Version, t.Oldest())))
	}
	n := t.Len()
	if a.Version < t.version {
		n = t.entry(a.Version).op.inLen()
	}
	if a.Pos > n {
		return 0, outOfRange("anchor at %d in version %d, of %d code points", a.Pos, a.Version, n)
	}
	g, seen := a.Pos, 0
	for k := a.Version; k < t.version; k++ {
		e := t.entry(k)
		side := a.Side
		if a.Edit > 0 && seen < a.Edit && e.author == a.Author {
			if seen++; seen == a.Edit {
				if p, ok := inserted(&e.op, a.Offset); ok {
					g = p
					if a.Side == Left {
						g++
					}
					continue
				}
			} else {
				// The author's earlier edits, pending when the anchor was made: their text is
				// on the far side of the anchor from its character, which comes later.
				side = Left + Right - side
			}
		}
		g = TransformIndex(g, e.op, side)
	}
	return g, nil
}

// check checks what an anchor can be without a text.
func (a Anchor) check() error {
	var msg string
	switch {
	case a.Side != Left && a.Side != Right:
		msg = fmt.Sprintf("anchor side %d", a.Side)
	case a.Pos < 0:
		return outOfRange("anchor at %d", a.Pos)
	case a.Edit < 0 || a.Offset < 0:
		msg = fmt.Sprintf("anchor at edit %d, offset %d", a.Edit, a.Offset)
	case a.Edit == 0 && (a.Offset != 0 || a.Author != ""):
		msg = "anchor with an author or offset and no edit"
	case a.Edit > 0 && a.Author == "":
		msg = "anchor in an edit of no author"
	default:
		return nil
	}
	return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, msg))
}

// wire returns the anchor's encoded form.
func (a Anchor) wire() []any {
	w := []any{a.Version, a.Pos, uint8(a.Side)}
	if a.Edit != 0 {
		w = append(w, string(a.Author), a.Edit, a.Offset)
	}
	return w
}

// MarshalJSON encodes the anchor as [Version, Pos, Side], with Author, Edit and Offset after
// them when Edit is not 0.
func (a Anchor) MarshalJSON() ([]byte, error) { return json.Marshal(a.wire()) }

// UnmarshalJSON decodes the form MarshalJSON writes, and refuses anything else, or an anchor
// that cannot be one (see [Text.Resolve]'s Invalid and OutOfRange errors).
func (a *Anchor) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("aper/text: anchor: %w", err)
	}
	if len(raw) != 3 && len(raw) != 6 {
		return fmt.Errorf("aper/text: anchor: an array of 3 or 6 elements, not %d", len(raw))
	}
	var x Anchor
	var side uint8
	dst := []any{&x.Version, &x.Pos, &side, &x.Author, &x.Edit, &x.Offset}
	for i, r := range raw {
		if aper.IsNull(r) {
			return fmt.Errorf("aper/text: anchor: element %d is null", i)
		}
		if err := json.Unmarshal(r, dst[i]); err != nil {
			return fmt.Errorf("aper/text: anchor: element %d: %w", i, err)
		}
	}
	return a.set(x, side, len(raw))
}

// set checks and stores a decoded anchor of n elements.
func (a *Anchor) set(x Anchor, side uint8, n int) error {
	x.Side = Side(side)
	if n == 6 && x.Edit == 0 {
		return errors.New("aper/text: anchor: edit 0 written out")
	}
	if err := x.check(); err != nil {
		return fmt.Errorf("aper/text: anchor: %w", errors.Unwrap(err))
	}
	*a = x
	return nil
}

// MarshalCBOR encodes the anchor as an array of the same form as MarshalJSON.
func (a Anchor) MarshalCBOR() ([]byte, error) { return aper.CBOR.Marshal(a.wire()) }

// UnmarshalCBOR decodes the form MarshalCBOR writes, with the checks of UnmarshalJSON.
func (a *Anchor) UnmarshalCBOR(b []byte) error {
	var raw []any
	if err := aper.CBOR.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("aper/text: anchor: %w", err)
	}
	if len(raw) != 3 && len(raw) != 6 {
		return fmt.Errorf("aper/text: anchor: an array of 3 or 6 elements, not %d", len(raw))
	}
	var x Anchor
	var side uint8
	for i, r := range raw {
		if i == 3 {
			s, ok := r.(string)
			if !ok {
				return fmt.Errorf("aper/text: anchor: element 3 is a string, not %T", r)
			}
			x.Author = aper.ClientID(s)
			continue
		}
		u, ok := r.(uint64) // CBOR decodes non-negative integers as uint64
		if !ok {
			return fmt.Errorf("aper/text: anchor: element %d is a non-negative integer, not %T", i, r)
		}
		if i == 0 {
			x.Version = u
			continue
		}
		if u > math.MaxInt {
			return fmt.Errorf("aper/text: anchor: element %d out of range", i)
		}
		switch i {
		case 1:
			x.Pos = int(u)
		case 2:
			if u > math.MaxUint8 {
				return fmt.Errorf("aper/text: anchor: side %d", u)
			}
			side = uint8(u)
		case 4:
			x.Edit = int(u)
		case 5:
			x.Offset = int(u)
		}
	}
	return a.set(x, side, len(raw))
}
