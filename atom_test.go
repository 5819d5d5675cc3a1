package aper_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/stretchr/testify/assert"
)

func TestAtom(t *testing.T) {
	var a aper.Atom[string]
	assert.Equal(t, "", a.Get())
	apertest.MustApply(t, &a, aper.On(a.Set("red")))
	assert.Equal(t, "red", a.Get())
	apertest.MustApply(t, &a, aper.On(a.CompareAndSet("red", "blue")))
	assert.Equal(t, "blue", a.Get())
}

func TestAtomCompareAndSetConflict(t *testing.T) {
	a := aper.NewAtom("blue")
	apertest.Conflicts(t, a, aper.On(a.CompareAndSet("red", "green")), conflict.Mismatch)
	assert.Equal(t, "blue", a.Get())
}

func TestAtomCompareAndSetOnSlices(t *testing.T) {
	a := aper.NewAtom([]int{1, 2})
	apertest.Conflicts(t, a, aper.On(a.CompareAndSet([]int{1}, []int{3})), conflict.Mismatch)
	apertest.MustApply(t, a, aper.On(a.CompareAndSet([]int{1, 2}, []int{3})))
	assert.Equal(t, []int{3}, a.Get())
}

func TestAtomCloneIsIndependent(t *testing.T) {
	a := aper.NewAtom(1)
	b := a.Clone()
	apertest.MustApply(t, b, aper.On(b.Set(2)))
	assert.Equal(t, 1, a.Get())
	assert.Equal(t, 2, b.Get())
}

func TestAtomRoundTrip(t *testing.T) {
	for _, got := range apertest.RoundTrip(t, aper.NewAtom("héllo 🌍")) {
		assert.Equal(t, "héllo 🌍", got.Get())
	}
	type point struct{ X, Y int }
	for _, got := range apertest.RoundTrip(t, aper.NewAtom(point{3, -4})) {
		assert.Equal(t, point{3, -4}, got.Get())
	}
	a := aper.NewAtom(0)
	apertest.RoundTrip(t, a.Set(5))
	apertest.RoundTrip(t, a.CompareAndSet(0, 5))
}

func BenchmarkAtomApply(b *testing.B) {
	a := aper.NewAtom("x")
	ev := aper.On(a.Set("y"))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAtomCompareAndSetNilSurvivesTheWire(t *testing.T) {
	// A compare-and-set that expects nil must stay a compare-and-set after encoding.
	bob := "bob"
	a := aper.NewAtom(&bob)
	cas := a.CompareAndSet(nil, &bob)
	for _, got := range apertest.RoundTrip(t, cas) {
		assert.True(t, got.CAS)
		apertest.Conflicts(t, a, aper.On(got), conflict.Mismatch)
	}
	empty := aper.NewAtom[*string](nil)
	apertest.MustApply(t, empty, aper.On(cas))
	assert.Equal(t, "bob", *empty.Get())
}

func TestAtomDecodeNull(t *testing.T) {
	for _, c := range aper.Codecs() {
		var a aper.Atom[int]
		assert.Error(t, c.Unmarshal(apertest.Encode(t, c, nil), &a), c.Name())
		var p aper.Atom[*int]
		assert.NoError(t, c.Unmarshal(apertest.Encode(t, c, nil), &p), c.Name())
		assert.Nil(t, p.Get())
	}
}

func TestAtomRejectsNonFiniteFloatsFromCBOR(t *testing.T) {
	for _, b := range [][]byte{{0xf9, 0x7e, 0x00}, {0xf9, 0x7c, 0x00}, {0xf9, 0xfc, 0x00}} { // NaN, +Inf, -Inf
		var a aper.Atom[float64]
		assert.Error(t, aper.CBOR.Unmarshal(b, &a), "%x", b)
	}
}
