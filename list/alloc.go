package list

import "math/bits"

// How new indexes are allocated.
//
// An index is a binary fraction; allocation works on its bits, not its bytes, so that each new
// level of nesting (a run typed inside an earlier run) costs a few bits rather than a whole byte.
// Only the final index is rounded up to whole bytes, and a tail that would end a few bits into a
// new byte is cut back to end on the byte before (tiers.trims).
//
// low(a, b) makes an index close to a: it keeps the bits a and b share, then a 0 where they first
// differ (a has 0 there, b has 1), then a tail above a's own tail under that bit (afterTail). The
// tail's length grows with the number of leading one bits of a's tail: a run of inserts, each
// after the previous one, climbs towards the top of its subtree, and each leading one bit opens a
// wider tier (tiers.width), so that a run of n inserts costs O(log n) bits. high(a, b), an index
// close to b, is the mirror image: 1-low(1-b, 1-a).

// A tier table: widths is the number of bits of a tail whose leading one bits number c (the
// index), and steps how far apart the tails of consecutive indexes of a run are in their last bit
// (a step over 1 leaves room to insert between two neighbours without a longer index). Beyond the
// table each leading one bit adds growth bits, and the last step and trim hold.
//
// trims is how many bits past a byte boundary a tail may end and still be cut back to end on
// the boundary: the index is then a whole byte shorter. The tail keeps its step, rounded up to at
// least one unit of the shorter tail, so where the step was smaller than the bits cut, the run's
// indexes lie further apart (it climbs its tiers sooner) and leave no room between neighbours.
// An index is stored in whole bytes, so the bits of a last byte that a tail barely enters cost as
// much as eight; a wide tier holds so many indexes that it can afford the coarser spacing, and
// its trim is mostly larger. Between neighbours the tiers stop at 7 (skipOnes); an open end
// goes beyond its table, where the trim matters for a run that starts near the top.
type tiers struct {
	widths [8]int
	steps  [8]uint
	trims  [8]int
	growth int
}

// bounded is the table for a run between two neighbours, openEnd the one for a run with no upper
// neighbour (appending, and in mirror image prepending). The open end spaces its first few
// hundred indexes more widely: what is later typed between two appended items (a document's
// skeleton filled in) inherits their spacing, so it pays for every bit saved there. The values
// were tuned on the four editing traces in internal/traces and checked against the key-length
// tests.
var (
	bounded = tiers{
		widths: [...]int{4, 5, 9, 15, 16, 18, 20, 27},
		steps:  [...]uint{2, 8, 1, 4, 2, 2, 4, 8},
		trims:  [...]int{1, 1, 1, 3, 4, 6, 7, 6},
		growth: 4,
	}
	openEnd = tiers{
		widths: [...]int{4, 10, 11, 13, 15, 17, 19, 21},
		steps:  [...]uint{2, 1, 1, 1, 1, 1, 1, 1},
		trims:  [...]int{1, 1, 1, 1, 1, 1, 1, 1},
		growth: 2,
	}
)

const (
	// startBits is the tail of the first index of a run in an empty subtree: 0b01, a quarter of
	// the way up, leaving room below it for an insert before the run.
	startBits, startLen = 0b01, 2
	// skipOnes: between two neighbours, every whole group of this many leading one bits of the
	// lower neighbour's tail is copied as it is rather than widening the tier, so that a run
	// squeezed just below its upper neighbour starts afresh instead of making very long indexes.
	// An open end (appending) has no such cap: its tiers keep widening, so a million appends stay
	// short.
	skipOnes = 8
	// sameGapDepth: when b lies this many bits or more below the end of a (a is a prefix of b,
	// with at least this many zero bits after it), inserts after a are going into the same gap
	// again and again, each before the previous one: the new index goes close to b, so that the
	// run costs O(log n) rather than a few bits per insert. A run typed forward after a stays
	// well above this depth. An empty a (0, below the first item) counts as a prefix of every b.
	sameGapDepth = 24
	// maxTail caps the bits a tail adds after its leading one bits, so that a strange neighbour
	// (a long run of 0xff bytes) makes an index at most a few bytes longer than itself.
	maxTail = 64
)

