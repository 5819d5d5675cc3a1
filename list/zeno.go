package list

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aper-go/aper"
)

// ErrMalformedIndex is returned (wrapped) by the parsers and decoders of [ZenoIndex] for bytes that
// are not a valid index.
var ErrMalformedIndex = errors.New("aper/list: malformed ZenoIndex")

// MaxIndexLen is the longest [ZenoIndex], in bytes, that this package accepts: 1 KiB. The
// parsers and decoders reject a longer one with an error wrapping [ErrMalformedIndex], and
// [Resolve] (so a List's Apply) rejects a position whose index, or the index it resolves to, is
// longer, with an Invalid conflict. The indexes this package makes from its own stay far shorter
// (see the measurements in the package documentation), so only a broken or hostile peer reaches
// the bound; without it, one insert at a 5,000-byte index would make every later insert next to
// it at least as long.
const MaxIndexLen = 1024

// ErrIndexOrder is returned (wrapped) by [Between] when its first index is not below its second.
var ErrIndexOrder = errors.New("aper/list: Between needs a < b")

// ZenoIndex is a fractional index: its bytes d1 d2 ... dn are read as the base-256 fraction
// 0.d1d2...dn, which lies in the open interval (0, 1). A valid index has at least one byte and
// its last byte is not zero, so each fraction has exactly one spelling and the order of the
// fractions is the lexicographic order of the bytes ([Compare]). Between any two indexes there
// is always another ([Between]), so an item can be placed between any two neighbours without
// renumbering the others.
//
// The zero ZenoIndex is no index. [Between] reads it as an open end (no lower or no upper
// bound), and it sorts before every index.
//
// A ZenoIndex is a small immutable value: copy it, compare it with ==, use it as a map key.
//
// # Key length
//
// New indexes are chosen bit by bit, close to the lower neighbour, leaving room above it (not
// at the midpoint), with a length that grows as the room shrinks: the leading one bits of the
// neighbour's tail decide how many bits the new index gets, so a run of n inserts that each go
// after the previous one (appending, or typing forward) makes indexes whose length grows with
// log n, not with n. When the lower neighbour is a prefix of the upper one, the new index is
// chosen close to the upper one instead, the mirror image, so that a run that goes backward
// (each insert before the previous one) stays short too. A [List] does not guess: a position
// after an item goes close to that item, one before an item close to it. The package
// documentation lists the measured lengths.
type ZenoIndex struct {
	b string
}

// Bytes returns the index's bytes (nil for the zero ZenoIndex). The caller owns the slice.
func (z ZenoIndex) Bytes() []byte {
	if z.b == "" {
		return nil
	}
	return []byte(z.b)
}

// Len returns the number of bytes of the index.
func (z ZenoIndex) Len() int { return len(z.b) }

// IsZero reports whether z is the zero ZenoIndex (no index).
func (z ZenoIndex) IsZero() bool { return z.b == "" }

// String returns the text form: the bytes in lower-case hexadecimal ("" for the zero
// ZenoIndex). Text forms sort in the same order as the indexes.
func (z ZenoIndex) String() string { return hex.EncodeToString([]byte(z.b)) }

// Compare returns -1, 0 or +1 as a is less than, equal to, or greater than b. The zero
// ZenoIndex sorts before every index.
func Compare(a, b ZenoIndex) int { return strings.Compare(a.b, b.b) }

// Less reports whether z sorts before o.
func (z ZenoIndex) Less(o ZenoIndex) bool { return z.b < o.b }

// Before returns a new index below z, close to it: Between(ZenoIndex{}, z). For the zero z it
// returns the middle index.
func (z ZenoIndex) Before() ZenoIndex {
	out, _ := Between(ZenoIndex{}, z) // an open end never fails
	return out
}

// After returns a new index above z, close to it: Between(z, ZenoIndex{}). For the zero z it
// returns the middle index.
func (z ZenoIndex) After() ZenoIndex {
	out, _ := Between(z, ZenoIndex{})
	return out
}

// middle is the index of the first item of an empty list: the fraction 1/2.
var middle = ZenoIndex{b: "\x80"}

// Between returns a new index strictly between a and b. A zero a means no lower bound and a zero
// b no upper bound; with both zero it returns the middle index 0x80. It returns an error wrapping
// [ErrIndexOrder] when both are set and a is not below b. The result is deterministic: every
// replica computes the same index from the same a and b.
//
// The cost is linear in the length of a and b; nothing recurses.
func Between(a, b ZenoIndex) (ZenoIndex, error) {
	switch {
	case a.b == "" && b.b == "":
		return middle, nil
	case a.b >= b.b && b.b != "":
		return ZenoIndex{}, fmt.Errorf("%w: %s is not below %s", ErrIndexOrder, a, b)
	}
	l := nearLow
	switch {
	case a.b == "":
		l = nearHigh // prepend: the mirror image of append
	case b.b != "" && len(a.b) <= firstDiffByte(a.b, b.b):
		l = nearHigh // a is a prefix of b: b was most likely made just before, typing backward
	}
	return ZenoIndex{b: allocate(a.b, b.b, l)}, nil
}

