package list

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"

	"github.com/aper-go/aper"
	"github.com/google/uuid"
)

// How indexes stay short whatever the pattern of inserts: respacing.
//
// An index is made between its two neighbours, so an adversary (or a plain sorted feed that
// inserts at the middle) can always insert between the two closest indexes, and no scheme that
// never renumbers keeps every index short. So the position constructors renumber, as the classic
// list-labelling algorithms do (Itai, Konheim and Rodeh; Bender et al., "Two simplified
// algorithms for maintaining order in a list", 2002): when the index an insert would get is
// longer than respaceLen, the position carries a [Respace] of the neighbourhood, and every
// replica, when it applies the transition, first gives the items of that run new, evenly spaced
// indexes, then resolves the position among them.
//
// The run is a window of the index space: the items whose indexes share a prefix of d bits, a
// dyadic interval. Read the bits of an index up to depth u (universe) as a label; a window at
// level i (depth u-i) holds 2^i labels, and it is dense when it holds more than growth^i items
// (the new one counted). The window is the smallest one around the anchor that is not dense; it
// always exists, since u is chosen so that the whole list (depth 0) is not. Relabelling a window
// that holds at most growth^i items costs that many item updates and leaves each half of it
// holding at most growth^i/2, which is growth^(i-1) * growth/2: with growth < 2 each half takes
// a constant fraction of its own capacity in inserts before it is dense again. So the updates
// per insert are O(log n) amortized (O(1) per level, u = O(log n) levels); and the new indexes
// of a window of depth d holding c items need about d + log2(c) + spareBits bits, at most
// about u + spareBits, which is what keeps every index made short.
//
// The renumbering a Respace does is a pure function of the list as it is when it is applied
// (plan), so every replica computes the same indexes; only the choice of the run is left to
// the replica that makes the position, and a run is named by its end items.

const (
	// RespaceLen is the longest index, in bytes, that the position constructors make: a longer
	// one makes them add a [Respace] of the neighbourhood to the position (see respaceLen,
	// which sets a lower bound for lists of up to about 2^100 items).
	RespaceLen = 32
	// growth is the classic algorithm's density base: a window of 2^i labels is dense when it
	// holds more than growth^i items. Between 1 and 2: closer to 2 makes shorter indexes and
	// more frequent renumbering.
	growth = 1.5
	// headroom is how many levels the universe has above the fewest that hold the list: the
	// whole list is then at most growth^-headroom dense.
	headroom = 2
	// spareBits: a respace leaves at least 2^spareBits labels of its resolution per item, so
	// that what is inserted between two respaced items is still short.
	spareBits = 3
	// slackBits is how many bits an index may be longer than the labels of the universe (what
	// the allocator adds, insert after insert, between respaced items) before a respace.
	slackBits = 24
)

// universe returns the depth u, in bits, of the labels for a list of n items: the fewest levels
// whose root holds n+1 items at density growth^-headroom.
func universe(n int) int {
	return int(math.Ceil(math.Log(float64(n)+2)/math.Log(growth))) + headroom
}

// respaceLen returns the longest index, in bytes, that the position constructors make among n
// items without a respace: the universe's labels and slackBits more, and at most [RespaceLen].
func respaceLen(n int) int {
	return min(RespaceLen, (universe(n)+slackBits+7)/8)
}

// Respace names a run of items that a transition gives new, evenly spaced indexes: the items
// from First to Last, both included, in the order they have when the transition is applied. A
// position carries one ([ListPosition].Respace) when the index it would resolve to is longer
// than the position constructors allow; a [List]'s OpRespace transition carries one alone.
//
// Applying it, every replica computes the same new indexes from the list as it is then: the run
// is every item between First and Last (whichever comes first), including items inserted or
// moved there since the respace was made; the new indexes lie strictly between the run's outer
// neighbours, evenly spaced, as short as that spacing allows; no item enters or leaves the run
// and the order does not change. So concurrent transitions keep their meaning:
//
//   - A position anchored to an item ([Before], [After]) lands next to that item, respaced or
//     not: anchors are ids.
//   - A captured fallback index (an anchor that is gone) and a bare [At] index are read in the
//     new spacing: one that lay inside the run's span still lands inside it, between the run's
//     outer neighbours, but not necessarily next to the items it was captured beside.
//   - A Respace whose First or Last is gone does nothing when a position carries it (the insert
//     or move still happens); an OpRespace is then a NotFound conflict.
//   - A Respace whose run is not the items of a crowded dyadic window of the index space (the
//     rule is in the package doc's Respacing) does nothing either when a position carries it;
//     an OpRespace is then an Invalid conflict.
//
// Both ids are set, or neither (the zero Respace, no respace).
type Respace struct {
	First uuid.UUID `json:"first" cbor:"1,keyasint"`
	Last  uuid.UUID `json:"last" cbor:"2,keyasint"`
}

