package list

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/aper-go/aper"
)

// ErrMalformedIndex is returned (wrapped) by the parsers and decoders of [ZenoIndex] for bytes that
// are not a valid index.
var ErrMalformedIndex = errors.New("aper/list: malformed ZenoIndex")

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
// New indexes are chosen close to the lower neighbour, leaving room above it (not at the
// midpoint), with a budget that grows as the room shrinks: the first byte that differs from the
// neighbour decides how many bytes the new index gets, so a run of n inserts that each go after
// the previous one (appending, or typing forward) makes indexes whose length grows with log n,
// not with n. When the upper neighbour is the longer of the two, the new index is chosen close
// to it instead, the mirror image, so that a run that goes backward (each insert before the
// previous one) stays short too. A [List] does not guess: a position after an item goes close
// to that item, one before an item close to it. The package documentation lists the measured
// lengths.
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
	var buf [64]byte // most keys are short: build them on the stack, copy once
	switch {
	case b.b == "":
		return ZenoIndex{b: string(afterTail(buf[:0], a.b, 256, true))}, nil
	case a.b == "":
		return ZenoIndex{b: string(beforeTail(buf[:0], b.b, true))}, nil
	}
	return ZenoIndex{b: string(betweenKeys(buf[:0], a.b, b.b, guess))}, nil
}

// A lean says which neighbour a new index between two others goes close to.
type lean uint8

const (
	guess    lean = iota // close to b when a is a prefix of b, close to a otherwise
	nearLow              // close to a: an insert after a, with room left for the next one after it
	nearHigh             // close to b: an insert before b
)

// betweenKeys appends to out a key strictly between the valid keys a < b.
func betweenKeys(out []byte, a, b string, l lean) []byte {
	// Find the first digit where a (padded with zeros) and b differ. b > a, so it exists and
	// a's digit there is the smaller.
	i := 0
	for ; i < len(b); i++ {
		if digit(a, i) != b[i] {
			break
		}
	}
	lo, hi := int(digit(a, i)), int(b[i])
	out = append(out, b[:i]...)
	// When a is a prefix of b (read with zeros), b was most likely made just after a, and the
	// new key goes close to b: the pattern of typing backward, each key before the previous one.
	// Otherwise it goes close to a, leaving room above it: typing forward.
	nearB := l == nearHigh || l == guess && i >= len(a)
	if hi-lo >= 2 {
		if nearB {
			return beforeTail(out, b[i:], false)
		}
		return afterTail(out, tail(a, i), hi, false)
	}
	// Adjacent digits: the new key is either below b with b's digit (when b goes on after it) or
	// above a with a's digit.
	if nearB {
		if len(b) > i+1 {
			return beforeTail(append(out, byte(hi)), b[i+1:], false)
		}
		return nearTop(append(out, byte(lo)), tail(a, i+1))
	}
	return afterTail(append(out, byte(lo)), tail(a, i+1), 256, false)
}

func digit(k string, i int) byte {
	if i < len(k) {
		return k[i]
	}
	return 0
}

func tail(k string, i int) string {
	if i < len(k) {
		return k[i:]
	}
	return ""
}

// afterTail appends to dst the digits of a fraction u with t < u < 1, close to t (an empty t is
// 0); when limit is below 256, u's first digit stays below it. With open set (no upper
// neighbour: appending), each leading 0xff digit of t adds to the budget, so that even millions
// of appends stay short; between two neighbours it does not, which measured better on real
// edits. The number of digits grows with
// how close t is to 1 (see budget), so a run of n keys, each after the previous one, spends
// about a hundred one-digit keys, then thousands of two-digit keys, then about 10^5 three-digit
// ones: O(log n) bytes.
func afterTail(dst []byte, t string, limit int, open bool) []byte {
	skipped := 0
	for len(t) > 0 && t[0] == 0xff {
		dst = append(dst, 0xff)
		t = t[1:]
		limit = 256
		skipped++
	}
	if len(t) == 0 {
		return append(dst, byte(min(startDigit, limit-1)))
	}
	if !open {
		skipped = 0
	}
	n := budget(8*skipped + bits.LeadingZeros8(^t[0]))
	start := len(dst)
	dst = append(dst, t[:min(n, len(t))]...)
	for len(dst)-start < n {
		dst = append(dst, 0)
	}
	step := byte(1)
	lim := 256
	if n == 1 {
		lim = limit
	}
	if int(dst[len(dst)-1])+stepSize < lim {
		step = byte(stepSize)
	}
	dst[len(dst)-1] += step - 1
	// Add one unit in the last digit; t[0] < 0xff, so the carry stops inside.
	for j := len(dst) - 1; ; j-- {
		dst[j]++
		if dst[j] != 0 {
			break
		}
	}
	return trimZeros(dst)
}

