package cborscan

import (
	"encoding/binary"
	"unicode/utf8"
)

// ValidText reports whether b is a sequence of well-formed CBOR items in any form (any head
// length, indefinite lengths, tags) whose text strings are all valid UTF-8. An encoder writes
// a Go string as a text string whatever its bytes, so an encoding that a decoder checking
// UTF-8 refuses can only be caught after the encoding.
func ValidText(b []byte) bool {
	for len(b) > 0 {
		n, ok := validItem(b, 0)
		if !ok {
			return false
		}
		b = b[n:]
	}
	return true
}

// maxDepth bounds the nesting ValidText follows (far beyond what the library's decoder accepts).
const maxDepth = 1 << 12

// anyHead reads the head at the start of b in any form: its major type, its additional
// information, its argument (0 for an indefinite length) and its length.
func anyHead(b []byte) (major, ai byte, arg uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, 0, false
	}
	major, ai = b[0]>>5, b[0]&0x1f
	switch {
	case ai < 24:
		return major, ai, uint64(ai), 1, true
	case ai == 24 && len(b) >= 2 && (major != 7 || b[1] >= 32):
		// (A simple value below 32 has a one-byte form only.)
		return major, ai, uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		return major, ai, uint64(binary.BigEndian.Uint16(b[1:])), 3, true
	case ai == 26 && len(b) >= 5:
		return major, ai, uint64(binary.BigEndian.Uint32(b[1:])), 5, true
	case ai == 27 && len(b) >= 9:
		return major, ai, binary.BigEndian.Uint64(b[1:]), 9, true
	case ai == 31 && major >= 2 && major <= 5:
		return major, ai, 0, 1, true // indefinite length
	case ai == 31 && major == 7:
		return major, ai, 0, 1, true // break: only where an indefinite item ends
	}
	return 0, 0, 0, 0, false
}

// validItem returns the length of the item at the start of b, and false if it is not
// well-formed or holds a text string that is not valid UTF-8.
func validItem(b []byte, depth int) (int, bool) {
	if depth > maxDepth {
		return 0, false
	}
	major, ai, arg, n, ok := anyHead(b)
	if !ok || (major == 7 && ai == 31) {
		return 0, false // a break outside an indefinite item
	}
	indefinite := ai == 31
	switch major {
	case 0, 1, 7:
		return n, true
	case 2, 3:
		if indefinite {
			// Chunks of the same major type, each definite, then a break.
			for {
				if n >= len(b) {
					return 0, false
				}
				if b[n] == 0xff {
					return n + 1, true
				}
				cm, cai, _, _, ok := anyHead(b[n:])
				if !ok || cm != major || cai == 31 {
					return 0, false
				}
				q, ok := validItem(b[n:], depth+1)
				if !ok {
					return 0, false
				}
				n += q
			}
		}
		if uint64(len(b)-n) < arg || (major == 3 && !utf8.Valid(b[n:n+int(arg)])) {
			return 0, false
		}
		return n + int(arg), true
	case 4, 5:
		if indefinite {
			for items := 0; ; items++ {
				if n >= len(b) {
					return 0, false
				}
				if b[n] == 0xff {
					return n + 1, major == 4 || items%2 == 0
				}
				q, ok := validItem(b[n:], depth+1)
				if !ok {
					return 0, false
				}
				n += q
			}
		}
		items := arg
		if major == 5 {
			if items > uint64(len(b)) {
				return 0, false
			}
			items *= 2
		}
		if items > uint64(len(b)) {
			return 0, false // each item takes a byte at least
		}
		for range items {
			q, ok := validItem(b[n:], depth+1)
			if !ok {
				return 0, false
			}
			n += q
		}
		return n, true
	case 6: // a tag: its head, then one item
		q, ok := validItem(b[n:], depth+1)
		if !ok {
			return 0, false
		}
		return n + q, true
	}
	return 0, false
}