// A lean says which neighbour a new index between two others goes close to.
type lean uint8

const (
	nearLow  lean = iota + 1 // close to a: an insert after a, with room left for the next one after it
	nearHigh                 // close to b: an insert before b
)

// firstDiffByte returns the index of the first byte where a (read with zeros after its end)
// and b differ; b > a, so it exists.
func firstDiffByte(a, b string) int {
	i := 0
	for i < len(b) && digit(a, i) == b[i] {
		i++
	}
	return i
}

func digit(k string, i int) byte {
	if i < len(k) {
		return k[i]
	}
	return 0
}

// ZenoIndexFromBytes returns the index with the given bytes (copied), or an error wrapping
// [ErrMalformedIndex] if they are empty, end in a zero byte or are more than [MaxIndexLen].
func ZenoIndexFromBytes(b []byte) (ZenoIndex, error) {
	if err := checkBytes(b); err != nil {
		return ZenoIndex{}, err
	}
	return ZenoIndex{b: string(b)}, nil
}

func checkBytes(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: no bytes", ErrMalformedIndex)
	}
	if len(b) > MaxIndexLen {
		return fmt.Errorf("%w: %d bytes, over MaxIndexLen (%d)", ErrMalformedIndex, len(b), MaxIndexLen)
	}
	if b[len(b)-1] == 0 {
		return fmt.Errorf("%w: ends in a zero byte", ErrMalformedIndex)
	}
	return nil
}

// ParseZenoIndex parses the text form written by [ZenoIndex.String]: lower-case hexadecimal of
// a valid index. Anything else (odd length, other characters, upper case, an empty string, a
// trailing zero byte, more than [MaxIndexLen] bytes) is an error wrapping [ErrMalformedIndex].
func ParseZenoIndex(s string) (ZenoIndex, error) {
	if len(s) > 2*MaxIndexLen {
		return ZenoIndex{}, fmt.Errorf("%w: %d hexadecimal digits, over MaxIndexLen (%d bytes)", ErrMalformedIndex, len(s), MaxIndexLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ZenoIndex{}, fmt.Errorf("%w: %q is not lower-case hexadecimal", ErrMalformedIndex, s)
		}
	}
	if len(s)%2 != 0 {
		return ZenoIndex{}, fmt.Errorf("%w: %q has an odd length", ErrMalformedIndex, s)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return ZenoIndex{}, fmt.Errorf("%w: %w", ErrMalformedIndex, err)
	}
	return ZenoIndexFromBytes(b)
}

// MustParseZenoIndex is like [ParseZenoIndex] but panics on error. It is for constants in
// programs and tests.
func MustParseZenoIndex(s string) ZenoIndex {
	z, err := ParseZenoIndex(s)
	if err != nil {
		panic(err)
	}
	return z
}

// MarshalText returns the text form (see [ZenoIndex.String]).
func (z ZenoIndex) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// UnmarshalText parses the text form. The empty text decodes to the zero ZenoIndex, so that a
// zero index round-trips; anything else must be a valid index.
func (z *ZenoIndex) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*z = ZenoIndex{}
		return nil
	}
	v, err := ParseZenoIndex(string(b))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// MarshalBinary returns the index's bytes.
func (z ZenoIndex) MarshalBinary() ([]byte, error) { return []byte(z.b), nil }

// UnmarshalBinary decodes the index's bytes. No bytes decode to the zero ZenoIndex; otherwise
// the bytes must be a valid index.
func (z *ZenoIndex) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		*z = ZenoIndex{}
		return nil
	}
	v, err := ZenoIndexFromBytes(b)
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// MarshalCBOR encodes the index as a CBOR byte string, with the shortest length header.
func (z ZenoIndex) MarshalCBOR() ([]byte, error) {
	n := len(z.b)
	var out []byte
	switch {
	case n < 24:
		out = append(make([]byte, 0, 1+n), 0x40|byte(n))
	case n <= 0xff:
		out = append(make([]byte, 0, 2+n), 0x58, byte(n))
	case n <= 0xffff:
		out = append(make([]byte, 0, 3+n), 0x59, byte(n>>8), byte(n))
	case uint64(n) <= 0xffffffff:
		out = binary.BigEndian.AppendUint32(append(make([]byte, 0, 5+n), 0x5a), uint32(n))
	default:
		out = binary.BigEndian.AppendUint64(append(make([]byte, 0, 9+n), 0x5b), uint64(n))
	}
	return append(out, z.b...), nil
}

// UnmarshalCBOR decodes a CBOR byte string holding a valid index (or no bytes, for the zero
// ZenoIndex).
func (z *ZenoIndex) UnmarshalCBOR(data []byte) error {
	var b []byte
	if err := aper.CBOR.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedIndex, err)
	}
	return z.UnmarshalBinary(b)
}
