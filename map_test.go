package aper_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type (
	counters    = aper.Map[string, *aper.Counter, aper.CounterTransition]
	countersT   = aper.MapTransition[string, *aper.Counter, aper.CounterTransition]
	nested      = aper.Map[string, *counters, countersT]
	nestedT     = aper.MapTransition[string, *counters, countersT]
	intCounters = aper.Map[int, *aper.Counter, aper.CounterTransition]
)

func newCounters(t testing.TB, kv ...any) *counters {
	m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
	for i := 0; i < len(kv); i += 2 {
		apertest.MustApply(t, m, aper.On(m.Set(kv[i].(string), aper.NewCounter(int64(kv[i+1].(int))))))
	}
	return m
}

func values(m *counters) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m.All() {
		out[k] = v.Value()
	}
	return out
}

func TestMapSetDeleteUpdate(t *testing.T) {
	var m counters // the zero value is ready
	apertest.MustApply(t, &m, aper.On(m.Set("b", aper.NewCounter(2))))
	apertest.MustApply(t, &m, aper.On(m.Set("a", aper.NewCounter(1))))
	apertest.MustApply(t, &m, aper.On(m.Update("b", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 10})))
	assert.Equal(t, map[string]int64{"a": 1, "b": 12}, values(&m))
	assert.Equal(t, 2, m.Len())
	apertest.MustApply(t, &m, aper.On(m.Delete("a")))
	assert.False(t, m.Has("a"))
	v, ok := m.Get("b")
	require.True(t, ok)
	assert.Equal(t, int64(12), v.Value())
}

func TestMapIteratesInKeyOrder(t *testing.T) {
	m := aper.NewMap[int, *aper.Counter, aper.CounterTransition]()
	for _, k := range []int{5, -3, 17, 0, 2} {
		apertest.MustApply(t, m, aper.On(m.Set(k, aper.NewCounter(int64(k)))))
	}
	assert.Equal(t, []int{-3, 0, 2, 5, 17}, slices.Collect(m.Keys()))
	// Stopping early works.
	for k := range m.Keys() {
		assert.Equal(t, -3, k)
		break
	}
}

func TestMapConflictsLeaveItUnchanged(t *testing.T) {
	tests := []struct {
		name string
		t    countersT
		kind conflict.Kind
		path []string
	}{
		{"delete missing", countersT{Op: aper.MapOpDelete, Key: "zz"}, conflict.NotFound, []string{"zz"}},
		{"update missing", countersT{Op: aper.MapOpUpdate, Key: "zz", Inner: aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}}, conflict.NotFound, []string{"zz"}},
		{"inner overflow", countersT{Op: aper.MapOpUpdate, Key: "big", Inner: aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1 << 62}}, conflict.OutOfRange, []string{"big"}},
		{"set nil", countersT{Op: aper.MapOpSet, Key: "a"}, conflict.Invalid, []string{"a"}},
		{"unknown op", countersT{Op: 42, Key: "a"}, conflict.Invalid, []string{"a"}},
		{"delete with value", countersT{Op: aper.MapOpDelete, Key: "a", Value: aper.NewCounter(1)}, conflict.Invalid, []string{"a"}},
		{"update with value", countersT{Op: aper.MapOpUpdate, Key: "a", Value: aper.NewCounter(1)}, conflict.Invalid, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCounters(t, "a", 1, "big", 1<<62)
			c := apertest.Conflicts(t, m, aper.On(tt.t), tt.kind)
			assert.Equal(t, tt.path, c.Path)
		})
	}
}

func TestMapConflictsOnEmptyMap(t *testing.T) {
	var m counters
	apertest.Conflicts(t, &m, aper.On(m.Delete("a")), conflict.NotFound)
	apertest.Conflicts(t, &m, aper.On(m.Update("a", aper.CounterTransition{Op: aper.CounterOpAdd})), conflict.NotFound)
}