// IsZero reports whether r names no run.
func (r Respace) IsZero() bool { return r.First == uuid.Nil && r.Last == uuid.Nil }

// String formats the run for humans.
func (r Respace) String() string {
	if r.IsZero() {
		return "no respace"
	}
	return fmt.Sprintf("respace %s..%s", r.First, r.Last)
}

// check reports a Respace that names one end only.
func (r Respace) check() error {
	if (r.First == uuid.Nil) != (r.Last == uuid.Nil) {
		return fmt.Errorf("%w: a respace names its first and last items, not one of them", ErrMalformedList)
	}
	return nil
}

type wireRespace Respace

// UnmarshalJSON decodes {"first": id, "last": id}; a respace with one id is an error wrapping
// [ErrMalformedList].
func (r *Respace) UnmarshalJSON(b []byte) error {
	var w wireRespace
	if err := json.Unmarshal(b, &w); err != nil {
		return malformed(err)
	}
	if err := Respace(w).check(); err != nil {
		return err
	}
	*r = Respace(w)
	return nil
}

// UnmarshalCBOR decodes what its CBOR encoding wrote, with the check of UnmarshalJSON.
func (r *Respace) UnmarshalCBOR(b []byte) error {
	var w wireRespace
	if err := aper.CBOR.Unmarshal(b, &w); err != nil {
		return malformed(err)
	}
	if err := Respace(w).check(); err != nil {
		return err
	}
	*r = Respace(w)
	return nil
}

// Sequence is a [Siblings] that can also be read by position: what the position constructors
// ([PositionAt], [PositionBefore], [PositionAfter], [WithRespace]) need to make positions, and to
// choose a run to respace when an index would be too long. A [List]'s items are one; the
// children of one parent in a tree are another.
type Sequence interface {
	Siblings
	// Len returns the number of items.
	Len() int
	// At returns the id and index of the item at position i (0 is the first), for 0 <= i < Len.
	At(i int) (uuid.UUID, ZenoIndex)
	// Rank returns the number of items whose index is below k (0 for the zero k).
	Rank(k ZenoIndex) int
}

// Rekeyer is a [Sequence] whose items can be given new indexes: what [Place] needs to carry out
// a position's [Respace].
type Rekeyer interface {
	Sequence
	// Rekey gives item ids[j], whose index is from[j], the index to[j], for every j. The items
	// are consecutive, in order; to ascends and lies strictly between the run's neighbours, so
	// the order of the items does not change (but a to[j] may be a from[k] of another item:
	// take the items out first, then put them back with their new indexes).
	Rekey(ids []uuid.UUID, from, to []ZenoIndex)
}

// Place resolves p among s as [Resolve] does, after carrying out the [Respace] p carries, if
// any and if its run is a crowded window (see [Respace]): the run it names gets new indexes
// (through s.Rekey) and p is resolved among them. If p
// does not resolve (a conflict), the run gets its old indexes back, so s is as it was.
func Place(p ListPosition, s Rekeyer) (ZenoIndex, error) {
	r, ok := plan(p.Respace, s)
	if !ok {
		return Resolve(p, s)
	}
	s.Rekey(r.ids, r.from, r.to)
	z, err := Resolve(p, s)
	if err != nil {
		s.Rekey(r.ids, r.to, r.from)
	}
	return z, err
}

// run is a respace worked out: the items, their indexes now and their new ones.
type run struct {
	ids      []uuid.UUID
	from, to []ZenoIndex
}

