// Package cow is the copy-on-write bookkeeping shared by the library's containers of state
// machines (aper.Map, list.List, tree.Tree, pool.Board).
//
// A container's Clone shares its B-tree nodes and its values with the copy. Before a transition
// changes a value in place, the container must know that no other container can see it. It does
// so with owner tokens: each container holds an Owner, renewed on every Clone (for both the
// original and the copy), and stamps each value it cloned itself with its current Owner. A value
// whose stamp equals the container's Owner is private and may change in place; any other value is
// cloned first. Values that arrive in a transition carry the zero Owner, which is never handed out,
// so they are never changed in place (the same transition may be applied to several replicas).
package cow

import (
	"reflect"
	"sync/atomic"
)

// Owner identifies one container between two of its Clones. The zero Owner belongs to nobody.
type Owner uint64

var owners atomic.Uint64

// NewOwner returns a fresh Owner, never zero.
func NewOwner() Owner { return Owner(owners.Add(1)) }

// Writable returns a value that the container owning o may change in place: v itself when its
// stamp is o, or a clone of v otherwise. The bool reports whether it cloned; the caller then
// stores the clone stamped with o, once the change has succeeded.
func Writable[V interface{ Clone() V }](v V, stamp, o Owner) (V, bool) {
	if stamp == o && o != 0 {
		return v, false
	}
	return v.Clone(), true
}

// Token holds a container's current Owner. Renew and Get are atomic, because Clone renews the
// token of the value it copies, and a nested value may be shared by replicas that different
// goroutines own. The zero Token is ready to use: Get hands out an Owner on first use.
type Token struct {
	v atomic.Uint64
}

// Get returns the current Owner.
func (t *Token) Get() Owner {
	if o := t.v.Load(); o != 0 {
		return Owner(o)
	}
	t.v.CompareAndSwap(0, uint64(NewOwner()))
	return Owner(t.v.Load())
}

// Renew gives the container a fresh Owner, so that every value it owned so far counts as shared.
func (t *Token) Renew() { t.v.Store(uint64(NewOwner())) }

// IsNil reports whether v is a nil pointer, map, slice, channel, function or interface: a decoded
// or transmitted value that a container must refuse to hold.
func IsNil[V any](v V) bool {
	rv := reflect.ValueOf(&v).Elem()
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