func TestMapConflictPathThroughNestedMaps(t *testing.T) {
	outer := aper.NewMap[string, *counters, countersT]()
	apertest.MustApply(t, outer, aper.On(outer.Set("b", newCounters(t, "x", 1))))

	inner, _ := outer.Get("b")
	ev := aper.On(outer.Update("b", inner.Update("a", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))
	c := apertest.Conflicts(t, outer, ev, conflict.NotFound)
	assert.Equal(t, []string{"b", "a"}, c.Path)
	wrapped := fmt.Errorf("room: %w", outer.Apply(ev))
	assert.True(t, errors.Is(wrapped, conflict.ErrNotFound))
	assert.Equal(t, []string{"b", "a"}, conflict.As(wrapped).Path)
}

func TestMapIntKeysInPath(t *testing.T) {
	var m intCounters
	c := apertest.Conflicts(t, &m, aper.On(m.Delete(-7)), conflict.NotFound)
	assert.Equal(t, []string{"-7"}, c.Path)
}

func TestMapCloneIsDeep(t *testing.T) {
	orig := newCounters(t, "a", 1, "b", 2)
	clone := orig.Clone()

	apertest.MustApply(t, clone, aper.On(clone.Update("a", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 100})))
	apertest.MustApply(t, clone, aper.On(clone.Delete("b")))
	apertest.MustApply(t, clone, aper.On(clone.Set("c", aper.NewCounter(3))))
	assert.Equal(t, map[string]int64{"a": 1, "b": 2}, values(orig))
	assert.Equal(t, map[string]int64{"a": 101, "c": 3}, values(clone))

	// And the other way round: changing the original after the clone leaves the clone.
	apertest.MustApply(t, orig, aper.On(orig.Update("a", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 5})))
	assert.Equal(t, map[string]int64{"a": 6, "b": 2}, values(orig))
	assert.Equal(t, map[string]int64{"a": 101, "c": 3}, values(clone))
}

func TestMapNestedCloneIsDeep(t *testing.T) {
	outer := aper.NewMap[string, *counters, countersT]()
	apertest.MustApply(t, outer, aper.On(outer.Set("b", newCounters(t, "x", 1))))
	clone := outer.Clone()
	inner, _ := clone.Get("b")
	apertest.MustApply(t, clone, aper.On(clone.Update("b", inner.Update("x", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}))))

	origInner, _ := outer.Get("b")
	cloneInner, _ := clone.Get("b")
	assert.Equal(t, map[string]int64{"x": 1}, values(origInner))
	assert.Equal(t, map[string]int64{"x": 2}, values(cloneInner))
}

func TestMapSetValueIsNotSharedWithOtherReplicas(t *testing.T) {
	// The same transition (and so the same *Counter) applied to two replicas: changing one must
	// not change the other.
	a, b := newCounters(t), newCounters(t)
	set := a.Set("k", aper.NewCounter(1))
	apertest.MustApply(t, a, aper.On(set))
	apertest.MustApply(t, b, aper.On(set))
	apertest.MustApply(t, a, aper.On(a.Update("k", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))
	assert.Equal(t, int64(2), values(a)["k"])
	assert.Equal(t, int64(1), values(b)["k"])
	assert.Equal(t, int64(1), set.Value.Value())
}

func TestMapRoundTrip(t *testing.T) {
	m := newCounters(t, "b", 2, "a", -1, "ünï", 3)
	for _, got := range apertest.RoundTrip(t, m) {
		assert.Equal(t, values(m), values(got))
		// The decoded map is a working state machine.
		apertest.MustApply(t, got, aper.On(got.Update("a", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))
	}
	apertest.RoundTrip(t, newCounters(t))
	js, err := aper.JSON.Marshal(m)
	require.NoError(t, err)
	assert.JSONEq(t, `[["a",-1],["b",2],["ünï",3]]`, string(js))

	outer := aper.NewMap[string, *counters, countersT]()
	apertest.MustApply(t, outer, aper.On(outer.Set("b", m)))
	apertest.RoundTrip(t, outer)

	apertest.RoundTrip(t, m.Set("x", aper.NewCounter(9)))
	apertest.RoundTrip(t, m.Delete("x"))
	apertest.RoundTrip(t, m.Update("x", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3}))
	apertest.RoundTrip(t, outer.Update("b", m.Update("x", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3})))
}