// plan works out the respace r among s: false if r is zero, names an item s does not hold, is
// not a run the constructors could have chosen (see admissible), or s contradicts itself (then
// nothing is to be done).
func plan(r Respace, s Sequence) (run, bool) {
	i0, sp, ok := locate(r, s)
	if !ok || !admissible(s, sp) {
		return run{}, false
	}
	c := int(sp.c)
	out := run{ids: make([]uuid.UUID, c), from: make([]ZenoIndex, c), to: sp.all()}
	prev := s.Below(sp.first)
	for j := range c {
		id, k := s.At(i0 + j)
		if k.IsZero() || !prev.IsZero() && !prev.Less(k) {
			return run{}, false // not ascending: s contradicts itself
		}
		out.ids[j], out.from[j] = id, k
		prev = k
	}
	if out.from[0] != sp.first || out.from[c-1] != sp.last {
		return run{}, false
	}
	return out, true
}

// locate finds the run r names among s: the position of its first item and the spacing of its
// new indexes (which records the run's end indexes). False as for plan, but it does not read
// the items between the ends.
func locate(r Respace, s Sequence) (int, spacing, bool) {
	if r.IsZero() {
		return 0, spacing{}, false
	}
	kf, okf := s.KeyOf(r.First)
	kl, okl := s.KeyOf(r.Last)
	if !okf || !okl || kf.IsZero() || kl.IsZero() {
		return 0, spacing{}, false
	}
	if kl.Less(kf) {
		kf, kl = kl, kf
	}
	i0, i1, n := s.Rank(kf), s.Rank(kl), s.Len()
	if i0 < 0 || i1 < i0 || i1 >= n {
		return 0, spacing{}, false
	}
	below, above := s.Below(kf), s.Above(kl)
	if !lies(below, kf, above) || !lies(below, kl, above) {
		return 0, spacing{}, false
	}
	sp, ok := newSpacing(below.b, above.b, i1-i0+1)
	if !ok {
		return 0, spacing{}, false
	}
	sp.first, sp.last = kf, kl
	return i0, sp, true
}

// admissible reports whether the run located as sp among s is one the position constructors
// could have chosen (crowd), so that a hostile transition cannot make every replica relabel a
// list that is not crowded. It uses integers only, so every replica decides alike, and costs
// O(log n) whatever the run's length. The rule, with d the depth of the smallest dyadic window
// holding both end indexes and c the run's items, among n:
//
//   - the run is exactly the items of that window: the items just outside it lie outside the
//     window;
//   - the window is crowded: it holds more items than a window one level down may, c+1 >
//     (n+2)·growth^(1-d), that is 2(c+1)·3^d > 3(n+2)·2^d.
//
// Why the constructors' runs pass: crowd picks a window W of depth D <= d that is not dense,
// whose child toward the anchor, at depth D+1, is dense: it holds more than growth^(u-D-1) - 1
// items. The run is all of W's items, so it is the item set of the smaller window too, and it
// holds at least the child's items; since u >= log_growth(n+2) + headroom, growth^(u-D-1) >=
// (n+2)·growth^(1-D) >= (n+2)·growth^(1-d). (universe's floats round that log up, as they
// should, for every n below 5·10^13.) A list whose items are spread evenly holds about n/2^d in
// a window of depth d, below (n+2)·growth^(1-d) at every depth, so no run of it passes:
// respacing it again, or all of it, is refused. A run made before concurrent inserts next to
// it, or into a list that has since grown, may no longer pass: the position is then resolved
// without it, and the next position made there respaces again.
func admissible(s Sequence, sp spacing) bool {
	kf, kl := sp.first.b, sp.last.b
	d := commonBits(kf, kl)
	lo, hi := window(kf, d)
	if below := s.Below(sp.first); !below.IsZero() && (lo.IsZero() || !below.Less(lo)) {
		return false
	}
	if above := s.Above(sp.last); !above.IsZero() && (hi.IsZero() || above.Less(hi)) {
		return false
	}
	if d >= 110 {
		// c+1 >= 2, and 4·1.5^110 > 2^65 > 3(n+2) for every int64 n: crowded, without
		// raising 3 to a power of up to 8·MaxIndexLen.
		return true
	}
	n := int64(s.Len())
	lhs := new(big.Int).Exp(big.NewInt(3), big.NewInt(int64(d)), nil)
	lhs.Mul(lhs, big.NewInt(2*(sp.c+1)))
	rhs := new(big.Int).Lsh(big.NewInt(3*(n+2)), uint(d))
	return lhs.Cmp(rhs) > 0
}

// commonBits returns how many leading bits a and b share, reading a missing byte as zero; for
// a = b, every bit of the longer one.
func commonBits(a, b string) int {
	m := max(len(a), len(b))
	for i := range m {
		var x, y byte
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return 8*i + bits.LeadingZeros8(x^y)
		}
	}
	return 8 * m
}

