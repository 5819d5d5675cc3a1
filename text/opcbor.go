package text

import (
	"encoding/binary"
	"math"
	"unicode/utf8"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/cborscan"
)

// decodeOpCBOR decodes the usual encoding of an Op by hand, without the general decoder's
// []any: every client decodes every edit of its room. It takes a definite-length array of
// integers and definite-length valid UTF-8 text strings, each component one that NewOp accepts,
// and nothing after the array, and sets *o to what the general decoder gives for it. For
// anything else it returns false and leaves *o alone: the general decoder then decides, with its
// errors.
func decodeOpCBOR(b []byte, o *Op) bool {
	var x Op
	if !decodeOpInto(b, &x) {
		return false
	}
	*o = x
	return true
}

// decodeOpInto is decodeOpCBOR building the op in *o, which must be the zero Op, and which holds
// anything when it returns false. It makes the op as NewOp does (zero counts and empty inserts
// dropped, neighbours of one kind merged), with NewOp's limits.
func decodeOpInto(b []byte, o *Op) bool {
	if len(b) == 0 || b[0]>>5 != 4 {
		return false // not an array
	}
	n, b, ok := cborArg(b)
	if !ok || n > uint64(len(b)) { // each element takes a byte at least
		return false
	}
	in, out := 0, 0 // as opBuilder counts them
	for range n {
		if len(b) == 0 {
			return false
		}
		major := b[0] >> 5
		v, rest, ok := cborArg(b)
		if !ok {
			return false
		}
		switch major {
		case 0: // an unsigned integer: a retain
			if v > maxLen {
				return false
			}
			if v > 0 {
				in, out = in+int(v), out+int(v)
				o.retain(int(v))
			}
		case 1: // a negative integer, -1-v: a delete of v+1
			if v >= maxLen {
				return false
			}
			in += int(v) + 1
			o.delete(int(v) + 1)
		case 3: // a text string: an insert
			if v > uint64(len(rest)) || !utf8.Valid(rest[:v]) {
				return false
			}
			if v > 0 {
				s := string(rest[:v])
				r := utf8.RuneCountInString(s)
				out += r
				o.insert(s, r)
			}
			rest = rest[v:]
		default:
			return false
		}
		if in > maxLen || out > maxLen {
			return false
		}
		b = rest
	}
	return len(b) == 0
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

// appendOpCBOR appends the CBOR encoding of o, as MarshalCBOR writes it, to b: an array of
// unsigned integers (retains), negative integers (deletes) and text strings (inserts), each head
// in its shortest form, as the library's deterministic encoding writes them.
func appendOpCBOR(b []byte, o *Op) []byte {
	cs := o.comps()
	b = appendCBORHead(b, 4, uint64(len(cs)))
	for _, c := range cs {
		switch {
		case c.s != "":
			b = appendCBORHead(b, 3, uint64(len(c.s)))
			b = append(b, c.s...)
		case c.n >= 0:
			b = appendCBORHead(b, 0, uint64(c.n))
		default:
			b = appendCBORHead(b, 1, uint64(-1-c.n))
		}
	}
	return b
}

// appendCBORHead appends the head of a data item of major type major and argument v, in its
// shortest form.
func appendCBORHead(b []byte, major byte, v uint64) []byte {
	m := major << 5
	switch {
	case v < 24:
		return append(b, m|byte(v))
	case v <= math.MaxUint8:
		return append(b, m|24, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), v)
}

// appendEditCBOR appends the CBOR encoding of e, as the general encoder writes it (a map with
// the keys of Edit's fields in order, Version and Applied only when set), to b.
func appendEditCBOR(b []byte, e *Edit) []byte {
	n := uint64(2)
	if e.Version != 0 {
		n++
	}
	if e.Applied != nil {
		n++
	}
	b = appendCBORHead(b, 5, n)
	b = appendCBORHead(append(b, 0x01), 0, e.Base)
	b = appendOpCBOR(append(b, 0x02), &e.Op)
	if e.Version != 0 {
		b = appendCBORHead(append(b, 0x03), 0, e.Version)
	}
	if e.Applied != nil {
		b = appendOpCBOR(append(b, 0x04), e.Applied)
	}
	return b
}

// decodeEditCBOR decodes the usual encoding of an Edit by hand, as decodeOpCBOR does an Op: a
// definite-length map of keys 1 to 4 in order, with 1 and 2, unsigned integers under 1 and 3 and
// ops under 2 and 4, and nothing after. For anything else it returns false and leaves *e alone.
func decodeEditCBOR(b []byte, e *Edit) bool {
	if len(b) == 0 || b[0]>>5 != 5 {
		return false // not a map
	}
	n, b, ok := cborArg(b)
	if !ok || n < 2 || n > 4 {
		return false
	}
	var out Edit
	last := uint64(0)
	for range n {
		if len(b) < 2 || b[0] > 4 || uint64(b[0]) <= last {
			return false // not a key of 1 to 4 in order
		}
		key := uint64(b[0])
		if (key == 2 && last != 1) || (key > 2 && last < 2) {
			return false // 1 or 2 missing
		}
		last, b = key, b[1:]
		switch key {
		case 1, 3:
			if b[0]>>5 != 0 {
				return false
			}
			var v uint64
			if v, b, ok = cborArg(b); !ok {
				return false
			}
			if key == 1 {
				out.Base = v
			} else {
				out.Version = v
			}
		case 2, 4:
			end, ok := cborOpEnd(b)
			if !ok {
				return false
			}
			if key == 2 {
				if !decodeOpInto(b[:end], &out.Op) {
					return false
				}
			} else {
				a := new(Op)
				if !decodeOpInto(b[:end], a) {
					return false
				}
				out.Applied = a
			}
			b = b[end:]
		}
	}
	if len(b) != 0 || last < 2 {
		return false
	}
	*e = out
	return true
}

// cborOpEnd returns the length of the array at the start of b, an op's encoding in the form the
// library's encoder writes it (see cborscan.Skip): others go to the general decoder.
func cborOpEnd(b []byte) (int, bool) {
	if len(b) == 0 || b[0]>>5 != 4 {
		return 0, false
	}
	return cborscan.Skip(b)
}

// MarshalCBOR encodes the edit as a map of its fields under keys 1 to 4 (Version and Applied only
// when set), as the general encoder does, without its reflection: a server encodes every edit it
// orders.
func (e Edit) MarshalCBOR() ([]byte, error) { return appendEditCBOR(nil, &e), nil }

// UnmarshalCBOR decodes the edit, by hand in the usual encoding and by the general decoder
// otherwise, with the same result: every client decodes every edit of its room.
func (e *Edit) UnmarshalCBOR(b []byte) error {
	if decodeEditCBOR(b, e) {
		return nil
	}
	type plain Edit // without these methods
	var p plain
	if err := aper.CBOR.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = Edit(p)
	return nil
}