func TestMapDecodeRejectsBadInput(t *testing.T) {
	cbor := func(v any) []byte {
		b, err := aper.CBOR.Marshal(v)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name  string
		codec aper.Codec
		in    []byte
	}{
		{"json duplicate key", aper.JSON, []byte(`[["a",1],["a",2]]`)},
		{"json null value", aper.JSON, []byte(`[["a",null]]`)},
		{"json short pair", aper.JSON, []byte(`[["a"]]`)},
		{"json long pair", aper.JSON, []byte(`[["a",1,2]]`)},
		{"json object", aper.JSON, []byte(`{"a":1}`)},
		{"json wrong key type", aper.JSON, []byte(`[[1,1]]`)},
		{"json truncated", aper.JSON, []byte(`[["a",1`)},
		{"cbor duplicate key", aper.CBOR, cbor([][]any{{"a", 1}, {"a", 2}})},
		{"cbor null value", aper.CBOR, cbor([][]any{{"a", nil}})},
		{"cbor short pair", aper.CBOR, cbor([][]any{{"a"}})},
		{"cbor truncated", aper.CBOR, cbor([][]any{{"a", 1}})[:4]},
		{"cbor huge declared length", aper.CBOR, []byte{0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"cbor empty", aper.CBOR, nil},
		{"json null", aper.JSON, []byte(`null`)},
		{"cbor null", aper.CBOR, []byte{0xf6}},
		{"json null counter", aper.JSON, []byte(`[["a",1],["b",null]]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m counters
			assert.Error(t, tt.codec.Unmarshal(tt.in, &m))
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`[["a",1],["b",2]]`))
	f.Add([]byte{0x82, 0x82, 0x61, 0x61, 0x01, 0x82, 0x61, 0x62, 0x02})
	f.Add([]byte(`{"seq":3,"client":"ann","time":"2026-11-25T15:04:05.5+01:00","transition":[{"op":3,"key":"b","inner":{"op":1,"key":"x","value":4}}]}`))
	f.Add([]byte(`{"kind":"not found","path":["b","a"],"message":"gone"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range aper.Codecs() {
			var m counters
			if err := c.Unmarshal(b, &m); err == nil {
				apertest.RoundTrip(t, &m) // also across codecs
			}
			var ev aper.Event[aper.Transaction[nestedT]]
			if err := c.Unmarshal(b, &ev); err == nil {
				apertest.RoundTrip(t, ev)
			}
			var a aper.Atom[[]string]
			if err := c.Unmarshal(b, &a); err == nil {
				apertest.RoundTrip(t, &a)
			}
			var cf conflict.Conflict
			if err := c.Unmarshal(b, &cf); err == nil {
				apertest.RoundTrip(t, &cf)
			}
		}
	})
}

func benchMap(b *testing.B, n int) *counters {
	m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
	for i := range n {
		if err := m.Apply(aper.On(m.Set(fmt.Sprintf("k%07d", i), aper.NewCounter(0)))); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func BenchmarkMapApply(b *testing.B) {
	m := benchMap(b, 10_000)
	b.Run("set-existing", func(b *testing.B) {
		ev := aper.On(m.Set("k0005000", aper.NewCounter(1)))
		b.ReportAllocs()
		for b.Loop() {
			if err := m.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("update", func(b *testing.B) {
		ev := aper.On(m.Update("k0005000", aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}))
		b.ReportAllocs()
		for b.Loop() {
			if err := m.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMapCloneSet measures Clone followed by one Set: it stays flat as the map grows,
// because Clone is O(1) and the Set copies only the path it touches.
func BenchmarkMapCloneSet(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		m := benchMap(b, n)
		ev := aper.On(m.Set("k0000500", aper.NewCounter(1)))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := m.Clone()
				if err := c.Apply(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestMapSetOfAnotherEntrysValueDoesNotAlias(t *testing.T) {
	m := newCounters(t, "a", 2)
	apertest.MustApply(t, m, aper.On(m.Update("a", add(0)))) // "a" is now the map's own copy
	v, _ := m.Get("a")
	apertest.MustApply(t, m, aper.On(m.Set("b", v)))
	apertest.MustApply(t, m, aper.On(m.Update("a", add(10))))
	assert.Equal(t, map[string]int64{"a": 12, "b": 2}, values(m))

	// Across replicas: a value taken from one replica and set into another.
	other := newCounters(t, "x", 100)
	apertest.MustApply(t, other, aper.On(other.Update("x", add(0))))
	x, _ := other.Get("x")
	apertest.MustApply(t, m, aper.On(m.Set("x", x)))
	apertest.MustApply(t, other, aper.On(other.Update("x", add(1))))
	assert.Equal(t, int64(100), values(m)["x"])
}

// TestMapClonesUsedFromTwoGoroutines: replicas cloned from one map share nested values; each may
// be owned by its own goroutine. Run with -race.
func TestMapClonesUsedFromTwoGoroutines(t *testing.T) {
	outer := aper.NewMap[string, *counters, countersT]()
	apertest.MustApply(t, outer, aper.On(outer.Set("b", newCounters(t, "x", 1))))
	a, b := outer.Clone(), outer.Clone()
	inner, _ := outer.Get("b")
	ev := aper.On(outer.Update("b", inner.Update("x", add(1))))
	done := make(chan error, 2)
	for _, r := range []*nested{a, b} {
		go func() {
			var err error
			for range 200 {
				if err = r.Apply(ev); err != nil {
					break
				}
				_ = r.Clone()
			}
			done <- err
		}()
	}
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	apertest.Equal(t, a, b)
	ai, _ := a.Get("b")
	assert.Equal(t, map[string]int64{"x": 201}, values(ai))
	oi, _ := outer.Get("b")
	assert.Equal(t, map[string]int64{"x": 1}, values(oi))
}
