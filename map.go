package aper

import (
	"encoding/json"
	"fmt"
	"iter"

	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
	"github.com/tidwall/btree"
)

// Map is an ordered map from keys to state machines: transitions set an entry, delete it, or apply
// a transition to one entry's state machine. Its zero value is an empty map ready to use.
//
// V is the entries' state machine type (usually a pointer, such as *Counter) and T its transition
// type. Go cannot infer T from V, so both are type parameters: Map[string, *Counter,
// CounterTransition].
//
// Clone is O(1): the map is a copy-on-write B-tree, and an entry's value is cloned only when a
// transition first changes it after the Clone. Set, Delete and Apply cost O(log n) plus the
// entry's own Apply.
//
// Values returned by Get and All are shared with the map: read them, do not apply transitions to
// them directly.
type Map[K Key, V StateMachine[V, T], T any] struct {
	tree  *btree.BTreeG[mapItem[K, V]]
	owner cow.Token // values stamped with its Owner were cloned by this map after its last Clone
}

// Key is the constraint on Map keys: integers and strings, which order totally and encode the
// same way in JSON and CBOR. (Floats are left out: NaN has no order and -0 equals 0.)
type Key interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~string
}

type mapItem[K Key, V any] struct {
	key   K
	value V
	owner cow.Owner
}

func lessItem[K Key, V any](a, b mapItem[K, V]) bool { return a.key < b.key }

// MapOp says what a MapTransition does.
type MapOp uint8

// The map operations.
const (
	MapOpSet    MapOp = iota + 1 // set Key to Value, replacing any entry
	MapOpDelete                  // delete Key; a missing key is a NotFound conflict
	MapOpUpdate                  // apply Inner to Key's state machine; a missing key is NotFound
)

// MapTransition changes one entry of a Map.
type MapTransition[K Key, V any, T any] struct {
	// Op says whether to set, delete or update.
	Op MapOp `json:"op" cbor:"1,keyasint"`
	// Key is the entry the transition changes.
	Key K `json:"key" cbor:"2,keyasint"`
	// Value is the state machine to store, for MapOpSet only (the map stores a Clone of it).
	Value V `json:"value,omitzero" cbor:"3,keyasint,omitzero"`
	// Inner is the transition to apply to the entry, for MapOpUpdate only.
	Inner T `json:"inner,omitzero" cbor:"4,keyasint,omitzero"`
}

// String describes the transition for logs: set k, delete k, or update k: and the inner
// transition.
func (t MapTransition[K, V, T]) String() string {
	switch t.Op {
	case MapOpSet:
		return "set " + show(t.Key)
	case MapOpDelete:
		return "delete " + show(t.Key)
	case MapOpUpdate:
		return "update " + show(t.Key) + ": " + fmt.Sprint(t.Inner)
	}
	return fmt.Sprintf("MapOp(%d) %s", t.Op, show(t.Key))
}

// NewMap returns an empty map.
func NewMap[K Key, V StateMachine[V, T], T any]() *Map[K, V, T] {
	return &Map[K, V, T]{}
}

func (m *Map[K, V, T]) init() {
	if m.tree == nil {
		// The tree's own lock makes Copy safe on a tree that replicas owned by different
		// goroutines share; it costs about 5% on Apply.
		m.tree = btree.NewBTreeG(lessItem[K, V])
	}
}

// Len returns the number of entries. A nil *Map (a nil field of a struct that aper-gen makes a
// state machine) is empty: Len, Get, Has, All and Keys read it as such.
func (m *Map[K, V, T]) Len() int {
	if m == nil || m.tree == nil {
		return 0
	}
	return m.tree.Len()
}

// Get returns the state machine at k.
func (m *Map[K, V, T]) Get(k K) (V, bool) {
	if m == nil || m.tree == nil {
		var zero V
		return zero, false
	}
	it, ok := m.tree.Get(mapItem[K, V]{key: k})
	return it.value, ok
}

// Has reports whether k has an entry.
func (m *Map[K, V, T]) Has(k K) bool {
	_, ok := m.Get(k)
	return ok
}

// All yields the entries in key order.
func (m *Map[K, V, T]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		if m == nil || m.tree == nil {
			return
		}
		m.tree.Scan(func(it mapItem[K, V]) bool { return yield(it.key, it.value) })
	}
}