func (t *tiers) width(c int) int {
	n := t.widths[len(t.widths)-1] + t.growth*(c-len(t.widths)+1)
	if c < len(t.widths) {
		n = t.widths[c]
	}
	return min(max(n, minWidth(c)), c+1+maxTail) // and at most maxTail bits after the ones
}

// minWidth is the fewest bits a tail with c leading one bits has: the ones, the zero after them
// (so that adding one cannot overflow) and two bits more.
func minWidth(c int) int { return c + 3 }

func (t *tiers) step(c int) uint { return t.steps[min(c, len(t.steps)-1)] }

func (t *tiers) trim(c int) int { return t.trims[min(c, len(t.trims)-1)] }

// allocate returns an index strictly between the valid indexes a < b (an empty a is 0, an empty
// b is 1), close to the neighbour l says.
func allocate(a, b string, l lean) string {
	if l == nearLow && b != "" && lastBit(a) <= firstDiffBit(a, b)-sameGapDepth {
		l = nearHigh // the same gap again and again: go backward from b
	}
	if l == nearHigh {
		var ma, mb []byte
		if b != "" {
			ma = mirror(b)
		}
		if a != "" {
			mb = mirror(a)
		}
		var w keyBits
		w.low(string(ma), string(mb))
		return w.mirrorIndex()
	}
	var w keyBits // most indexes are short: built on the stack, copied once
	w.low(a, b)
	return w.index()
}

// mirror returns 1-x for a valid index x: the same length, every bit but the last one flipped.
func mirror(x string) []byte {
	return mirrorBytes([]byte(x))
}

// mirrorBytes turns x into 1-x in place and returns it.
func mirrorBytes(x []byte) []byte {
	last := x[len(x)-1]
	m := last & -last // the last one bit
	for i := range x {
		x[i] = ^x[i]
	}
	x[len(x)-1] = x[len(x)-1]&^(m<<1-1) | m
	return x
}

// keyBits builds an index bit by bit: in an inline array while it is short (no allocation),
// in a slice beyond that.
type keyBits struct {
	arr  [32]byte
	long []byte // nil until the index outgrows arr
	n    int    // bits written
}

// buf returns the bytes written so far (and the rest of the inline array).
func (w *keyBits) buf() []byte {
	if w.long != nil {
		return w.long
	}
	return w.arr[:]
}

func (w *keyBits) bit(v byte) {
	if w.n%8 == 0 {
		switch {
		case w.long != nil:
			w.long = append(w.long, 0)
		case w.n/8 == len(w.arr):
			w.long = append(append(make([]byte, 0, 2*len(w.arr)), w.arr[:]...), 0)
		}
	}
	if v != 0 {
		w.buf()[w.n/8] |= 0x80 >> (w.n % 8)
	}
	w.n++
}

func (w *keyBits) get(i int) byte { return w.buf()[i/8] >> (7 - i%8) & 1 }

func (w *keyBits) set(i int, v byte) {
	if v != 0 {
		w.buf()[i/8] |= 0x80 >> (i % 8)
	} else {
		w.buf()[i/8] &^= 0x80 >> (i % 8)
	}
}

// copy appends bits [from, from+n) of s (zeros after its end).
func (w *keyBits) copy(s string, from, n int) {
	for ; n > 0 && w.n%8 == 0 && from%8 == 0 && from/8 < len(s) && n >= 8 && w.n/8 < len(w.arr) && w.long == nil; n -= 8 {
		w.arr[w.n/8] = s[from/8] // whole bytes while both are aligned
		w.n += 8
		from += 8
	}
	for ; n >= 8; n -= 8 { // then a byte at a time, unaligned
		w.put8(byteAt(s, from))
		from += 8
	}
	for i := from; i < from+n; i++ {
		w.bit(bitAt(s, i))
	}
}

// put8 appends the 8 bits of v.
func (w *keyBits) put8(v byte) {
	k := w.n % 8
	if k == 0 {
		w.bit(0) // makes room for the byte
		w.n--
		w.buf()[w.n/8] = v
		w.n += 8
		return
	}
	w.buf()[w.n/8] |= v >> k
	w.n += 8 - k
	w.bit(0) // the next byte
	w.n--
	w.buf()[w.n/8] = v << (8 - k)
	w.n += k
}

