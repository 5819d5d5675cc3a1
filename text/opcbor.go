package text

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// decodeOpCBOR decodes the usual encoding of an Op by hand, without the general decoder's
// []any: every client decodes every edit of its room. It takes a definite-length array of
// integers and definite-length valid UTF-8 text strings, each component one that NewOp accepts,
// and nothing after the array, and sets *o to what the general decoder gives for it. For
// anything else it returns false and leaves *o alone: the general decoder then decides, with its
// errors.
func decodeOpCBOR(b []byte, o *Op) bool {
	if len(b) == 0 || b[0]>>5 != 4 {
		return false // not an array
	}
	n, b, ok := cborArg(b)
	if !ok || n > uint64(len(b)) { // each element takes a byte at least
		return false
	}
	var out opBuilder
	for range n {
		if len(b) == 0 {
			return false
		}
		major := b[0] >> 5
		v, rest, ok := cborArg(b)
		if !ok {
			return false
		}
		var c Component
		switch major {
		case 0: // an unsigned integer: a retain
			if v > math.MaxInt {
				return false
			}
			c.n = int(v)
		case 1: // a negative integer, -1-v: a delete
			if v >= math.MaxInt {
				return false
			}
			c.n = -1 - int(v)
		case 3: // a text string: an insert
			if v > uint64(len(rest)) || !utf8.Valid(rest[:v]) {
				return false
			}
			c.s = string(rest[:v])
			c.n = utf8.RuneCountInString(c.s)
			rest = rest[v:]
		default:
			return false
		}
		if out.add(c) != nil {
			return false
		}
		b = rest
	}
	if len(b) != 0 {
		return false
	}
	*o = out.op
	return true
}

// cborArg reads the head of the CBOR data item at the start of b: its argument (a value, a
// length or a count) and the bytes after the head. It returns false for an indefinite length,
// a reserved form, or a head cut short.
func cborArg(b []byte) (uint64, []byte, bool) {
	ai := b[0] & 31
	b = b[1:]
	switch {
	case ai < 24:
		return uint64(ai), b, true
	case ai == 24 && len(b) >= 1:
		return uint64(b[0]), b[1:], true
	case ai == 25 && len(b) >= 2:
		return uint64(binary.BigEndian.Uint16(b)), b[2:], true
	case ai == 26 && len(b) >= 4:
		return uint64(binary.BigEndian.Uint32(b)), b[4:], true
	case ai == 27 && len(b) >= 8:
		return binary.BigEndian.Uint64(b), b[8:], true
	}
	return 0, nil, false
}
