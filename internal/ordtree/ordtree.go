// Package ordtree is an ordered, counted, copy-on-write B-tree: an order-statistic tree whose
// copies share their nodes.
//
// A [Tree] holds distinct items in the order of its compare function. Every node knows how many
// items its subtree holds, so besides Get, Set and Delete by key, a tree finds the item at a
// position ([Tree.At]) and the position of a key ([Tree.Rank]) in O(log n).
//
// [Tree.Clone] is O(1): the original and the clone share every node. Each tree holds an owner
// token, renewed for both by Clone, and stamps the nodes it creates with it; a write copies each
// node on its path whose stamp is not the tree's own before changing it, so the first write after
// a Clone copies O(log n) nodes and later writes change the copies in place. A shared node is
// never written: clones of one tree may be used by different goroutines, each owning its clone.
package ordtree

import (
	"iter"
	"sync/atomic"
)

const (
	maxItems = 31           // items in a full node
	minItems = maxItems / 2 // items in a node that is not the root, at least
)

type node[T any] struct {
	own   uint64           // the owner token of the tree that made it; written only before it is shared
	n     int              // items held
	count int              // items in the subtree
	keys  [maxItems]uint64 // keys[i] is the tree's prefix of items[i] (see New)
	items [maxItems]T
	kids  *[maxItems + 1]*node[T] // nil in a leaf
}

// Tree is an ordered set of items with positions. The zero Tree is not ready: make one with
// [New]. A Tree is not safe for concurrent use; Clone counts as a write (it renews the token of
// the tree it copies). Do not copy a Tree by assignment: the two would write into one another's
// nodes; use Clone.
type Tree[T any] struct {
	root *node[T]
	cmp  func(a, b T) int
	pre  func(T) uint64
	own  uint64
}

var owners atomic.Uint64

func newOwner() uint64 { return owners.Add(1) }

// New returns an empty tree ordered by cmp, which returns a negative number, zero or a positive
// number as a sorts before, with, or after b.
//
// pre maps an item to a prefix of its place in that order: pre(a) < pre(b) must imply that a sorts
// before b (and so equal items have equal prefixes). A node keeps its items' prefixes side by
// side, and a search compares them first, calling cmp only among the items whose prefix is the
// key's: a search then reads a few cache lines of a node instead of one per item it compares.
func New[T any](cmp func(a, b T) int, pre func(T) uint64) Tree[T] {
	return Tree[T]{cmp: cmp, pre: pre, own: newOwner()}
}

// Len returns the number of items.
func (t *Tree[T]) Len() int {
	if t.root == nil {
		return 0
	}
	return t.root.count
}

// Clone returns a copy in O(1). The two share their nodes until either writes.
//
// The token is written atomically: a tree nested in a value that replicas owned by different
// goroutines share may be cloned by both at once (its nodes are then never written).
func (t *Tree[T]) Clone() Tree[T] {
	atomic.StoreUint64(&t.own, newOwner())
	return Tree[T]{root: t.root, cmp: t.cmp, pre: t.pre, own: newOwner()}
}

// Renew gives the tree a fresh token, as Clone does for the tree it copies: its next writes copy
// the nodes they touch instead of changing them. A caller that writes while an iteration over the
// tree runs calls Renew first (once), so that the iteration goes on over the nodes as they were.
func (t *Tree[T]) Renew() { atomic.StoreUint64(&t.own, newOwner()) }

// owner returns the tree's current token.
func (t *Tree[T]) owner() uint64 { return atomic.LoadUint64(&t.own) }

// mut returns n itself if t owns it, or a copy that t owns.
func (t *Tree[T]) mut(n *node[T]) *node[T] {
	own := t.owner()
	if n.own == own {
		return n
	}
	// Only the slots in use are copied: the others are never read, and the copy's hold zero
	// items, as a node's own do once their items leave (no reference is kept).
	c := &node[T]{own: own, count: n.count}
	c.n = move(c, 0, n, 0, n.n)
	if n.kids != nil {
		c.kids = new([maxItems + 1]*node[T])
		copy(c.kids[:n.n+1], n.kids[:n.n+1])
	}
	return c
}

