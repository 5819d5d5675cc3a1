package aper_test

import (
	"math"
	"testing"
	"time"

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

func TestCounterDecodeRejectsNull(t *testing.T) {
	for _, c := range aper.Codecs() {
		x := aper.NewCounter(5)
		assert.Error(t, c.Unmarshal(apertest.Encode(t, c, nil), x), c.Name())
		assert.Equal(t, int64(5), x.Value())
	}
}

func TestEventRoundTripWithTime(t *testing.T) {
	ev := aper.Event[aper.CounterTransition]{
		Seq: 1 << 40, Client: "ann",
		Time:       time.Date(2026, 11, 25, 15, 4, 5, 123456789, time.UTC),
		Transition: aper.CounterTransition{Op: aper.CounterOpAdd, Amount: -3},
	}
	for _, got := range apertest.RoundTrip(t, ev) {
		assert.True(t, ev.Time.Equal(got.Time))
		assert.Equal(t, ev.Seq, got.Seq)
		assert.Equal(t, ev.Client, got.Client)
		assert.Equal(t, ev.Transition, got.Transition)
	}
}

// TestApplyAllocatesNothing guards the hot paths' zero-allocation claim.
func TestApplyAllocatesNothing(t *testing.T) {
	c := aper.NewCounter(0)
	cev := aper.On(c.Add(1))
	a := aper.NewAtom("x")
	aev := aper.On(a.Set("y"))
	m := newCounters(t, "a", 0, "b", 0)
	mev := aper.On(m.Update("a", c.Add(1)))
	_ = m.Apply(mev) // the first update after the Set may clone; later ones change in place
	for name, f := range map[string]func(){
		"counter": func() { _ = c.Apply(cev) },
		"atom":    func() { _ = a.Apply(aev) },
		"map":     func() { _ = m.Apply(mev) },
	} {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}