// spacing is c labels evenly spaced strictly between a and b: label j (0-based) is
// lo + floor((j+1)·gaps/(c+1)) at a resolution of bits bits (a multiple of 8), where the labels
// lo+1 .. lo+gaps-1 are the ones strictly between a and b.
type spacing struct {
	first, last ZenoIndex // the run's end indexes now, for plan and moved
	bits        int
	lo          *big.Int
	gaps        *big.Int
	c           int64
}

// newSpacing returns the spacing of c items between a and b (empty: 0 and 1): the coarsest
// whole-byte resolution that leaves 2^spareBits labels per item. False if that needs indexes
// longer than MaxIndexLen.
func newSpacing(a, b string, c int) (spacing, bool) {
	if c < 1 {
		return spacing{}, false
	}
	need := new(big.Int).Lsh(big.NewInt(int64(c)+1), spareBits)
	// Below the byte where a and b first differ there is no room at all.
	start := 8
	if b != "" {
		start = 8 * (firstDiffByte(a, b) + 1)
	}
	for bits := start; bits <= 8*MaxIndexLen; bits += 8 {
		lo := scaled(a, bits, false)
		hi := new(big.Int).Lsh(big.NewInt(1), uint(bits))
		if b != "" {
			hi = scaled(b, bits, true)
		}
		gaps := hi.Sub(hi, lo)
		if gaps.Cmp(need) >= 0 {
			return spacing{bits: bits, lo: lo, gaps: gaps, c: int64(c)}, true
		}
	}
	return spacing{}, false
}

// scaled returns s·2^bits rounded down (up for ceil), for bits a multiple of 8.
func scaled(s string, bits int, ceil bool) *big.Int {
	n := bits / 8
	v := new(big.Int)
	if len(s) <= n {
		v.SetBytes([]byte(s))
		return v.Lsh(v, uint(8*(n-len(s))))
	}
	v.SetBytes([]byte(s[:n]))
	if ceil && nonzero(s[n:]) {
		v.Add(v, big.NewInt(1))
	}
	return v
}

func nonzero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != 0 {
			return true
		}
	}
	return false
}

// key returns label j.
func (sp spacing) key(j int) ZenoIndex {
	v := new(big.Int).Mul(sp.gaps, big.NewInt(int64(j)+1))
	v.Quo(v, big.NewInt(sp.c+1))
	return sp.index(v.Add(v, sp.lo))
}

// all returns every label, in order.
func (sp spacing) all() []ZenoIndex {
	out := make([]ZenoIndex, sp.c)
	q, r := new(big.Int).QuoRem(sp.gaps, big.NewInt(sp.c+1), new(big.Int))
	rem, carry := r.Int64(), int64(0) // r < c+1
	v := new(big.Int).Set(sp.lo)
	one := big.NewInt(1)
	buf := make([]byte, sp.bits/8)
	for j := range out {
		v.Add(v, q)
		if carry += rem; carry >= sp.c+1 {
			carry -= sp.c + 1
			v.Add(v, one)
		}
		out[j] = indexOf(v.FillBytes(buf))
	}
	return out
}

func (sp spacing) index(v *big.Int) ZenoIndex {
	return indexOf(v.FillBytes(make([]byte, sp.bits/8)))
}

// indexOf returns the index with the bytes b less their trailing zeros (b is not all zeros).
func indexOf(b []byte) ZenoIndex {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return ZenoIndex{b: string(b)}
}

// middleOf returns a short index strictly between a and b (either may be zero), with room on
// both sides: the one label of a spacing of one item.
func middleOf(a, b ZenoIndex) (ZenoIndex, bool) {
	sp, ok := newSpacing(a.b, b.b, 1)
	if !ok {
		return ZenoIndex{}, false
	}
	return sp.key(0), true
}

// window returns the bounds of the dyadic window of depth d bits around k: lo is k's first d
// bits (zero if they are all zero), hi is lo + 2^-d (zero when that is 1, no bound).
func window(k string, d int) (lo, hi ZenoIndex) {
	n := (d + 7) / 8
	b := make([]byte, n)
	copy(b, k)
	if d%8 != 0 {
		b[n-1] &= ^byte(0xff >> (d % 8))
	}
	lo = indexOf(slices.Clone(b))
	// Add one unit at bit d-1.
	for i, unit := n-1, byte(0x80>>((d+7)%8)); i >= 0; i, unit = i-1, 1 {
		s := b[i] + unit
		carry := s < b[i]
		b[i] = s
		if !carry {
			return lo, indexOf(b)
		}
	}
	return lo, ZenoIndex{} // overflowed past 1
}

