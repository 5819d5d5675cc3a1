// Package cborscan reads the heads of CBOR data items and finds where an item ends, without
// decoding it: the hand-written fast paths of the library's decoders (package sync's frames,
// aper.CBORVariant) share it. It accepts Core Deterministic Encoding only (shortest heads,
// definite lengths, no tags), the form the library's encoder writes; a caller hands anything
// else to the general decoder.
package cborscan

import (
	"encoding/binary"
	"unicode/utf8"
)

// Skip returns the length of the well-formed, definite-length, untagged item at the start of b,
// with arrays and maps nested at most 16 deep, valid UTF-8 text strings and shortest-form heads.
func Skip(b []byte) (int, bool) { return skip(b, 0) }

// Head reads the head of an item of the given major type: its argument and the head's
// length. Only the shortest form of each argument is accepted (Core Deterministic Encoding).
func Head(b []byte, major byte) (arg uint64, n int, ok bool) {
	if len(b) == 0 || b[0]>>5 != major {
		return 0, 0, false
	}
	ai := b[0] & 0x1f
	switch {
	case ai < 24:
		return uint64(ai), 1, true
	case ai == 24 && len(b) >= 2 && b[1] >= 24:
		return uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		v := uint64(binary.BigEndian.Uint16(b[1:]))
		return v, 3, v > 0xff
	case ai == 26 && len(b) >= 5:
		v := uint64(binary.BigEndian.Uint32(b[1:]))
		return v, 5, v > 0xffff
	case ai == 27 && len(b) >= 9:
		v := binary.BigEndian.Uint64(b[1:])
		return v, 9, v > 0xffffffff
	}
	return 0, 0, false
}

// skip returns the length of the well-formed, definite-length, untagged item at the start
// of b.
func skip(b []byte, depth int) (int, bool) {
	if len(b) == 0 || depth > 16 {
		return 0, false
	}
	major := b[0] >> 5
	if major == 7 {
		switch ai := b[0] & 0x1f; {
		case ai < 24:
			return 1, true
		case ai == 24 && len(b) >= 2 && b[1] >= 32:
			return 2, true
		case ai == 25 && len(b) >= 3:
			return 3, true
		case ai == 26 && len(b) >= 5:
			return 5, true
		case ai == 27 && len(b) >= 9:
			return 9, true
		}
		return 0, false
	}
	arg, n, ok := Head(b, major)
	if !ok {
		return 0, false
	}
	switch major {
	case 0, 1:
		return n, true
	case 2, 3:
		if uint64(len(b)-n) < arg || (major == 3 && !utf8.Valid(b[n:n+int(arg)])) {
			return 0, false
		}
		return n + int(arg), true
	case 4, 5:
		items := arg
		if major == 5 {
			items *= 2
		}
		if items > uint64(len(b)) || arg > 1<<16 {
			return 0, false
		}
		for range items {
			// Inline, the items most arrays and maps hold: integers and text strings, which
			// skip takes with the same checks.
			if n < len(b) {
				switch m := b[n] >> 5; m {
				case 0, 1:
					_, h, ok := Head(b[n:], m)
					if !ok {
						return 0, false
					}
					n += h
					continue
				case 3:
					l, h, ok := Head(b[n:], m)
					if !ok || uint64(len(b)-n-h) < l || !utf8.Valid(b[n+h:n+h+int(l)]) {
						return 0, false
					}
					n += h + int(l)
					continue
				}
			}
			q, ok := skip(b[n:], depth+1)
			if !ok {
				return 0, false
			}
			n += q
		}
		return n, true
	}
	return 0, false
}
