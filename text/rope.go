package text

import (
	"strings"
	"unicode/utf8"

	"github.com/aper-go/aper/internal/cow"
)

// The rope is a B-tree whose leaves hold UTF-8 chunks. Every node knows its subtree's length in
// code points, bytes and UTF-16 units, so finding a position costs O(log n) and converting
// between the three counts does too. All leaves are at the same depth.
//
// Copy-on-write: a node stamped with the rope's owner token belongs to this rope alone and may
// change in place; any other node may be shared with a clone and is copied before it changes
// (along with the path to it from the root, which the descent copies anyway).
const (
	maxLeaf = 1024 // bytes in a leaf
	minLeaf = maxLeaf / 4
	maxKids = 16
	minKids = maxKids / 4
)

type node struct {
	owner cow.Owner
	runes int     // code points in the subtree
	bytes int     // UTF-8 bytes in the subtree
	wide  int     // code points above U+FFFF (two UTF-16 units each) in the subtree
	text  []byte  // a leaf's UTF-8; nil for an inner node
	kids  []*node // an inner node's children; nil for a leaf
}

func (n *node) leaf() bool { return n.kids == nil }

type rope struct {
	root  *node
	owner cow.Owner
}

// mut returns n itself if the rope owns it, or a private copy.
func (r *rope) mut(n *node) *node {
	if n.owner == r.owner {
		return n
	}
	c := &node{owner: r.owner, runes: n.runes, bytes: n.bytes, wide: n.wide}
	if n.kids != nil {
		c.kids = make([]*node, len(n.kids), maxKids+1)
		copy(c.kids, n.kids)
	} else {
		c.text = make([]byte, len(n.text), leafCap(len(n.text)))
		copy(c.text, n.text)
	}
	return c
}

func leafCap(n int) int {
	if n < maxLeaf/2 {
		return maxLeaf / 2
	}
	return maxLeaf + utf8.UTFMax
}

// count returns the code points and the code points above U+FFFF of b.
func count(b []byte) (runes, wide int) {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < utf8.RuneSelf:
			i++
		case c >= 0xF0:
			_, w := utf8.DecodeRune(b[i:])
			i += w
			wide++
		default:
			_, w := utf8.DecodeRune(b[i:])
			i += w
		}
		runes++
	}
	return runes, wide
}

func countString(s string) (runes, wide int) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c < utf8.RuneSelf:
			i++
		case c >= 0xF0:
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
			wide++
		default:
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
		}
		runes++
	}
	return runes, wide
}

// byteAt returns the byte offset of code point i in the leaf.
func (n *node) byteAt(i int) int {
	if n.runes == len(n.text) { // ASCII
		return i
	}
	return runeOffsetBytes(n.text, i)
}

func runeOffsetBytes(b []byte, n int) int {
	i := 0
	for ; n > 0 && i < len(b); n-- {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := utf8.DecodeRune(b[i:])
		i += w
	}
	return i
}

func newLeaf(owner cow.Owner, b []byte) *node {
	t := make([]byte, len(b), leafCap(len(b)))
	copy(t, b)
	runes, wide := count(t)
	return &node{owner: owner, runes: runes, bytes: len(t), wide: wide, text: t}
}

// build makes a rope holding s, with leaves and inner nodes evenly filled to about 7/8.
func build(s string, owner cow.Owner) *node {
	if s == "" {
		return &node{owner: owner, text: []byte{}}
	}
	leaves := (len(s) + maxLeaf*7/8 - 1) / (maxLeaf * 7 / 8)
	size := (len(s) + leaves - 1) / leaves
	level := make([]*node, 0, leaves+1)
	for len(s) > 0 {
		k := min(len(s), size)
		for k < len(s) && !utf8.RuneStart(s[k]) {
			k++
		}
		t := []byte(s[:k])
		runes, wide := count(t)
		level = append(level, &node{owner: owner, runes: runes, bytes: k, wide: wide, text: t})
		s = s[k:]
	}
	for len(level) > 1 {
		groups := (len(level) + maxKids*3/4 - 1) / (maxKids * 3 / 4)
		up := make([]*node, 0, groups)
		for g := range groups {
			i, j := g*len(level)/groups, (g+1)*len(level)/groups
			p := &node{owner: owner, kids: make([]*node, 0, maxKids+1)}
			p.kids = append(p.kids, level[i:j]...)
			p.sum()
			up = append(up, p)
		}
		level = up
	}
	return level[0]
}