// crowd chooses the run to respace around the item with index k among s: the smallest dyadic
// window around k that is not dense (see the comment at the top of this file), or, when that is
// the whole list, every item. It returns the run's end items' ids, or false when the window
// holds no item (it always holds the item k).
func crowd(s Sequence, k ZenoIndex) (Respace, bool) {
	n := s.Len()
	u := universe(n)
	room := 1.0 // growth^i
	for i := 0; i <= u; i, room = i+1, room*growth {
		lo, hi := window(k.b, u-i)
		r0, r1 := s.Rank(lo), n
		if !hi.IsZero() {
			r1 = s.Rank(hi)
		}
		if c := r1 - r0; float64(c+1) <= room || i == u {
			if c <= 0 || r0 < 0 || r1 > n {
				return Respace{}, false
			}
			first, _ := s.At(r0)
			last, _ := s.At(r1 - 1)
			return Respace{First: first, Last: last}, true
		}
	}
	return Respace{}, false
}

// spaced returns the index to make between the neighbours a and b (keys of items of s, or zero
// for an open end), close to the one l says, and the respace to send with it: none when that
// index is short enough (respaceLen); otherwise the window around the neighbour it goes close to,
// with the index made between the neighbours' new indexes.
func spaced(s Sequence, a, b ZenoIndex, l lean) (ZenoIndex, Respace) {
	z := newIndex(a, b, l)
	limit := respaceLen(s.Len())
	if z.Len() <= limit {
		return z, Respace{}
	}
	near := a
	if l == nearHigh && !b.IsZero() || a.IsZero() {
		near = b
	}
	r, ok := crowd(s, near)
	if !ok {
		return z, Respace{}
	}
	i0, sp, ok := locate(r, s)
	if !ok {
		return z, Respace{}
	}
	a, b = sp.moved(s, i0, a), sp.moved(s, i0, b)
	z = newIndex(a, b, l)
	if z.Len() > limit {
		// The lean neighbour's run ends where a long outer neighbour begins: a short index in
		// the middle of the room the respace made.
		if m, ok := middleOf(a, b); ok && m.Len() < z.Len() {
			z = m
		}
	}
	return z, r
}

// moved returns the new index of the item of s whose index is k, if it is in the run that
// starts at position i0 (k itself otherwise).
func (sp spacing) moved(s Sequence, i0 int, k ZenoIndex) ZenoIndex {
	if k.IsZero() || k.Less(sp.first) || sp.last.Less(k) {
		return k
	}
	return sp.key(s.Rank(k) - i0)
}

// PositionAt returns the position where a new item ends up at position i among s (0 is the
// first; i is clamped to [0, Len]): after the item now at i-1 (before the first item for
// i = 0), with the index between the current neighbours as the fallback, and a [Respace] of the
// neighbourhood when that index would be too long (over respaceLen bytes, at most
// [RespaceLen]). At i = 0 that index leaves room above it, for what is typed after it.
//
// It is what [List.PositionAt] and the tree's and board's PositionAt do; a structure of your own
// that implements [Sequence] gets the same positions.
func PositionAt(s Sequence, i int) ListPosition {
	n := s.Len()
	i = min(max(i, 0), n)
	switch {
	case n == 0:
		return End()
	case i == 0:
		// Typing at the start: the text typed next goes after this item, so it is placed with
		// room above it, not close below the first (as Beginning is, for a run of prepends).
		id, first := s.At(0)
		z, r := spaced(s, ZenoIndex{}, first, nearLow)
		return ListPosition{Kind: PosBefore, ID: id, Index: z, Respace: r}
	}
	id, prev := s.At(i - 1)
	var next ZenoIndex
	if i < n {
		_, next = s.At(i)
	}
	z, r := spaced(s, prev, next, nearLow)
	return ListPosition{Kind: PosAfter, ID: id, Index: z, Respace: r}
}

