package sync

import (
	"unicode/utf8"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/cborscan"
)

// fastCBOR decodes the frames that dominate traffic (confirmed, submit, ping, pong) without
// reflection. It handles a definite-length map with the integer keys of those frames' fields
// (type, client, inst, seq, local, time, data) in shortest form; anything else (another field, an
// indefinite length, a duplicate key) makes it report !ok, and the caller decodes the frame
// with the general decoder, which accepts or rejects it. When it reports ok, the general
// decoder would give the same frame (FuzzDecodeFrames checks this). Data aliases msg.
func fastCBOR(msg []byte, f *frame) (rest []byte, ok bool) {
	n, p, ok := cborscan.Head(msg, 5)
	if !ok || n > 16 {
		return nil, false
	}
	var seen uint32
	for range n {
		key, q, ok := cborscan.Head(msg[p:], 0)
		if !ok || key > 31 || seen&(1<<key) != 0 {
			return nil, false
		}
		seen |= 1 << key
		p += q
		switch key {
		case 1, 5, 7: // type, seq, local: unsigned
			v, q, ok := cborscan.Head(msg[p:], 0)
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
			v, q, ok := cborscan.Head(msg[p:], major)
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
			l, q, ok := cborscan.Head(msg[p:], 3)
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
			q, ok := cborscan.Skip(msg[p:])
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