// Keys yields the keys in order.
func (m *Map[K, V, T]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// Set returns the transition that sets k to v, replacing any entry. It does not change m. Apply
// stores a Clone of v, so v may be applied to several replicas, or taken from another entry.
func (m *Map[K, V, T]) Set(k K, v V) MapTransition[K, V, T] {
	return MapTransition[K, V, T]{Op: MapOpSet, Key: k, Value: v}
}

// Delete returns the transition that deletes k. It does not change m.
func (m *Map[K, V, T]) Delete(k K) MapTransition[K, V, T] {
	return MapTransition[K, V, T]{Op: MapOpDelete, Key: k}
}

// Update returns the transition that applies t to the state machine at k. It does not change m.
func (m *Map[K, V, T]) Update(k K, t T) MapTransition[K, V, T] {
	return MapTransition[K, V, T]{Op: MapOpUpdate, Key: k, Inner: t}
}

// Apply sets, deletes or updates one entry. A missing key for Delete or Apply is a NotFound
// conflict whose path names the key; a conflict of the entry's own state machine comes back with
// the key put in front of its path. On a conflict the map is unchanged.
func (m *Map[K, V, T]) Apply(ev Event[MapTransition[K, V, T]]) error {
	t := &ev.Transition
	switch t.Op {
	case MapOpSet:
		if cow.IsNil(t.Value) {
			return invalid(t.Key, "map: set with a nil value")
		}
		m.init()
		m.tree.Set(mapItem[K, V]{key: t.Key, value: t.Value.Clone(), owner: m.owner.Get()})
		return nil
	case MapOpDelete:
		if !cow.IsNil(t.Value) {
			return invalid(t.Key, "map: delete carries a value")
		}
		if m.tree == nil {
			return notFound(t.Key)
		}
		if _, ok := m.tree.Delete(mapItem[K, V]{key: t.Key}); !ok {
			return notFound(t.Key)
		}
		return nil
	case MapOpUpdate:
		if !cow.IsNil(t.Value) {
			return invalid(t.Key, "map: update carries a value")
		}
		if m.tree == nil {
			return notFound(t.Key)
		}
		owner := m.owner.Get()
		it, ok := m.tree.Get(mapItem[K, V]{key: t.Key})
		if !ok {
			return notFound(t.Key)
		}
		v, cloned := cow.Writable(it.value, it.owner, owner)
		inner := Event[T]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: t.Inner}
		if err := v.Apply(inner); err != nil {
			return conflict.WithPath(err, keyString(t.Key))
		}
		if cloned {
			m.tree.Set(mapItem[K, V]{key: t.Key, value: v, owner: owner})
		}
		return nil
	default:
		return invalid(t.Key, fmt.Sprintf("map: unknown operation %d", t.Op))
	}
}

func invalid[K Key](k K, msg string) error {
	return conflict.WithPath(conflict.New(conflict.Invalid, msg), keyString(k))
}

func notFound[K Key](k K) error {
	return conflict.WithPath(conflict.New(conflict.NotFound, "map: no such key"), keyString(k))
}

func keyString[K Key](k K) string {
	if s, ok := any(k).(string); ok {
		return s
	}
	return fmt.Sprint(k)
}

// Clone returns an independent copy in O(1); the two share their B-tree nodes and values until
// either changes them.
func (m *Map[K, V, T]) Clone() *Map[K, V, T] {
	if m.tree == nil {
		return &Map[K, V, T]{}
	}
	m.owner.Renew() // the values m owned are now shared with the clone
	return &Map[K, V, T]{tree: m.tree.Copy()}
}

// mapEntry is one entry on the wire: a two-element array [key, value].
type mapEntry[K Key, V any] struct {
	_     struct{} `cbor:",toarray"`
	Key   K
	Value V
}

func (e mapEntry[K, V]) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]any{e.Key, e.Value})
}

func (e *mapEntry[K, V]) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 2 {
		return fmt.Errorf("%w: map: an entry is a [key, value] pair", ErrMalformed)
	}
	if err := json.Unmarshal(raw[0], &e.Key); err != nil {
		return err
	}
	return json.Unmarshal(raw[1], &e.Value)
}

func (m *Map[K, V, T]) entries() []mapEntry[K, V] {
	out := make([]mapEntry[K, V], 0, m.Len())
	for k, v := range m.All() {
		out = append(out, mapEntry[K, V]{Key: k, Value: v})
	}
	return out
}

func (m *Map[K, V, T]) load(entries []mapEntry[K, V]) error {
	fresh := &Map[K, V, T]{}
	fresh.init()
	owner := m.owner.Get() // the decoded values are m's alone
	for _, e := range entries {
		if cow.IsNil(e.Value) {
			return fmt.Errorf("%w: map: key %v has a null value", ErrMalformed, e.Key)
		}
		if _, replaced := fresh.tree.Set(mapItem[K, V]{key: e.Key, value: e.Value, owner: owner}); replaced {
			return fmt.Errorf("%w: map: duplicate key %v", ErrMalformed, e.Key)
		}
	}
	m.tree = fresh.tree
	return nil
}

// MarshalJSON encodes the map as an array of [key, value] pairs in key order.
func (m *Map[K, V, T]) MarshalJSON() ([]byte, error) { return json.Marshal(m.entries()) }

// UnmarshalJSON decodes an array of [key, value] pairs. Duplicate keys and null values are errors.
func (m *Map[K, V, T]) UnmarshalJSON(b []byte) error {
	if IsNull(b) {
		return fmt.Errorf("%w: map: null", ErrMalformed)
	}
	var es []mapEntry[K, V]
	if err := json.Unmarshal(b, &es); err != nil {
		return malformed("map", err)
	}
	return m.load(es)
}

// MarshalCBOR encodes the map as an array of [key, value] pairs in key order.
func (m *Map[K, V, T]) MarshalCBOR() ([]byte, error) { return CBOR.Marshal(m.entries()) }

// UnmarshalCBOR decodes an array of [key, value] pairs. Duplicate keys and null values are errors.
func (m *Map[K, V, T]) UnmarshalCBOR(b []byte) error {
	if IsNull(b) {
		return fmt.Errorf("%w: map: null", ErrMalformed)
	}
	var es []mapEntry[K, V]
	if err := cborDecode(b, &es); err != nil {
		return malformed("map", err)
	}
	return m.load(es)
}

var _ StateMachine[*Map[string, *Counter, CounterTransition], MapTransition[string, *Counter, CounterTransition]] = (*Map[string, *Counter, CounterTransition])(nil)
