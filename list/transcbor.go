package list

import (
	"encoding/binary"
	"reflect"

	"github.com/aper-go/aper"
	"github.com/google/uuid"
)

// plainTransition is a Transition without its methods: what the general decoder decodes into.
type plainTransition[V any, T any] Transition[V, T]

// UnmarshalCBOR decodes a transition as the general CBOR decoder (aper.CBOR) decodes its fields.
// Every replica of a room decodes every transition, so the usual encoding (a definite-length map
// with the integer keys of the fields in ascending order, the ids as 16-byte strings, a position
// of the same shape) is read by hand, and only the item's value and its inner transition go to
// the general decoder. Anything else (another form, another key, a malformed or cut input) is
// decoded by the general decoder, which accepts it or returns its error; the results are the
// same either way. As with the general decoder, fields the input does not hold are left as
// they were.
func (t *Transition[V, T]) UnmarshalCBOR(b []byte) error {
	if t.decodeFast(b) {
		return nil
	}
	return aper.CBOR.Unmarshal(b, (*plainTransition[V, T])(t))
}

// decodeFast decodes the usual encoding of a transition into t and reports whether it did. When
// it reports false, t is unchanged, unless the value or inner transition was well-formed but
// failed to decode (the general decoder then fails too).
func (t *Transition[V, T]) decodeFast(b []byte) bool {
	n, p, ok := cborMap(b)
	if !ok || n > 5 {
		return false
	}
	out := *t
	var value, inner []byte
	last := uint64(0)
	for range n {
		key, q, ok := cborUint(b[p:])
		if !ok || key <= last || key > 5 {
			return false // not ascending (or a duplicate), or a key the fast path does not know
		}
		last = key
		p += q
		switch key {
		case 1:
			v, q, ok := cborUint(b[p:])
			if !ok || v > 0xff {
				return false
			}
			out.Op = Op(v)
			p += q
		case 2:
			id, q, ok := cborUUID(b[p:])
			if !ok {
				return false
			}
			out.ID = id
			p += q
		case 3:
			q, ok := out.Pos.decodeFast(b[p:])
			if !ok {
				return false
			}
			p += q
		case 4, 5:
			q, ok := cborSkip(b[p:], 0)
			if !ok || b[p] == 0xf6 || b[p] == 0xf7 {
				return false // a null is the general decoder's (it zeroes a pointer)
			}
			if key == 4 {
				value = b[p : p+q]
			} else {
				inner = b[p : p+q]
			}
			p += q
		}
	}
	if p != len(b) {
		return false
	}
	var err error
	if value != nil {
		if out.Value, err = decodeItem(value, out.Value); err != nil {
			return false
		}
	}
	if inner != nil {
		if out.Inner, err = decodeItem(inner, out.Inner); err != nil {
			return false
		}
	}
	*t = out
	return true
}

// unmarshaler is the CBOR decoder's cbor.Unmarshaler.
type unmarshaler interface{ UnmarshalCBOR([]byte) error }

// decodeItem decodes the well-formed, untagged, non-null item b over cur as the general decoder
// does, and returns the result. Where the type has its own UnmarshalCBOR it calls it without the
// general decoder: that of the value cur points to (a new one if cur is nil), as for an Atom.
// Any other type goes to the general decoder.
func decodeItem[X any](b []byte, cur X) (X, error) {
	if _, ok := any(cur).(unmarshaler); ok {
		if t := reflect.TypeFor[X](); t.Kind() == reflect.Pointer {
			var null X
			if any(cur) == any(null) { // pointers compare
				cur = reflect.New(t.Elem()).Interface().(X)
			}
			return cur, any(cur).(unmarshaler).UnmarshalCBOR(b)
		}
	}
	x := new(X)
	*x = cur
	err := aper.CBOR.Unmarshal(b, x)
	return *x, err
}

// decodeFast decodes the usual encoding of a position at the start of b into p, and returns its
// length. It reports false for any other form, and then p may be partly written.
func (p *ListPosition) decodeFast(b []byte) (int, bool) {
	n, off, ok := cborMap(b)
	if !ok || n > 4 {
		return 0, false
	}
	last := uint64(0)
	for range n {
		key, q, ok := cborUint(b[off:])
		if !ok || key <= last || key > 4 {
			return 0, false
		}
		last = key
		off += q
		switch key {
		case 1:
			v, q, ok := cborUint(b[off:])
			if !ok || v > 0xff {
				return 0, false
			}
			p.Kind = PositionKind(v)
			off += q
		case 2:
			id, q, ok := cborUUID(b[off:])
			if !ok {
				return 0, false
			}
			p.ID = id
			off += q
		case 3:
			s, q, ok := cborBytes(b[off:])
			if !ok {
				return 0, false
			}
			// What ZenoIndex.UnmarshalBinary accepts: no bytes, or a valid index.
			if len(s) == 0 {
				p.Index = ZenoIndex{}
			} else if checkBytes(s) == nil {
				p.Index = ZenoIndex{b: string(s)}
			} else {
				return 0, false
			}
			off += q
		case 4:
			q, ok := p.Respace.decodeFast(b[off:])
			if !ok {
				return 0, false
			}
			off += q
		}
	}
	return off, true
}