// sum recomputes an inner node's counts from its children.
func (n *node) sum() {
	n.runes, n.bytes, n.wide = 0, 0, 0
	for _, k := range n.kids {
		n.runes += k.runes
		n.bytes += k.bytes
		n.wide += k.wide
	}
}

func (r *rope) len() int {
	if r.root == nil {
		return 0
	}
	return r.root.runes
}

// insertString puts s at code point pos, 0 ≤ pos ≤ len, and returns its length in code points.
func (r *rope) insertString(pos int, s string) int {
	if len(s) > maxLeaf/2 {
		return r.insertLong(pos, s)
	}
	runes, wide := 0, 0
	if len(s) == 1 && s[0] < utf8.RuneSelf {
		runes = 1
	} else {
		runes, wide = countString(s)
	}
	r.insert(pos, s, runes, wide)
	return runes
}

// insert puts s (of runes code points, wide of them astral, at most maxLeaf/2 bytes) at code
// point pos, 0 ≤ pos ≤ len.
func (r *rope) insert(pos int, s string, runes, wide int) {
	if r.root == nil {
		r.root = &node{owner: r.owner, text: []byte{}}
	}
	r.root = r.mut(r.root)
	if split := r.insertAt(r.root, pos, s, runes, wide); split != nil {
		root := &node{owner: r.owner, kids: make([]*node, 2, maxKids+1)}
		root.kids[0], root.kids[1] = r.root, split
		root.sum()
		r.root = root
	}
}

// insertAt inserts into n, which the rope owns, and returns a new right sibling if n split.
func (r *rope) insertAt(n *node, pos int, s string, runes, wide int) *node {
	if n.leaf() {
		at := n.byteAt(pos)
		n.runes += runes
		n.bytes += len(s)
		n.wide += wide
		if len(n.text)+len(s) <= cap(n.text) {
			n.text = n.text[:len(n.text)+len(s)]
			copy(n.text[at+len(s):], n.text[at:])
			copy(n.text[at:], s)
		} else {
			t := make([]byte, len(n.text)+len(s), max(leafCap(len(n.text)+len(s)), len(n.text)+len(s)))
			copy(t, n.text[:at])
			copy(t[at:], s)
			copy(t[at+len(s):], n.text[at:])
			n.text = t
		}
		if len(n.text) > maxLeaf {
			return r.splitLeaf(n)
		}
		return nil
	}
	n.runes += runes
	n.bytes += len(s)
	n.wide += wide
	i, off := childAt(n, pos)
	k := r.mut(n.kids[i])
	n.kids[i] = k
	if split := r.insertAt(k, off, s, runes, wide); split != nil {
		n.kids = append(n.kids, nil)
		copy(n.kids[i+2:], n.kids[i+1:])
		n.kids[i+1] = split
		if len(n.kids) > maxKids {
			return r.splitInner(n)
		}
	}
	return nil
}

// childAt returns the child of n that holds code point pos and pos's offset in it. A position at
// a boundary goes to the left child (typing at its end).
func childAt(n *node, pos int) (int, int) {
	last := len(n.kids) - 1
	for i, k := range n.kids {
		if pos <= k.runes || i == last {
			return i, pos
		}
		pos -= k.runes
	}
	return last, pos
}

// splitLeaf splits an overfull leaf (at most 3/2 maxLeaf bytes, as inserts are at most
// maxLeaf/2) in two halves; n keeps the first and the second comes back.
func (r *rope) splitLeaf(n *node) *node {
	mid := len(n.text) / 2
	for mid > 0 && !utf8.RuneStart(n.text[mid]) {
		mid--
	}
	right := newLeaf(r.owner, n.text[mid:])
	n.text = n.text[:mid]
	n.runes -= right.runes
	n.bytes -= right.bytes
	n.wide -= right.wide
	return right
}

func (r *rope) splitInner(n *node) *node {
	mid := len(n.kids) / 2
	right := &node{owner: r.owner, kids: make([]*node, len(n.kids)-mid, maxKids+1)}
	copy(right.kids, n.kids[mid:])
	clear(n.kids[mid:])
	n.kids = n.kids[:mid]
	right.sum()
	n.runes -= right.runes
	n.bytes -= right.bytes
	n.wide -= right.wide
	return right
}

