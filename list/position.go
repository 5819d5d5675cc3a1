package list

import (
	"fmt"

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
type ListPosition struct {
	Kind  PositionKind `json:"kind" cbor:"1,keyasint"`
	ID    uuid.UUID    `json:"id,omitzero" cbor:"2,keyasint,omitzero"`
	Index ZenoIndex    `json:"index,omitzero" cbor:"3,keyasint,omitzero"`
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
	switch p.Kind {
	case PosBeginning, PosEnd:
		return p.Kind.String()
	case PosAt:
		return "at " + p.Index.String()
	}
	return fmt.Sprintf("%s %s (fallback %s)", p.Kind, p.ID, p.Index)
}
