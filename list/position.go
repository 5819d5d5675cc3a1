package list

import (
	"fmt"

	"github.com/aper-go/aper/conflict"
	"github.com/google/uuid"
)

// PositionKind says how a [ListPosition] is resolved.
type PositionKind uint8

// The position kinds.
const (
	PosBeginning PositionKind = iota + 1 // before the first item
	PosEnd                               // after the last item
	PosAt                                // at Index
	PosBefore                            // just before item ID, or at Index if ID is gone
	PosAfter                             // just after item ID, or at Index if ID is gone
)

// String returns the kind's name.
func (k PositionKind) String() string {
	switch k {
	case PosBeginning:
		return "beginning"
	case PosEnd:
		return "end"
	case PosAt:
		return "at"
	case PosBefore:
		return "before"
	case PosAfter:
		return "after"
	}
	return fmt.Sprintf("PositionKind(%d)", uint8(k))
}

// ListPosition says where an inserted or moved item goes. It travels inside a transition and is
// resolved to a [ZenoIndex] when the transition is applied, against the list as it is then:
//
//   - [Beginning] and [End]: before the first or after the last item.
//   - [At](z): at index z.
//   - [Before](id, z) and [After](id, z): next to the item id, anchored to it wherever it has
//     moved; if that item is gone, at the captured index z (a zero z makes a missing anchor a
//     NotFound conflict).
//
// If the resolved index is already taken by another item, the new one goes just past it
// (between it and its successor), so two replicas that computed the same index agree on one
// order: the one applied first comes first.
//
// A position may carry a [Respace]: the run of items around it that gets new, evenly spaced
// indexes before the position is resolved ([Place]). The position constructors add one when the
// index they would make is too long (see [PositionAt]); it is how indexes stay short whatever
// the pattern of inserts.
type ListPosition struct {
	Kind    PositionKind `json:"kind" cbor:"1,keyasint"`
	ID      uuid.UUID    `json:"id,omitzero" cbor:"2,keyasint,omitzero"`
	Index   ZenoIndex    `json:"index,omitzero" cbor:"3,keyasint,omitzero"`
	Respace Respace      `json:"respace,omitzero" cbor:"4,keyasint,omitzero"`
}

// Beginning is the position before the first item.
func Beginning() ListPosition { return ListPosition{Kind: PosBeginning} }

// End is the position after the last item.
func End() ListPosition { return ListPosition{Kind: PosEnd} }

// At is the position at index z (or just past it, if it is taken).
func At(z ZenoIndex) ListPosition { return ListPosition{Kind: PosAt, Index: z} }

// Before is the position just before the item id, falling back to index fallback when that item
// is gone.
func Before(id uuid.UUID, fallback ZenoIndex) ListPosition {
	return ListPosition{Kind: PosBefore, ID: id, Index: fallback}
}

// After is the position just after the item id, falling back to index fallback when that item
// is gone.
func After(id uuid.UUID, fallback ZenoIndex) ListPosition {
	return ListPosition{Kind: PosAfter, ID: id, Index: fallback}
}

// String formats the position for humans.
func (p ListPosition) String() string {
	var s string
	switch p.Kind {
	case PosBeginning, PosEnd:
		s = p.Kind.String()
	case PosAt:
		s = "at " + p.Index.String()
	default:
		s = fmt.Sprintf("%s %s (fallback %s)", p.Kind, p.ID, p.Index)
	}
	if !p.Respace.IsZero() {
		s += ", after a " + p.Respace.String()
	}
	return s
}

// Siblings is an ordered set of items, each with an id and a distinct ZenoIndex: what a
// [ListPosition] is resolved against. A [List]'s items are one; the children of one parent in a
// tree, or the objects of one list of a board, are others. Implement it to resolve positions in a
// structure of your own with [Resolve].
type Siblings interface {
	// KeyOf returns the index of item id, if it is among the siblings.
	KeyOf(id uuid.UUID) (ZenoIndex, bool)
	// Below returns the greatest index less than k, or for the zero k the greatest of all; the
	// zero ZenoIndex if there is none.
	Below(k ZenoIndex) ZenoIndex
	// Above returns the least index greater than k, or for the zero k the least of all; the
	// zero ZenoIndex if there is none.
	Above(k ZenoIndex) ZenoIndex
	// Taken reports whether an item has index k.
	Taken(k ZenoIndex) bool
}