// insertLong inserts a string of any length by pieces that fit in a leaf.
func (r *rope) insertLong(pos int, s string) int {
	total := 0
	for len(s) > 0 {
		k := min(len(s), maxLeaf/2)
		for k < len(s) && !utf8.RuneStart(s[k]) {
			k--
		}
		piece := s[:k]
		runes, wide := countString(piece)
		r.insert(pos, piece, runes, wide)
		pos += runes
		total += runes
		s = s[k:]
	}
	return total
}

// delete removes n code points at pos, 0 ≤ pos ≤ pos+n ≤ len.
func (r *rope) delete(pos, n int) {
	if n == 0 {
		return
	}
	r.root = r.mut(r.root)
	r.deleteAt(r.root, pos, pos+n)
	for !r.root.leaf() && len(r.root.kids) == 1 {
		r.root = r.root.kids[0]
	}
	if !r.root.leaf() && len(r.root.kids) == 0 {
		r.root = &node{owner: r.owner, text: []byte{}}
	}
}

// deleteAt removes code points [from, to) from n, which the rope owns.
func (r *rope) deleteAt(n *node, from, to int) {
	if n.leaf() {
		a, b := n.byteAt(from), 0
		if n.runes == len(n.text) {
			b = to
		} else {
			b = a + runeOffsetBytes(n.text[a:], to-from)
		}
		gone := n.text[a:b]
		wide := 0
		if n.wide > 0 {
			_, wide = count(gone)
		}
		n.runes -= to - from
		n.bytes -= b - a
		n.wide -= wide
		n.text = append(n.text[:a], n.text[b:]...)
		return
	}
	// The common case: the range lies in one child.
	start := 0
	for i, k := range n.kids {
		end := start + k.runes
		if from < end {
			if to > end {
				break
			}
			k = r.mut(k)
			n.kids[i] = k
			runes, bytes, wide := k.runes, k.bytes, k.wide
			r.deleteAt(k, from-start, to-start)
			n.runes += k.runes - runes
			n.bytes += k.bytes - bytes
			n.wide += k.wide - wide
			if k.small() || k.runes == 0 {
				if k.runes == 0 {
					n.kids = append(n.kids[:i], n.kids[i+1:]...)
					n.kids[len(n.kids):cap(n.kids)][0] = nil
				}
				r.rebalance(n, i)
			}
			return
		}
		start = end
	}
	start = 0
	lo := -1 // index of the first child touched
	w := 0
	for _, k := range n.kids {
		end := start + k.runes
		switch {
		case end <= from || start >= to: // untouched
			n.kids[w] = k
			w++
		case from <= start && end <= to: // wholly deleted
			n.runes -= k.runes
			n.bytes -= k.bytes
			n.wide -= k.wide
			if lo < 0 {
				lo = w
			}
		default:
			k = r.mut(k)
			runes, bytes, wide := k.runes, k.bytes, k.wide
			r.deleteAt(k, max(from, start)-start, min(to, end)-start)
			n.runes += k.runes - runes
			n.bytes += k.bytes - bytes
			n.wide += k.wide - wide
			n.kids[w] = k
			if lo < 0 {
				lo = w
			}
			w++
		}
		start = end
	}
	clear(n.kids[w:])
	n.kids = n.kids[:w]
	if lo >= 0 {
		r.rebalance(n, lo)
	}
}

func (n *node) small() bool {
	if n.leaf() {
		return len(n.text) < minLeaf
	}
	return len(n.kids) < minKids
}

