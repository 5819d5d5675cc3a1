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

func add(n int64) aper.CounterTransition {
	return aper.CounterTransition{Op: aper.CounterOpAdd, Amount: n}
}

func TestTransactionOnMapRollsBackWhenTheThirdOfFiveConflicts(t *testing.T) {
	m := newCounters(t, "a", 1, "b", 2)
	before := apertest.Encode(t, aper.CBOR, m)
	tx := aper.Transaction[countersT]{
		m.Update("a", add(1)),
		m.Set("c", aper.NewCounter(3)),
		m.Delete("missing"), // conflicts
		m.Update("b", add(1)),
		m.Delete("a"),
	}
	got, err := aper.ApplyTransaction(m, aper.On(tx))
	require.Error(t, err)
	assert.True(t, errors.Is(err, conflict.ErrNotFound))
	assert.Contains(t, err.Error(), "step 3 of 5")
	assert.Same(t, m, got)
	assert.Equal(t, before, apertest.Encode(t, aper.CBOR, m))
	assert.Equal(t, map[string]int64{"a": 1, "b": 2}, values(m))
}

func TestTransactionOnCounterRollsBack(t *testing.T) {
	x := aper.NewTransactional(aper.NewCounter(10))
	tx := aper.Transaction[aper.CounterTransition]{add(1 << 62), add(2), add(1 << 62), add(1), add(4)}
	c := apertest.Conflicts(t, x, aper.On(tx), conflict.OutOfRange)
	assert.NotNil(t, c)
	err := x.Apply(aper.On(tx))
	assert.Contains(t, err.Error(), "step 3 of 5")
	assert.Equal(t, int64(10), x.State().Value())
}

func TestTransactionAppliesAll(t *testing.T) {
	x := aper.NewTransactional(newCounters(t, "a", 1))
	m := x.State()
	tx := aper.Transaction[countersT]{m.Update("a", add(1)), m.Set("b", aper.NewCounter(5)), m.Update("b", add(1))}
	apertest.MustApply(t, x, aper.Event[aper.Transaction[countersT]]{Seq: 3, Client: "ann", Transition: tx})
	assert.Equal(t, map[string]int64{"a": 2, "b": 6}, values(x.State()))
	// The empty transaction is allowed and changes nothing.
	apertest.MustApply(t, x, aper.On(aper.Transaction[countersT]{}))
	assert.Equal(t, map[string]int64{"a": 2, "b": 6}, values(x.State()))
}

func TestTransactionalCloneAndRoundTrip(t *testing.T) {
	x := aper.NewTransactional(newCounters(t, "a", 1))
	y := x.Clone()
	apertest.MustApply(t, y, aper.On(aper.Transaction[countersT]{y.State().Update("a", add(1))}))
	assert.Equal(t, map[string]int64{"a": 1}, values(x.State()))
	assert.Equal(t, map[string]int64{"a": 2}, values(y.State()))

	for _, got := range apertest.RoundTrip(t, y) {
		assert.Equal(t, map[string]int64{"a": 2}, values(got.State()))
	}
	apertest.RoundTrip(t, aper.Transaction[countersT]{y.State().Update("a", add(1)), y.State().Delete("a")})
	for _, c := range aper.Codecs() {
		var z aper.Transactional[*counters, countersT]
		assert.Error(t, c.Unmarshal(apertest.Encode(t, c, nil), &z), c.Name())
	}
}

func TestZeroTransactionalConflictsInsteadOfPanicking(t *testing.T) {
	var x aper.Transactional[*aper.Counter, aper.CounterTransition]
	err := x.Apply(aper.On(aper.Transaction[aper.CounterTransition]{add(1)}))
	assert.True(t, errors.Is(err, conflict.ErrInvalid))
}
