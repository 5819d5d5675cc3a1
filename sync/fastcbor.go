package sync

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/aper-go/aper"
)

// fastCBOR decodes the frames that dominate traffic (confirmed, submit, ping, pong) without
// reflection. It handles a definite-length map with the integer keys of those frames' fields
// (type, client, inst, seq, local, time, data) in shortest form; anything else (another field, an
// indefinite length, a duplicate key) makes it report !ok, and the caller decodes the frame
// with the general decoder, which accepts or rejects it. When it reports ok, the general
// decoder would give the same frame (FuzzDecodeFrames checks this). Data aliases msg.
func fastCBOR(msg []byte, f *frame) (rest []byte, ok bool) {
	n, p, ok := cborHead(msg, 5)
	if !ok || n > 16 {
		return nil, false
	}
	var seen uint32
	for range n {
		key, q, ok := cborHead(msg[p:], 0)
		if !ok || key > 31 || seen&(1<<key) != 0 {
			return nil, false
		}
		seen |= 1 << key
		p += q
		switch key {
		case 1, 5, 7: // type, seq, local: unsigned
			v, q, ok := cborHead(msg[p:], 0)
			if !ok {
				return nil, false
			}
			switch key {
			case 1:
				if v > 255 {
					return nil, false
				}
				f.Type = frameType(v)
			case 5:
				f.Seq = v
			case 7:
				f.Local = v
			}
			p += q
		case 8: // time: int64
			if p >= len(msg) {
				return nil, false
			}
			major := msg[p] >> 5
			if major != 0 && major != 1 {
				return nil, false
			}
			v, q, ok := cborHead(msg[p:], major)
			if !ok || v > 1<<63-1 {
				return nil, false
			}
			if major == 0 {
				f.Time = int64(v)
			} else {
				f.Time = -1 - int64(v)
			}
			p += q
		case 4, 21: // client, inst: text strings
			l, q, ok := cborHead(msg[p:], 3)
			if !ok || uint64(len(msg)-p-q) < l {
				return nil, false
			}
			s := msg[p+q : p+q+int(l)]
			if !utf8.Valid(s) {
				return nil, false
			}
			if key == 4 {
				f.Client = aper.ClientID(s)
			} else {
				f.Inst = aper.ClientID(s)
			}
			p += q + int(l)
		case 11: // data: one well-formed item (not null or undefined)
			q, ok := cborSkip(msg[p:], 0)
			if !ok || msg[p] == 0xf6 || msg[p] == 0xf7 {
				return nil, false
			}
			f.Data, f.dataChecked = msg[p:p+q:p+q], true
			p += q
		default:
			return nil, false
		}
	}
	return msg[p:], true
}

// cborHead reads the head of an item of the given major type: its argument and the head's
// length. Only the shortest form of each argument is accepted (Core Deterministic Encoding).
func cborHead(b []byte, major byte) (arg uint64, n int, ok bool) {
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

// cborSkip returns the length of the well-formed, definite-length, untagged item at the start
// of b.
func cborSkip(b []byte, depth int) (int, bool) {
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
	arg, n, ok := cborHead(b, major)
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
			q, ok := cborSkip(b[n:], depth+1)
			if !ok {
				return 0, false
			}
			n += q
		}
		return n, true
	}
	return 0, false
}