// add adds v to the number held in bits [start, w.n), reporting whether it fits.
func (w *keyBits) add(start int, v uint) bool {
	carry := uint(0)
	for i := w.n - 1; i >= start && (v != 0 || carry != 0); i-- {
		sum := uint(w.get(i)) + v&1 + carry
		w.set(i, byte(sum&1))
		carry, v = sum>>1, v>>1
	}
	return v == 0 && carry == 0
}

// sub subtracts v from the number held in bits [start, w.n), modulo its width.
func (w *keyBits) sub(start int, v uint) {
	borrow := uint(0)
	for i := w.n - 1; i >= start && (v != 0 || borrow != 0); i-- {
		x := uint(w.get(i)) - v&1 - borrow
		w.set(i, byte(x&1))
		borrow, v = (x>>1)&1, v>>1
	}
}

// index returns the index written: its bytes without trailing zero bytes, as a string.
func (w *keyBits) index() string {
	b := w.buf()[:(w.n+7)/8]
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}

// mirrorIndex returns 1-x for the index written, x, as a string.
func (w *keyBits) mirrorIndex() string {
	b := w.buf()[:(w.n+7)/8]
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(mirrorBytes(b))
}

// byteAt returns the 8 bits of s from position i on (zeros after its end).
func byteAt(s string, i int) byte {
	j, k := i/8, i%8
	v := digit(s, j) << k
	if k != 0 {
		v |= digit(s, j+1) >> (8 - k)
	}
	return v
}

func bitAt(s string, i int) byte {
	if i/8 >= len(s) {
		return 0
	}
	return s[i/8] >> (7 - i%8) & 1
}

// firstDiffBit returns the position of the first bit where a (read with zeros after its end)
// and b differ; b > a, so it exists, and b has the one there.
func firstDiffBit(a, b string) int {
	j := firstDiffByte(a, b)
	return 8*j + bits.LeadingZeros8(digit(a, j)^b[j])
}

// lastBit returns the position of the last one bit of s, or -1 if it has none.
func lastBit(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 0 {
			return 8*i + 7 - bits.TrailingZeros8(s[i])
		}
	}
	return -1
}

// low writes an index strictly between a < b (empty a: 0, empty b: 1) close to a.
func (w *keyBits) low(a, b string) {
	if b == "" {
		if a == "" {
			w.bit(1) // the middle, 1/2
			return
		}
		w.afterTail(a, 0, true)
		return
	}
	i := firstDiffBit(a, b) // a has 0 there, b has 1
	w.copy(b, 0, i)
	w.bit(0)
	w.afterTail(a, i+1, false)
}

// start writes the tail of the first index of a run, startBits.
func (w *keyBits) start() {
	for i := startLen - 1; i >= 0; i-- {
		w.bit(startBits >> i & 1)
	}
}

// afterTail writes a tail above the bits of s from position from on (the tail t), below 1 and
// close to t. open says there is no upper neighbour.
func (w *keyBits) afterTail(s string, from int, open bool) {
	last := lastBit(s)
	if last < from { // an empty tail: a new run
		w.start()
		return
	}
	c := 0
	for { // the leading one bits, a byte at a time; the zeros after the end stop it
		k := bits.LeadingZeros8(^byteAt(s, from+c))
		c += k
		if k < 8 {
			break
		}
	}
	if !open && c >= skipOnes {
		k := c / skipOnes * skipOnes
		for range k {
			w.bit(1)
		}
		from, c = from+k, c-k
		if last < from {
			w.start()
			return
		}
	}
	t := &bounded
	if open {
		t = &openEnd
	}
	n, step := t.width(c), t.step(c)
	start := w.n
	// A tail that would end r bits into a byte ends before it instead, if its tier allows, and
	// keeps at least the bits that width does (with these tables the trims never go below).
	if r := (start + n) % 8; r <= t.trim(c) && n-r >= minWidth(c) {
		n -= r
		step = max(1, step>>r)
	}
	w.copy(s, from, n)
	if !w.add(start, step) {
		w.sub(start, step-1) // the step does not fit: one unit up instead
	}
}