// rebalance merges or evens out underfull children of n around index lo (a deletion cuts into
// at most two children, which are neighbours at lo and lo+1 once the wholly deleted ones are
// gone).
func (r *rope) rebalance(n *node, lo int) {
	i := max(0, lo-1)
	for i < len(n.kids) && i <= lo+1 && len(n.kids) >= 2 {
		if !n.kids[i].small() {
			i++
			continue
		}
		j := i + 1
		if j == len(n.kids) {
			i, j = i-1, i
		}
		a, b := r.mut(n.kids[i]), r.mut(n.kids[j])
		n.kids[i], n.kids[j] = a, b
		if a.leaf() {
			if len(a.text)+len(b.text) <= maxLeaf {
				a.text = append(a.text, b.text...)
				a.runes += b.runes
				a.bytes += b.bytes
				a.wide += b.wide
				n.kids = append(n.kids[:j], n.kids[j+1:]...)
				n.kids[len(n.kids):cap(n.kids)][0] = nil
				continue
			}
			all := append(append(make([]byte, 0, len(a.text)+len(b.text)), a.text...), b.text...)
			mid := len(all) / 2
			for mid > 0 && !utf8.RuneStart(all[mid]) {
				mid--
			}
			*a = *newLeaf(r.owner, all[:mid])
			*b = *newLeaf(r.owner, all[mid:])
			i = j + 1
			continue
		}
		if len(a.kids)+len(b.kids) <= maxKids {
			a.kids = append(a.kids, b.kids...)
			a.sum()
			n.kids = append(n.kids[:j], n.kids[j+1:]...)
			n.kids[len(n.kids):cap(n.kids)][0] = nil
			continue
		}
		all := append(append(make([]*node, 0, len(a.kids)+len(b.kids)), a.kids...), b.kids...)
		mid := len(all) / 2
		a.kids = append(make([]*node, 0, maxKids+1), all[:mid]...)
		b.kids = append(make([]*node, 0, maxKids+1), all[mid:]...)
		a.sum()
		b.sum()
		i = j + 1
	}
}

// appendTo appends the text of [from, to) to sb.
func (n *node) appendTo(sb *strings.Builder, from, to int) {
	if from >= to {
		return
	}
	if n.leaf() {
		a, b := from, to
		if n.runes != len(n.text) {
			a = runeOffsetBytes(n.text, from)
			b = a + runeOffsetBytes(n.text[a:], to-from)
		}
		sb.Write(n.text[a:b])
		return
	}
	start := 0
	for _, k := range n.kids {
		end := start + k.runes
		if end > from && start < to {
			k.appendTo(sb, max(from, start)-start, min(to, end)-start)
		}
		if end >= to {
			return
		}
		start = end
	}
}

// leaves calls f with every leaf's text in order, until f returns false.
func (n *node) leaves(f func([]byte) bool) bool {
	if n.leaf() {
		return f(n.text)
	}
	for _, k := range n.kids {
		if !k.leaves(f) {
			return false
		}
	}
	return true
}

// locate returns the number of bytes and of wide code points before code point i.
func (n *node) locate(i int) (bytes, wide int) {
	for !n.leaf() {
		last := len(n.kids) - 1
		for j, k := range n.kids {
			if i <= k.runes || j == last {
				n = k
				break
			}
			i -= k.runes
			bytes += k.bytes
			wide += k.wide
		}
	}
	a := n.byteAt(i)
	if n.wide > 0 {
		_, w := count(n.text[:a])
		wide += w
	}
	return bytes + a, wide
}

// fromBytes returns the code point at byte offset b, or false if b is not at a code point
// boundary.
func (n *node) fromBytes(b int) (int, bool) {
	runes := 0
	for !n.leaf() {
		last := len(n.kids) - 1
		for j, k := range n.kids {
			if b <= k.bytes || j == last {
				n = k
				break
			}
			b -= k.bytes
			runes += k.runes
		}
	}
	if b < len(n.text) && !utf8.RuneStart(n.text[b]) {
		return 0, false
	}
	c, _ := count(n.text[:b])
	return runes + c, true
}

// fromUTF16 returns the code point at UTF-16 offset u, or false if u falls inside a surrogate
// pair.
func (n *node) fromUTF16(u int) (int, bool) {
	runes := 0
	for !n.leaf() {
		last := len(n.kids) - 1
		for j, k := range n.kids {
			if u <= k.runes+k.wide || j == last {
				n = k
				break
			}
			u -= k.runes + k.wide
			runes += k.runes
		}
	}
	for i := 0; u > 0 && i < len(n.text); {
		r, w := utf8.DecodeRune(n.text[i:])
		i += w
		u--
		if r > 0xFFFF {
			if u == 0 {
				return 0, false
			}
			u--
		}
		runes++
	}
	return runes, true
}
