package list

import "github.com/aper-go/aper"

// DecodeTransitionGeneral decodes b into t with the general CBOR decoder alone.
func DecodeTransitionGeneral[V any, T any](b []byte, t *Transition[V, T]) error {
	return aper.CBOR.Unmarshal(b, (*plainTransition[V, T])(t))
}

// DecodeTransitionFast decodes b into t with the hand-written decoder alone, and reports whether
// it took b.
func DecodeTransitionFast[V any, T any](b []byte, t *Transition[V, T]) bool {
	return t.decodeFast(b)
}