// decodeFast decodes the usual encoding of a respace at the start of b into r (both ids, as
// Respace.UnmarshalCBOR requires), and returns its length.
func (r *Respace) decodeFast(b []byte) (int, bool) {
	n, off, ok := cborMap(b)
	if !ok || n != 2 {
		return 0, false
	}
	var ids [2]uuid.UUID
	for i := range ids {
		key, q, ok := cborUint(b[off:])
		if !ok || key != uint64(i+1) {
			return 0, false
		}
		off += q
		if ids[i], q, ok = cborUUID(b[off:]); !ok {
			return 0, false
		}
		off += q
	}
	w := Respace{First: ids[0], Last: ids[1]}
	if w.check() != nil {
		return 0, false
	}
	*r = w
	return off, true
}

// cborArg reads the head of the CBOR data item at the start of b: its major type, its argument
// (a value, a length or a count) and the head's length. It reports false for an empty input, an
// indefinite length, a reserved form, or a head cut short.
func cborArg(b []byte) (major byte, arg uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, false
	}
	major, ai := b[0]>>5, b[0]&31
	switch {
	case ai < 24:
		return major, uint64(ai), 1, true
	case ai == 24 && len(b) >= 2:
		return major, uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		return major, uint64(binary.BigEndian.Uint16(b[1:])), 3, true
	case ai == 26 && len(b) >= 5:
		return major, uint64(binary.BigEndian.Uint32(b[1:])), 5, true
	case ai == 27 && len(b) >= 9:
		return major, binary.BigEndian.Uint64(b[1:]), 9, true
	}
	return 0, 0, 0, false
}

// cborUint reads an unsigned integer.
func cborUint(b []byte) (v uint64, n int, ok bool) {
	major, v, n, ok := cborArg(b)
	return v, n, ok && major == 0
}

// cborMap reads the head of a definite-length map: its number of pairs.
func cborMap(b []byte) (pairs uint64, n int, ok bool) {
	major, pairs, n, ok := cborArg(b)
	return pairs, n, ok && major == 5
}

// cborBytes reads a definite-length byte string; s aliases b.
func cborBytes(b []byte) (s []byte, n int, ok bool) {
	major, l, n, ok := cborArg(b)
	if !ok || major != 2 || l > uint64(len(b)-n) {
		return nil, 0, false
	}
	return b[n : n+int(l)], n + int(l), true
}

// cborUUID reads a 16-byte string as an id (what uuid.UUID.UnmarshalBinary accepts).
func cborUUID(b []byte) (id uuid.UUID, n int, ok bool) {
	s, n, ok := cborBytes(b)
	if !ok || len(s) != len(id) {
		return id, 0, false
	}
	copy(id[:], s)
	return id, n, true
}

// cborSkip returns the length of the definite-length, untagged data item at the start of b. It
// checks the structure only (lengths and counts), not the contents (UTF-8, simple values): the
// decoder it is handed to does.
func cborSkip(b []byte, depth int) (int, bool) {
	if depth > 16 {
		return 0, false
	}
	major, arg, n, ok := cborArg(b)
	if !ok {
		return 0, false
	}
	switch major {
	case 0, 1:
		return n, true
	case 2, 3:
		if arg > uint64(len(b)-n) {
			return 0, false
		}
		return n + int(arg), true
	case 4, 5:
		items := arg
		if major == 5 {
			items *= 2
		}
		if arg > uint64(len(b)) || items > uint64(len(b)) { // each item takes a byte at least
			return 0, false
		}
		for range items {
			q, ok := cborSkip(b[n:], depth+1)
			if !ok {
				return 0, false
			}
			n += q
		}
		return n, true
	case 7:
		// A simple value. Floats are the general decoder's, which refuses some (NaN, the
		// infinities) before the type's decoder sees them.
		if ai := b[0] & 31; ai > 24 || ai == 24 && arg < 32 {
			return 0, false
		}
		return n, true
	}
	return 0, false // a tag
}
