package aper_test

import (
	"math"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/stretchr/testify/assert"
)

func TestCounter(t *testing.T) {
	var c aper.Counter // the zero value is ready
	apertest.MustApply(t, &c, aper.On(c.Add(5)))
	apertest.MustApply(t, &c, aper.On(c.Add(-7)))
	assert.Equal(t, int64(-2), c.Value())
	apertest.MustApply(t, &c, aper.On(c.Set(40)))
	assert.Equal(t, int64(40), c.Value())
}

func TestCounterConflictsLeaveItUnchanged(t *testing.T) {
	tests := []struct {
		name  string
		start int64
		t     aper.CounterTransition
		kind  conflict.Kind
	}{
		{"overflow up", math.MaxInt64 - 1, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 2}, conflict.OutOfRange},
		{"overflow down", math.MinInt64 + 1, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: -2}, conflict.OutOfRange},
		{"min plus min", math.MinInt64, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: math.MinInt64}, conflict.OutOfRange},
		{"unknown op", 3, aper.CounterTransition{Op: 99, Amount: 1}, conflict.Invalid},
		{"zero op", 3, aper.CounterTransition{}, conflict.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := aper.NewCounter(tt.start)
			apertest.Conflicts(t, c, aper.On(tt.t), tt.kind)
			assert.Equal(t, tt.start, c.Value())
		})
	}
}

func TestCounterEdgesDoNotConflict(t *testing.T) {
	c := aper.NewCounter(math.MaxInt64 - 1)
	apertest.MustApply(t, c, aper.On(c.Add(1)))
	assert.Equal(t, int64(math.MaxInt64), c.Value())
	apertest.MustApply(t, c, aper.On(c.Add(math.MinInt64)))
	assert.Equal(t, int64(-1), c.Value())
}

func TestCounterCloneIsDeep(t *testing.T) {
	c := aper.NewCounter(1)
	d := c.Clone()
	apertest.MustApply(t, d, aper.On(d.Add(1)))
	assert.Equal(t, int64(1), c.Value())
	assert.Equal(t, int64(2), d.Value())
}

func TestCounterRoundTrip(t *testing.T) {
	for _, got := range apertest.RoundTrip(t, aper.NewCounter(-42)) {
		assert.Equal(t, int64(-42), got.Value())
	}
	apertest.RoundTrip(t, aper.CounterTransition{Op: aper.CounterOpSet, Amount: math.MinInt64})
	apertest.RoundTrip(t, aper.Event[aper.CounterTransition]{Seq: 7, Client: "ann", Transition: aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}})
}

func BenchmarkCounterApply(b *testing.B) {
	c := aper.NewCounter(0)
	ev := aper.On(c.Add(1))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
}
