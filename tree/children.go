package tree

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
)

// resolve turns a position among parent's children into a free index, after the respace the
// position carries (see [list.Place]). The B-trees exist.
func (t *Tree[V, T]) resolve(parent uuid.UUID, p list.ListPosition) (list.ZenoIndex, error) {
	return list.Place(p, t.children(parent))
}

// children presents the children of one parent as a [list.Rekeyer]: the siblings that package
// list's position constructors read, and that a respace gives new indexes.
type children[V aper.StateMachine[V, T], T any] struct {
	t      *Tree[V, T]
	parent uuid.UUID
}

func (t *Tree[V, T]) children(parent uuid.UUID) children[V, T] {
	return children[V, T]{t: t, parent: parent}
}

// KeyOf finds id only among parent's children: an anchor moved elsewhere counts as gone.
func (c children[V, T]) KeyOf(id uuid.UUID) (list.ZenoIndex, bool) {
	n, ok := c.t.lookup(id)
	if !ok || n.parent != c.parent {
		return list.ZenoIndex{}, false
	}
	return n.key, true
}

func (c children[V, T]) Below(k list.ZenoIndex) list.ZenoIndex {
	if c.t.empty() {
		return list.ZenoIndex{}
	}
	if k.IsZero() {
		return c.t.last(c.parent)
	}
	return c.t.below(c.parent, k)
}

func (c children[V, T]) Above(k list.ZenoIndex) list.ZenoIndex {
	if c.t.empty() {
		return list.ZenoIndex{}
	}
	if k.IsZero() {
		return c.t.first(c.parent)
	}
	return c.t.above(c.parent, k)
}

func (c children[V, T]) Taken(k list.ZenoIndex) bool {
	if c.t.empty() {
		return false
	}
	_, taken := c.t.kids.Get(kid[V]{parent: c.parent, key: k})
	return taken
}

func (c children[V, T]) Len() int { return c.t.NumChildren(c.parent) }

func (c children[V, T]) At(i int) (uuid.UUID, list.ZenoIndex) {
	k, _ := c.t.childAt(c.parent, i)
	return k.id, k.key
}

func (c children[V, T]) Rank(k list.ZenoIndex) int {
	if c.t.empty() || k.IsZero() {
		return 0
	}
	return c.t.rank(kid[V]{parent: c.parent, key: k}) - c.t.rank(kid[V]{parent: c.parent})
}

// Rekey gives the children their new indexes: out of the children index first, then back in
// (a new index may be another child's old one), and each id's entry updated.
func (c children[V, T]) Rekey(ids []uuid.UUID, from, to []list.ZenoIndex) {
	t := c.t
	ks := make([]kid[V], len(ids))
	for j, k := range from {
		ks[j], _ = t.kids.Delete(kid[V]{parent: c.parent, key: k})
	}
	for j, k := range ks {
		k.key = to[j]
		t.kids.Set(k)
		t.nodes.Set(node{id: ids[j], parent: c.parent, key: to[j]})
	}
}