// PositionBefore returns the position just before item id of s, with the index it would get now
// as the fallback (and a [Respace] when that index would be too long, as for [PositionAt]). If s
// has no item id, the fallback is zero, and an insert at the position will conflict unless the
// item appears first.
func PositionBefore(s Sequence, id uuid.UUID) ListPosition {
	k, ok := s.KeyOf(id)
	if !ok {
		return Before(id, ZenoIndex{})
	}
	z, r := spaced(s, s.Below(k), k, nearHigh)
	return ListPosition{Kind: PosBefore, ID: id, Index: z, Respace: r}
}

// PositionAfter returns the position just after item id of s, with the index it would get now as
// the fallback (and a [Respace] when that index would be too long, as for [PositionAt]). If s
// has no item id, the fallback is zero, and an insert at the position will conflict unless the
// item appears first.
func PositionAfter(s Sequence, id uuid.UUID) ListPosition {
	k, ok := s.KeyOf(id)
	if !ok {
		return After(id, ZenoIndex{})
	}
	z, r := spaced(s, k, s.Above(k), nearLow)
	return ListPosition{Kind: PosAfter, ID: id, Index: z, Respace: r}
}

// WithRespace returns p with the [Respace] it needs among s: when p would now resolve to an
// index longer than the position constructors allow, a respace of the neighbourhood (and, for a
// position anchored to an item, the index it would then get as its fallback). It leaves alone a
// position that carries a respace already, an [At] position (its index is the caller's choice),
// and one anchored to an item s does not hold. The constructors of [List], and of the tree and
// the board, call it on the positions they are given, so that Append or Insert(End(), ...)
// respace too.
func WithRespace(s Sequence, p ListPosition) ListPosition {
	if !p.Respace.IsZero() {
		return p
	}
	switch p.Kind {
	case PosEnd:
		last := s.Below(ZenoIndex{})
		if last.IsZero() || newIndex(last, ZenoIndex{}, nearLow).Len() <= respaceLen(s.Len()) {
			return p
		}
		p.Respace, _ = crowd(s, last)
	case PosBeginning:
		first := s.Above(ZenoIndex{})
		if first.IsZero() || newIndex(ZenoIndex{}, first, nearHigh).Len() <= respaceLen(s.Len()) {
			return p
		}
		p.Respace, _ = crowd(s, first)
	case PosBefore, PosAfter:
		k, ok := s.KeyOf(p.ID)
		if !ok {
			return p
		}
		if p.Kind == PosBefore {
			if below := s.Below(k); !lies(below, p.Index, k) || p.Index.Len() > respaceLen(s.Len()) {
				if q := PositionBefore(s, p.ID); !q.Respace.IsZero() {
					return q
				}
			}
			return p
		}
		if above := s.Above(k); !lies(k, p.Index, above) || p.Index.Len() > respaceLen(s.Len()) {
			if q := PositionAfter(s, p.ID); !q.Respace.IsZero() {
				return q
			}
		}
	}
	return p
}

// Without returns s without item id (s itself if it has no item id): the siblings among which a
// move of item id resolves its position. [List.MoveTo] makes its position with
// PositionAt(Without(items, id), i).
func Without(s Sequence, id uuid.UUID) Sequence {
	k, ok := s.KeyOf(id)
	if !ok || k.IsZero() {
		return s
	}
	return without{s: s, id: id, k: k, r: s.Rank(k)}
}

// without is a Sequence less one item, id at index k and position r.
type without struct {
	s  Sequence
	id uuid.UUID
	k  ZenoIndex
	r  int
}

func (w without) KeyOf(id uuid.UUID) (ZenoIndex, bool) {
	if id == w.id {
		return ZenoIndex{}, false
	}
	return w.s.KeyOf(id)
}

func (w without) Below(k ZenoIndex) ZenoIndex {
	z := w.s.Below(k)
	if z == w.k {
		z = w.s.Below(z)
	}
	return z
}

func (w without) Above(k ZenoIndex) ZenoIndex {
	z := w.s.Above(k)
	if z == w.k {
		z = w.s.Above(z)
	}
	return z
}

func (w without) Taken(k ZenoIndex) bool { return k != w.k && w.s.Taken(k) }

func (w without) Len() int { return w.s.Len() - 1 }

func (w without) At(i int) (uuid.UUID, ZenoIndex) {
	if i >= w.r {
		i++
	}
	return w.s.At(i)
}

func (w without) Rank(k ZenoIndex) int {
	r := w.s.Rank(k)
	if w.k.Less(k) {
		r--
	}
	return r
}