// Resolve turns p into a free index among s, by the rules every replica follows: Beginning and
// End go before the first and after the last item (the middle index if there is none); At uses
// its index; Before and After go next to their anchor: at the captured index if it still lies
// between the anchor and its neighbour on that side (as it does when nothing was inserted there
// since the position was made, which spares making the same index again), else at a new index
// between them; if the anchor is not among s, at the captured index. A resolved index that an
// item already has is moved just past it, so replicas that computed the same index still agree on
// one order.
//
// Resolve does not carry out the [Respace] p may carry: [Place] does, and then calls Resolve.
//
// Errors are conflicts: NotFound (with the anchor's id as the path) for an anchor that is gone
// with no fallback; Invalid for At with no index, an unknown kind, an index in p longer than
// [MaxIndexLen] or a resolved one that would be, and for siblings that contradict themselves (a
// Below or Above that is not below or above its argument). Resolve never panics on what s
// reports.
func Resolve(p ListPosition, s Siblings) (ZenoIndex, error) {
	if n := p.Index.Len(); n > MaxIndexLen {
		return ZenoIndex{}, conflict.New(conflict.Invalid, fmt.Sprintf("a position index of %d bytes, over MaxIndexLen (%d)", n, MaxIndexLen))
	}
	z, err := resolve(p, s)
	if err != nil {
		return ZenoIndex{}, err
	}
	if n := z.Len(); n > MaxIndexLen {
		return ZenoIndex{}, conflict.New(conflict.Invalid, fmt.Sprintf("the position resolves to an index of %d bytes, over MaxIndexLen (%d)", n, MaxIndexLen))
	}
	return z, nil
}

func resolve(p ListPosition, s Siblings) (ZenoIndex, error) {
	switch p.Kind {
	case PosBeginning:
		first := s.Above(ZenoIndex{})
		if first.IsZero() {
			return middle, nil
		}
		return first.Before(), nil
	case PosEnd:
		last := s.Below(ZenoIndex{})
		if last.IsZero() {
			return middle, nil
		}
		return last.After(), nil
	case PosAt:
		if p.Index.IsZero() {
			return ZenoIndex{}, conflict.New(conflict.Invalid, "position at no index")
		}
		return place(s, p.Index)
	case PosBefore, PosAfter:
		k, ok := s.KeyOf(p.ID)
		if !ok {
			if p.Index.IsZero() {
				return ZenoIndex{}, conflict.WithPath(conflict.New(conflict.NotFound, "the anchor is gone and the position has no fallback index"), p.ID.String())
			}
			return place(s, p.Index)
		}
		if k.IsZero() {
			return ZenoIndex{}, conflict.WithPath(conflict.New(conflict.Invalid, "the siblings give the anchor no index"), p.ID.String())
		}
		if p.Kind == PosBefore {
			below := s.Below(k)
			if lies(below, p.Index, k) {
				return p.Index, nil
			}
			return checked(below, k, nearHigh)
		}
		above := s.Above(k)
		if lies(k, p.Index, above) {
			return p.Index, nil
		}
		return checked(k, above, nearLow)
	default:
		return ZenoIndex{}, conflict.New(conflict.Invalid, fmt.Sprintf("unknown position kind %d", p.Kind))
	}
}

// lies reports whether z is an index strictly between the neighbours a and b (zero for an open
// end), so that no sibling has it.
func lies(a, z, b ZenoIndex) bool {
	return !z.IsZero() && (a.IsZero() || a.Less(z)) && (b.IsZero() || z.Less(b))
}

// place returns z if no sibling has it, or an index just past it otherwise.
func place(s Siblings, z ZenoIndex) (ZenoIndex, error) {
	if !s.Taken(z) {
		return z, nil
	}
	return checked(z, s.Above(z), nearLow)
}

// checked is between for neighbours that a [Siblings] reported: an Invalid conflict, not a
// panic, when they are out of order.
func checked(a, b ZenoIndex, l lean) (ZenoIndex, error) {
	z, ok := between(a, b, l)
	if !ok {
		return ZenoIndex{}, conflict.New(conflict.Invalid, fmt.Sprintf("the siblings are out of order: %s is not below %s", a, b))
	}
	return z, nil
}
