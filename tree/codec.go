package tree

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/cow"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/tidwall/btree"
)

// ErrMalformedTree is returned (wrapped) by every failure to decode a tree: bytes that are not
// JSON or CBOR, an entry of the wrong shape, a bad id, index or value (these wrap the codec's
// own error too), or a tree that fails its checks: a node whose parent is unknown or comes after
// it (which is how a cycle or an orphan would show), a duplicate id, the root's id as a node, two
// siblings with one index, a missing index, a null value.
var ErrMalformedTree = errors.New("aper/tree: malformed tree")

// entry is one node on the wire: a four-element array [parent, index, id, value].
type entry[V any] struct {
	_      struct{} `cbor:",toarray"`
	Parent uuid.UUID
	Index  list.ZenoIndex
	ID     uuid.UUID
	Value  V
}

// MarshalJSON encodes [parent, index, id, value].
func (e entry[V]) MarshalJSON() ([]byte, error) {
	return json.Marshal([4]any{e.Parent, e.Index, e.ID, e.Value})
}

// UnmarshalJSON decodes [parent, index, id, value].
func (e *entry[V]) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 4 {
		return errors.New("a node is a [parent, index, id, value] array")
	}
	if err := json.Unmarshal(raw[0], &e.Parent); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &e.Index); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[2], &e.ID); err != nil {
		return err
	}
	return json.Unmarshal(raw[3], &e.Value)
}

// entries lists the nodes in depth-first pre-order, so that every parent comes before its
// children.
func (t *Tree[V, T]) entries() []entry[V] {
	out := make([]entry[V], 0, t.Len())
	if t.kids == nil {
		return out
	}
	// No user code runs during this walk, so it needs no snapshot.
	walk(t.kids, uuid.Nil, func(k kid[V], _ int) bool {
		out = append(out, entry[V]{Parent: k.parent, Index: k.key, ID: k.id, Value: k.value})
		return true
	})
	return out
}

func (t *Tree[V, T]) load(es []entry[V]) error {
	kids := btree.NewBTreeG(lessKid[V])
	nodes := btree.NewBTreeG(lessNode)
	owner := t.owner.Get() // the decoded values are t's alone
	for i, e := range es {
		switch {
		case e.ID == uuid.Nil:
			return fmt.Errorf("%w: node %d has the root's id", ErrMalformedTree, i)
		case e.Index.IsZero():
			return fmt.Errorf("%w: node %d has no index", ErrMalformedTree, i)
		case cow.IsNil(e.Value):
			return fmt.Errorf("%w: node %d has a null value", ErrMalformedTree, i)
		}
		if e.Parent != uuid.Nil {
			if _, ok := nodes.Get(node{id: e.Parent}); !ok {
				return fmt.Errorf("%w: node %d: parent %s is not an earlier node", ErrMalformedTree, i, e.Parent)
			}
		}
		if _, dup := nodes.Set(node{id: e.ID, parent: e.Parent, key: e.Index}); dup {
			return fmt.Errorf("%w: duplicate id %s", ErrMalformedTree, e.ID)
		}
		if _, dup := kids.Set(kid[V]{parent: e.Parent, key: e.Index, id: e.ID, value: e.Value, owner: owner}); dup {
			return fmt.Errorf("%w: node %d: a sibling already has index %s", ErrMalformedTree, i, e.Index)
		}
	}
	t.kids, t.nodes = kids, nodes
	return nil
}

// MarshalJSON encodes the tree as an array of [parent, index, id, value] arrays, one per node in
// depth-first pre-order: ids as UUID strings, indexes in their hexadecimal text form.
func (t *Tree[V, T]) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(t.entries())
	if err != nil {
		return nil, fmt.Errorf("aper/tree: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes what MarshalJSON wrote. Every node must come after its parent (any such
// order is accepted), ids must be distinct and not nil, siblings' indexes distinct, values not
// null; anything else is an error wrapping [ErrMalformedTree] and leaves t unchanged. A tree
// decoded without error is acyclic, with every node reachable from the root.
func (t *Tree[V, T]) UnmarshalJSON(b []byte) error {
	var es []entry[V]
	if err := json.Unmarshal(b, &es); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedTree, err)
	}
	if es == nil {
		return fmt.Errorf("%w: null", ErrMalformedTree)
	}
	return t.load(es)
}

// MarshalCBOR encodes the tree as an array of [parent, index, id, value] arrays, one per node in
// depth-first pre-order: ids and indexes as byte strings.
func (t *Tree[V, T]) MarshalCBOR() ([]byte, error) {
	b, err := aper.CBOR.Marshal(t.entries())
	if err != nil {
		return nil, fmt.Errorf("aper/tree: %w", err)
	}
	return b, nil
}

// UnmarshalCBOR decodes what MarshalCBOR wrote, with the checks of UnmarshalJSON.
func (t *Tree[V, T]) UnmarshalCBOR(b []byte) error {
	var es []entry[V]
	if err := aper.CBOR.Unmarshal(b, &es); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedTree, err)
	}
	if es == nil {
		return fmt.Errorf("%w: null", ErrMalformedTree)
	}
	return t.load(es)
}