func (t *Tree[T]) newNode(leaf bool) *node[T] {
	n := &node[T]{own: t.owner()}
	if !leaf {
		n.kids = new([maxItems + 1]*node[T])
	}
	return n
}

// search returns the first position i in n whose item is not below key, and whether it equals
// key; kp is key's prefix.
func (t *Tree[T]) search(n *node[T], key T, kp uint64) (int, bool) {
	lo, hi := 0, n.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.keys[m] < kp {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == n.n || n.keys[lo] != kp {
		return lo, false
	}
	// Items lo..hi-1 share the key's prefix: bisect them by cmp.
	hi = lo + 1
	for hi < n.n && n.keys[hi] == kp {
		hi++
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		c := t.cmp(n.items[m], key)
		if c == 0 {
			return m, true
		}
		if c < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, false
}

// set sets item i of n, which t owns, to it.
func (t *Tree[T]) set(n *node[T], i int, it T) {
	n.items[i] = it
	n.keys[i] = t.pre(n.items[i])
}

// move copies the items (and their prefixes) of src[j:k] to dst from position i.
func move[T any](dst *node[T], i int, src *node[T], j, k int) int {
	copy(dst.keys[i:], src.keys[j:k])
	return copy(dst.items[i:], src.items[j:k])
}

// Get returns the item equal to key.
func (t *Tree[T]) Get(key T) (T, bool) {
	if t.root == nil {
		var zero T
		return zero, false
	}
	kp := t.pre(key)
	for n := t.root; n != nil; {
		i, found := t.search(n, key, kp)
		if found {
			return n.items[i], true
		}
		if n.kids == nil {
			break
		}
		n = n.kids[i]
	}
	var zero T
	return zero, false
}

// Has reports whether the tree holds an item equal to key.
func (t *Tree[T]) Has(key T) bool {
	_, ok := t.Get(key)
	return ok
}

// Rank returns the number of items below key, and whether an item equals key.
func (t *Tree[T]) Rank(key T) (int, bool) {
	if t.root == nil {
		return 0, false
	}
	r, kp := 0, t.pre(key)
	for n := t.root; n != nil; {
		i, found := t.search(n, key, kp)
		r += i
		if n.kids == nil {
			return r, found
		}
		for _, k := range n.kids[:i] {
			r += k.count
		}
		if found {
			return r + n.kids[i].count, true
		}
		n = n.kids[i]
	}
	return r, false
}

// At returns the item at position i (0 is the least), or false if i is out of range.
func (t *Tree[T]) At(i int) (T, bool) {
	var zero T
	if i < 0 || i >= t.Len() {
		return zero, false
	}
	n := t.root
	for n.kids != nil {
		j := 0
		for ; ; j++ {
			c := n.kids[j].count
			if i < c {
				break
			}
			if i == c {
				return n.items[j], true
			}
			i -= c + 1
		}
		n = n.kids[j]
	}
	return n.items[i], true
}

// Min returns the least item.
func (t *Tree[T]) Min() (T, bool) {
	if t.root == nil {
		var zero T
		return zero, false
	}
	return t.root.min(), true
}

// Max returns the greatest item.
func (t *Tree[T]) Max() (T, bool) {
	if t.root == nil {
		var zero T
		return zero, false
	}
	return t.root.max(), true
}

func (n *node[T]) min() T {
	for n.kids != nil {
		n = n.kids[0]
	}
	return n.items[0]
}

func (n *node[T]) max() T {
	for n.kids != nil {
		n = n.kids[n.n]
	}
	return n.items[n.n-1]
}

// Below returns the greatest item below key (key need not be in the tree).
func (t *Tree[T]) Below(key T) (T, bool) {
	var best T
	if t.root == nil {
		return best, false
	}
	ok, kp := false, t.pre(key)
	for n := t.root; n != nil; {
		i, found := t.search(n, key, kp)
		if found && n.kids != nil {
			return n.kids[i].max(), true
		}
		if i > 0 {
			best, ok = n.items[i-1], true
		}
		if n.kids == nil {
			break
		}
		n = n.kids[i]
	}
	return best, ok
}

// Above returns the least item above key (key need not be in the tree).
func (t *Tree[T]) Above(key T) (T, bool) {
	var best T
	if t.root == nil {
		return best, false
	}
	ok, kp := false, t.pre(key)
	for n := t.root; n != nil; {
		i, found := t.search(n, key, kp)
		if found {
			if n.kids != nil {
				return n.kids[i+1].min(), true
			}
			i++
		}
		if i < n.n {
			best, ok = n.items[i], true
		}
		if n.kids == nil {
			break
		}
		n = n.kids[i]
	}
	return best, ok
}

type status uint8

const (
	unchanged status = iota // the item was there and replace was not asked for
	replaced
	inserted
)

// Set inserts item, or replaces the item equal to it. It returns the replaced item.
func (t *Tree[T]) Set(item T) (T, bool) {
	old, st := t.put(item, true)
	return old, st == replaced
}

// Insert inserts item if no item equals it, and reports whether it did; otherwise the tree is
// unchanged (no node is copied).
func (t *Tree[T]) Insert(item T) bool {
	_, st := t.put(item, false)
	return st == inserted
}

// InsertIf inserts item if no item equals it and ok, called with the items that would be its
// neighbours (nil for none), returns true; it reports whether it inserted. Otherwise the tree is
// unchanged (no node is copied). It costs one descent, as Insert does: a caller that would look
// up the neighbours and then insert saves one. The neighbours are the tree's: ok must not keep
// the pointers or write through them.
func (t *Tree[T]) InsertIf(item T, ok func(below, above *T) bool) bool {
	if t.root == nil {
		if !ok(nil, nil) {
			return false
		}
		return t.Insert(item)
	}
	if t.owner() == 0 {
		atomic.StoreUint64(&t.own, newOwner())
	}
	out, _, st, med, right := t.insert(t.root, item, t.pre(item), false, ok, nil, nil)
	if st != inserted {
		return false
	}
	t.grow(out, med, right)
	return true
}

func (t *Tree[T]) put(item T, replace bool) (T, status) {
	if t.owner() == 0 {
		atomic.StoreUint64(&t.own, newOwner())
	}
	if t.root == nil {
		r := t.newNode(true)
		t.set(r, 0, item)
		r.n, r.count = 1, 1
		t.root = r
		var zero T
		return zero, inserted
	}
	out, old, st, med, right := t.insert(t.root, item, t.pre(item), replace, nil, nil, nil)
	t.grow(out, med, right)
	return old, st
}

// grow makes out the root, or, when the old root split into out, med and right, a new root
// above them.
func (t *Tree[T]) grow(out *node[T], med T, right *node[T]) {
	if right != nil {
		r := t.newNode(false)
		t.set(r, 0, med)
		r.n = 1
		r.kids[0], r.kids[1] = out, right
		r.count = out.count + 1 + right.count
		out = r
	}
	t.root = out
}

// insert puts item into the subtree n. It returns the subtree's root (n, or a copy of it that t
// owns when it changed) and, when that root split, the median item and the new right sibling.
// With a condition ok (never with replace), it inserts only if ok holds for the new item's
// neighbours, the closest of which found above n are below and above.
func (t *Tree[T]) insert(n *node[T], item T, kp uint64, replace bool, ok func(below, above *T) bool, below, above *T) (out *node[T], old T, st status, med T, right *node[T]) {
	i, found := t.search(n, item, kp)
	if found {
		if !replace {
			return n, old, unchanged, med, nil
		}
		m := t.mut(n)
		old, m.items[i], m.keys[i] = m.items[i], item, kp
		return m, old, replaced, med, nil
	}
	if ok != nil {
		// The neighbours in this node are closer than those found above it.
		if i > 0 {
			below = &n.items[i-1]
		}
		if i < n.n {
			above = &n.items[i]
		}
	}
	if n.kids == nil {
		if ok != nil && !ok(below, above) {
			return n, old, unchanged, med, nil
		}
		m := t.mut(n)
		m.count++
		med, right = t.add(m, i, item, kp, nil)
		return m, old, inserted, med, right
	}
	kid, old, st, kmed, kright := t.insert(n.kids[i], item, kp, replace, ok, below, above)
	if st == unchanged {
		return n, old, st, med, nil
	}
	m := t.mut(n)
	m.kids[i] = kid
	if st == replaced {
		return m, old, st, med, nil
	}
	m.count++
	if kright != nil {
		med, right = t.add(m, i, kmed, t.pre(kmed), kright)
	}
	return m, old, st, med, right
}

// add puts item at position i of the node m that t owns, with right as the subtree after it (for
// an inner node). A full node splits first: add then returns the median and the new right half.
// m.count must already include the new item and right's items.
func (t *Tree[T]) add(m *node[T], i int, item T, kp uint64, right *node[T]) (med T, r *node[T]) {
	if m.n < maxItems {
		insertAt(m, i, item, kp, right)
		return med, nil
	}
	const mid = maxItems / 2
	r = t.newNode(m.kids == nil)
	med = m.items[mid]
	r.n = move(r, 0, m, mid+1, m.n)
	clear(m.items[mid:m.n])
	m.n = mid
	r.count = r.n
	if m.kids != nil {
		copy(r.kids[:], m.kids[mid+1:])
		clear(m.kids[mid+1:])
		for _, k := range r.kids[:r.n+1] {
			r.count += k.count
		}
	}
	if i <= mid {
		m.count -= r.count + 1 // m.count included the new items; they stay on the left
		insertAt(m, i, item, kp, right)
		return med, r
	}
	added := 1
	if right != nil {
		added += right.count
	}
	m.count -= r.count + 1 + added
	r.count += added
	insertAt(r, i-mid-1, item, kp, right)
	return med, r
}

func insertAt[T any](m *node[T], i int, item T, kp uint64, right *node[T]) {
	move(m, i+1, m, i, m.n)
	m.items[i], m.keys[i] = item, kp
	if m.kids != nil {
		copy(m.kids[i+2:m.n+2], m.kids[i+1:m.n+1])
		m.kids[i+1] = right
	}
	m.n++
}

// Delete removes the item equal to key and returns it; if there is none, the tree is unchanged
// (no node is copied).
func (t *Tree[T]) Delete(key T) (T, bool) {
	var zero T
	if t.root == nil {
		return zero, false
	}
	out, old, ok := t.del(t.root, key, t.pre(key), false)
	if !ok {
		return zero, false
	}
	if out.n == 0 {
		if out.kids != nil {
			out = out.kids[0]
		} else {
			out = nil
		}
	}
	t.root = out
	return old, true
}

// del removes key (or, with last set, the greatest item) from the subtree n, which may then hold
// fewer than minItems. It returns the subtree's root: n when nothing was removed, a node that t
// owns otherwise.
func (t *Tree[T]) del(n *node[T], key T, kp uint64, last bool) (out *node[T], old T, ok bool) {
	var i int
	var found bool
	if last {
		i, found = n.n, false
		if n.kids == nil {
			i, found = n.n-1, true
		}
	} else {
		i, found = t.search(n, key, kp)
	}
	if n.kids == nil {
		if !found {
			return n, old, false
		}
		m := t.mut(n)
		old = m.items[i]
		move(m, i, m, i+1, m.n)
		m.n--
		var zero T
		m.items[m.n] = zero
		m.count--
		return m, old, true
	}
	var kid *node[T]
	if found {
		var pred T
		kid, pred, _ = t.del(n.kids[i], key, kp, true)
		m := t.mut(n)
		old = m.items[i]
		t.set(m, i, pred)
		n = m
	} else {
		kid, old, ok = t.del(n.kids[i], key, kp, last)
		if !ok {
			return n, old, false
		}
		n = t.mut(n)
	}
	n.kids[i] = kid
	n.count--
	t.fix(n, i)
	return n, old, true
}

// fix restores the minimum size of kid i of the node m that t owns, which has just lost an item:
// it borrows one from a sibling through m, or merges with a sibling.
func (t *Tree[T]) fix(m *node[T], i int) {
	kid := m.kids[i] // t owns it: del returned it
	if kid.n >= minItems {
		return
	}
	switch {
	case i > 0 && m.kids[i-1].n > minItems:
		left := t.mut(m.kids[i-1])
		m.kids[i-1] = left
		var sub *node[T]
		if left.kids != nil {
			sub = left.kids[left.n]
			left.kids[left.n] = nil
		}
		moved := 1
		if sub != nil {
			moved += sub.count
		}
		// Shift kid right by one and put the separator in front.
		move(kid, 1, kid, 0, kid.n)
		move(kid, 0, m, i-1, i)
		if kid.kids != nil {
			copy(kid.kids[1:kid.n+2], kid.kids[:kid.n+1])
			kid.kids[0] = sub
		}
		kid.n++
		left.n--
		move(m, i-1, left, left.n, left.n+1)
		var zero T
		left.items[left.n] = zero
		left.count -= moved
		kid.count += moved
	case i < m.n && m.kids[i+1].n > minItems:
		right := t.mut(m.kids[i+1])
		m.kids[i+1] = right
		var sub *node[T]
		if right.kids != nil {
			sub = right.kids[0]
		}
		moved := 1
		if sub != nil {
			moved += sub.count
		}
		move(kid, kid.n, m, i, i+1)
		if kid.kids != nil {
			kid.kids[kid.n+1] = sub
			copy(right.kids[:right.n], right.kids[1:right.n+1])
			right.kids[right.n] = nil
		}
		kid.n++
		move(m, i, right, 0, 1)
		move(right, 0, right, 1, right.n)
		right.n--
		var zero T
		right.items[right.n] = zero
		right.count -= moved
		kid.count += moved
	default:
		if i == m.n {
			i-- // merge with the left sibling
		}
		left := t.mut(m.kids[i])
		right := m.kids[i+1]
		move(left, left.n, m, i, i+1)
		move(left, left.n+1, right, 0, right.n)
		if left.kids != nil {
			copy(left.kids[left.n+1:], right.kids[:right.n+1])
		}
		left.n += 1 + right.n
		left.count += 1 + right.count
		m.kids[i] = left
		move(m, i, m, i+1, m.n)
		copy(m.kids[i+1:m.n], m.kids[i+2:m.n+1])
		m.n--
		var zero T
		m.items[m.n] = zero
		m.kids[m.n+1] = nil
	}
}

// ReplaceRange replaces each item at a position p in [i, j) with f(p, item), in order of p. The
// new items must keep the tree's order (each between its neighbours): the tree is not searched
// or rebalanced, so it costs O(j-i + log n) instead of a Delete and a Set per item. Positions out
// of range are ignored.
func (t *Tree[T]) ReplaceRange(i, j int, f func(p int, item T) T) {
	i, j = max(i, 0), min(j, t.Len())
	if i >= j {
		return
	}
	t.root = t.replace(t.root, 0, i, j, f)
}

// replace is ReplaceRange in the subtree n, whose first item is at position base.
func (t *Tree[T]) replace(n *node[T], base, i, j int, f func(int, T) T) *node[T] {
	m := t.mut(n)
	p := base
	for x := 0; x <= m.n && p < j; x++ {
		if m.kids != nil {
			c := m.kids[x].count
			if p+c > i {
				m.kids[x] = t.replace(m.kids[x], p, i, j, f)
			}
			p += c
		}
		if x < m.n {
			if p >= i && p < j {
				t.set(m, x, f(p, m.items[x]))
			}
			p++
		}
	}
	return m
}

// All yields the items in order. The tree must not change during the iteration unless the
// caller calls Renew before its first write: the iteration then sees the tree as it was.
func (t *Tree[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		if t.root != nil {
			t.root.ascend(yield)
		}
	}
}

// Backward yields the items in reverse order, with the rule of All for writes during it.
func (t *Tree[T]) Backward() iter.Seq[T] {
	return func(yield func(T) bool) {
		if t.root != nil {
			t.root.descend(yield)
		}
	}
}

func (n *node[T]) ascend(yield func(T) bool) bool {
	for i := range n.n {
		if n.kids != nil && !n.kids[i].ascend(yield) {
			return false
		}
		if !yield(n.items[i]) {
			return false
		}
	}
	return n.kids == nil || n.kids[n.n].ascend(yield)
}

func (n *node[T]) descend(yield func(T) bool) bool {
	if n.kids != nil && !n.kids[n.n].descend(yield) {
		return false
	}
	for i := n.n - 1; i >= 0; i-- {
		if !yield(n.items[i]) {
			return false
		}
		if n.kids != nil && !n.kids[i].descend(yield) {
			return false
		}
	}
	return true
}
