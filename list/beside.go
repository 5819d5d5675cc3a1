package list

// besideAnchor reports whether p is a position Before or After an anchor with a fallback index
// and no respace: what the constructors make for most inserts and moves. [Resolve] gives its
// index when the index is free and its neighbour on the anchor's side is the anchor (so the
// anchor is in the list, and the index lies between it and its neighbour on the other side):
// nothing was inserted there since the position was made. Checking that while inserting the item
// at the index (see besideOK) spares the searches Resolve makes, for the anchor's id and then its
// neighbour.
func besideAnchor(p *ListPosition) bool {
	return beside && (p.Kind == PosAfter || p.Kind == PosBefore) && !p.Index.IsZero() &&
		p.Index.Len() <= MaxIndexLen && p.Respace.IsZero()
}

// beside turns the shortcut of besideAnchor on; tests turn it off to compare with the general
// path.
var beside = true

// besideOK reports whether an item whose neighbours would be below and above (nil for none)
// lies beside the anchor of p as besideAnchor requires.
func besideOK[V any](p *ListPosition, below, above *item[V]) bool {
	if p.Kind == PosAfter {
		return below != nil && below.id == p.ID
	}
	return above != nil && above.id == p.ID
}

// insertBeside inserts t's item at its position's fallback index if that is where Resolve puts
// it (see besideAnchor), and reports whether it did; otherwise l is unchanged. An id already in
// the list is left to the general path, which reports the conflict Apply always has.
func (l *List[V, T]) insertBeside(t *Transition[V, T]) bool {
	p := &t.Pos
	if !besideAnchor(p) {
		return false
	}
	e := idKey(t.ID)
	e.key = p.Index
	if !l.ids.Insert(e) {
		return false
	}
	it := item[V]{key: e.key, id: t.ID, value: t.Value.Clone(), owner: l.owner.Get()}
	if !l.items.InsertIf(it, func(below, above *item[V]) bool { return besideOK(p, below, above) }) {
		l.ids.Delete(e)
		return false
	}
	l.last = e
	return true
}

// moveBeside puts the moved item it, just taken out of the items, at its position's fallback
// index if that is where Resolve puts it (see besideAnchor), and reports whether it did;
// otherwise l is as it was given.
func (l *List[V, T]) moveBeside(it item[V], t *Transition[V, T]) bool {
	p := &t.Pos
	if !besideAnchor(p) {
		return false
	}
	it.key = p.Index
	if !l.items.InsertIf(it, func(below, above *item[V]) bool { return besideOK(p, below, above) }) {
		return false
	}
	e := idKey(t.ID)
	e.key = it.key
	l.ids.Set(e)
	l.last = e
	return true
}
