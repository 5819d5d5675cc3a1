package aper_test

import (
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zeroCase checks what the zero value of a root type promises: Clone, Apply and both codecs work
// on it without a panic. A zero value that can be encoded round-trips (its Clone too); one that
// cannot (the zero Transactional) must say so with an error, not write bytes its decoder refuses.
func zeroCase[S aper.StateMachine[S, T], T any](zero func() S, ev aper.Event[T], encodes bool) func(t *testing.T) {
	return func(t *testing.T) {
		clone := zero().Clone()
		if encodes {
			apertest.RoundTrip(t, zero())
			apertest.RoundTrip(t, clone)
			apertest.Equal(t, zero(), clone)
		} else {
			for _, c := range aper.Codecs() {
				_, err := c.Marshal(zero())
				assert.Error(t, err, "%s: encode the zero value", c.Name())
				_, err = c.Marshal(clone)
				assert.Error(t, err, "%s: encode the zero value's clone", c.Name())
			}
		}
		// Apply either works or conflicts, on the zero value and on its clone.
		for _, s := range []S{zero(), clone} {
			if err := s.Apply(ev); err != nil {
				assert.NotNil(t, conflict.As(err), "Apply on a zero value: %v", err)
			}
		}
		if !encodes {
			return
		}
		// Decoding into a zero value works.
		for _, c := range aper.Codecs() {
			src := zero()
			require.NoError(t, src.Apply(ev), "Apply on the zero value")
			b := apertest.Encode(t, c, src)
			dst := zero()
			require.NoError(t, c.Unmarshal(b, dst), c.Name())
			apertest.Equal(t, src, dst)
		}
	}
}

func TestZeroValues(t *testing.T) {
	var c aper.Counter
	t.Run("Counter", zeroCase(func() *aper.Counter { return new(aper.Counter) }, aper.On(c.Add(2)), true))
	var a aper.Atom[string]
	t.Run("Atom[string]", zeroCase(func() *aper.Atom[string] { return new(aper.Atom[string]) }, aper.On(a.Set("x")), true))
	var ap aper.Atom[*aper.Counter]
	t.Run("Atom[*Counter]", zeroCase(func() *aper.Atom[*aper.Counter] { return new(aper.Atom[*aper.Counter]) }, aper.On(ap.Set(aper.NewCounter(1))), true))
	var m counters
	t.Run("Map", zeroCase(func() *counters { return new(counters) }, aper.On(m.Set("a", aper.NewCounter(1))), true))
	var n nested
	t.Run("Map of maps", zeroCase(func() *nested { return new(nested) }, aper.On(n.Set("a", aper.NewMap[string, *aper.Counter, aper.CounterTransition]())), true))

	// The zero Transactional holds no state: Apply conflicts, Clone gives another one, and it
	// has no encoding (TestZeroTransactional decodes into one).
	type txCounter = aper.Transactional[*aper.Counter, aper.CounterTransition]
	ev := aper.On(aper.Transaction[aper.CounterTransition]{add(1)})
	t.Run("Transactional", zeroCase(func() *txCounter { return new(txCounter) }, ev, false))
}

func TestZeroTransactional(t *testing.T) {
	var x aper.Transactional[*counters, countersT]
	y := x.Clone()
	require.NotNil(t, y)
	assert.Nil(t, y.State())
	err := y.Apply(aper.On(aper.Transaction[countersT]{}))
	assert.True(t, errors.Is(err, conflict.ErrInvalid), "%v", err)
	for _, c := range aper.Codecs() {
		_, err := c.Marshal(&x)
		assert.Error(t, err, c.Name())
		b := apertest.Encode(t, c, aper.NewTransactional(newCounters(t, "a", 1)))
		var z aper.Transactional[*counters, countersT]
		require.NoError(t, c.Unmarshal(b, &z), c.Name())
		apertest.MustApply(t, &z, aper.On(aper.Transaction[countersT]{z.State().Update("a", add(1))}))
		assert.Equal(t, map[string]int64{"a": 2}, values(z.State()))
	}
}