// beforeTail appends to dst the digits of a fraction u with 0 < u < t, close to t (t not empty,
// last digit not zero). It mirrors afterTail, with the budget of t's first nonzero digit read
// from its leading zero bits (and, with open set, from its leading zero digits too).
func beforeTail(dst []byte, t string, open bool) []byte {
	skipped := 0
	for len(t) > 1 && t[0] == 0 {
		dst = append(dst, 0)
		t = t[1:]
		skipped++
	}
	if !open {
		skipped = 0
	}
	n := budget(8*skipped + bits.LeadingZeros8(t[0]))
	start := len(dst)
	if len(t) > n {
		// t goes on after n digits with something nonzero, so its first n digits are below it.
		return trimZeros(append(dst, t[:n]...))
	}
	dst = append(dst, t...)
	for len(dst)-start < n {
		dst = append(dst, 0)
	}
	// Subtract one unit in the last digit; t is at least one unit of its first digit, and more
	// than one unit of the last, so the borrow stops inside and the result stays above zero.
	for j := len(dst) - 1; ; j-- {
		dst[j]--
		if dst[j] != 0xff {
			break
		}
	}
	return trimZeros(dst)
}

// nearTop appends to dst the digits of a short fraction u with t < u < 1, close to 1 (an empty t
// is 0): 0xff, with as many 0xff in front as t has.
func nearTop(dst []byte, t string) []byte {
	for len(t) > 0 && t[0] == 0xff {
		dst = append(dst, 0xff)
		t = t[1:]
	}
	return append(dst, 0xff)
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// ZenoIndexFromBytes returns the index with the given bytes (copied), or an error wrapping
// [ErrMalformedIndex] if they are empty or end in a zero byte.
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
	if b[len(b)-1] == 0 {
		return fmt.Errorf("%w: ends in a zero byte", ErrMalformedIndex)
	}
	return nil
}

// ParseZenoIndex parses the text form written by [ZenoIndex.String]: lower-case hexadecimal of
// a valid index. Anything else (odd length, other characters, upper case, an empty string, a
// trailing zero byte) is an error wrapping [ErrMalformedIndex].
func ParseZenoIndex(s string) (ZenoIndex, error) {
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

// MarshalCBOR encodes the index as a CBOR byte string.
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

// The parameters of the key scheme, tuned on the automerge-paper trace and the key-length tests.
const (
	// stepSize is how far apart consecutive keys of a forward run are in their last digit; the
	// gap leaves room to insert a character between two neighbours without a longer key.
	stepSize = 2
	// startDigit is the first digit of a run that starts one digit deeper than its lower
	// neighbour; the digits below it leave room to insert before the run without two more bytes.
	startDigit = 0x10
)

// budget returns how many digits a new key gets when the key it follows has c leading one bits
// (for a key after a lower neighbour; 0xff digits count 8 each) or the key it precedes has c
// leading zero bits (before an upper one): the
// closer that digit is to the end of its range, the more digits, so that a run of n keys costs
// O(log n) bytes.
func budget(c int) int { return min(1+c/3, maxBudget) }

// maxBudget caps the budget, so that a strange neighbour (a long run of 0xff) costs at most this
// many bytes more.
const maxBudget = 16
